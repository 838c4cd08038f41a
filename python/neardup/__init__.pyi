"""Type stubs of neardup (the extension neardup._neardup and the Python layer)."""

from datetime import date as _date, datetime as _datetime
from os import PathLike
from typing import Any, Iterable, Literal, Mapping, Optional, Sequence, Union, overload

from ._errors import (
    ConfigError as ConfigError,
    DuplicateIdError as DuplicateIdError,
    IdExistsError as IdExistsError,
    IndexFileError as IndexFileError,
    InvalidInputError as InvalidInputError,
    NeardupError as NeardupError,
    NeardupIOError as NeardupIOError,
    NotFoundError as NotFoundError,
)

DateLike = Union[str, int, float, _datetime, _date, None]
Relation = Literal["exact", "near_duplicate", "rewrite"]
Record = Union[Mapping[str, Any], Sequence[Any]]

COLUMNS: tuple[str, str, str, str, str]

def parse_date(s: str) -> Optional[int]:
    """Seconds since the Unix epoch (UTC) of a date string as neardup reads dates
    (ISO-8601, 26-FEB-1987 15:01:01, 01.12.2014), or None."""

class Match:
    """A held document related to the one inserted or queried."""

    @property
    def id(self) -> str: ...
    @property
    def relation(self) -> Relation: ...
    @property
    def similarity(self) -> float: ...

class Verdict:
    """What inserting a document found."""

    @property
    def group(self) -> Optional[str]:
        """The group's id, None while the document is alone."""
    @property
    def canonical(self) -> str:
        """Id of the group's canonical member (the document itself when alone)."""
    @property
    def relation(self) -> Optional[Relation]:
        """Relation to the canonical member; None for the canonical member."""
    @property
    def similarity(self) -> Optional[float]:
        """Similarity to the canonical member; None for the canonical member."""
    @property
    def matches(self) -> list[Match]:
        """Verified matches among the documents held, strongest first."""
    @property
    def is_duplicate(self) -> bool:
        """True when the document joined a group."""

class Index:
    """An incremental near-duplicate and rewrite index. Thread-safe; every call releases
    the GIL while Rust works. Picklable (as its file format)."""

    def __init__(
        self,
        threshold: float = 0.5,
        method: Literal["minhash", "simhash"] = "minhash",
        *,
        shingle: str = "word:3",
        perms: int = 128,
        seed: int = ...,
        containment: float = 0.5,
        bands: Union[str, tuple[int, int], None] = None,
        rewrites: bool = True,
        rewrite_threshold: float = 0.24,
        rewrite_window_days: int = 3,
        hamming: int = 9,
        footprint: Literal["full", "compact"] = "full",
    ) -> None:
        """Raises ConfigError for an out-of-range setting, TypeError for an unknown one.
        footprint="compact" holds about half the memory per document, with estimated
        similarities (samples of 64 shingle and word hashes, fewer LSH bands)."""
    def insert(
        self, id: str, text: str, title: Optional[str] = None, date: DateLike = None
    ) -> Verdict:
        """Inserts a document; raises IdExistsError when the id is held,
        InvalidInputError for an unreadable date."""
    def insert_many(self, records: Iterable[Record]) -> list[Verdict]:
        """Inserts dicts or (id, text[, title[, date]]) tuples in order, sketching them
        in parallel; raises on the first failure."""
    def query(
        self, text: str, title: Optional[str] = None, date: DateLike = None
    ) -> list[Match]:
        """The verified matches of a text among those held, without inserting it:
        every held exact copy of a matched body included, strongest first."""
    def remove(self, id: str) -> bool:
        """Removes a document; False when no document has this id."""
    def placement(self, id: str) -> Optional[Verdict]:
        """Where a held document stands (a Verdict without matches), None if not held."""
    def evict_before(self, date: DateLike) -> int:
        """Removes every document dated before `date`; returns how many."""
    @property
    def settings(self) -> dict[str, Any]:
        """The index's settings."""
    def len(self) -> int: ...
    def __len__(self) -> int: ...
    def __contains__(self, id: str) -> bool: ...
    def save(self, path: Union[str, PathLike[str]]) -> None:
        """Writes the index to a file atomically (NeardupIOError on failure)."""
    @classmethod
    def load(cls, path: Union[str, PathLike[str]]) -> "Index":
        """Reads an index file (NotFoundError, IndexFileError)."""
    def to_bytes(self) -> bytes: ...
    @classmethod
    def from_bytes(cls, data: bytes) -> "Index": ...

@overload
def cluster(
    records: Iterable[Record], *, on_bad_date: Literal["raise", "ignore"] = "raise", **settings: Any
) -> list[dict[str, Any]]: ...
@overload
def cluster(
    records: Any, *, on_bad_date: Literal["raise", "ignore"] = "raise", **settings: Any
) -> Any:
    """Groups copies and rewrites among a batch, as `neardup cluster`: one row per
    document (id, group, canonical, relation, similarity), in input order."""
