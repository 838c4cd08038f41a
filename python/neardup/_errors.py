"""The exceptions neardup raises. Every one is a :class:`NeardupError`; those about bad
settings or bad input are also :class:`ValueError`, those about files :class:`OSError`."""


class NeardupError(Exception):
    """Base class of every error neardup raises; the message is the library's."""


class ConfigError(NeardupError, ValueError):
    """A setting is unknown to its range or inconsistent (e.g. ``threshold=1.5``)."""


class InvalidInputError(NeardupError, ValueError):
    """A record lacks a field, has it with the wrong type, or has an unreadable date."""


class DuplicateIdError(InvalidInputError):
    """Two records of one batch carry the same id."""


class IdExistsError(NeardupError, ValueError):
    """``Index.insert`` with an id the index already holds."""


class IndexFileError(NeardupError, ValueError):
    """An index file (or bytes) is not an index, another version, or corrupted."""


class NotFoundError(NeardupError, FileNotFoundError):
    """A path does not exist."""


class NeardupIOError(NeardupError, OSError):
    """Reading or writing a file failed."""


__all__ = [
    "NeardupError",
    "ConfigError",
    "InvalidInputError",
    "DuplicateIdError",
    "IdExistsError",
    "IndexFileError",
    "NotFoundError",
    "NeardupIOError",
]
