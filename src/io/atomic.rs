//! Safe outputs: every file neardup writes goes through here.
//!
//! An output is checked before the work starts ([`check_output`]) and written whole or
//! not at all ([`write_output`]): into a temporary file beside it, flushed to disk, then
//! renamed onto it. The rename would replace whatever the path names, so the check
//! refuses ([`Error::Output`]):
//!
//! - a directory, a block device, a socket;
//! - a FIFO or a character device, unless [`OutputPolicy::direct`]: then the output is
//!   written straight into it (no temporary file, no rename; not atomic);
//! - a symbolic link, unless [`OutputPolicy::follow_links`]: then its target is written
//!   (and checked the same way);
//! - one of the inputs (same device and inode), or another output of the same run;
//! - a path whose directory is missing or cannot be written (a probe file is created and
//!   removed, so that a read-only directory fails before the computation, not after).
//!
//! Temporary files are named [`TEMP_PREFIX`]`<pid>-…`, so that they are recognisable:
//! those of a process that no longer runs are removed by [`clean_stale_temp_files`], and
//! the live ones by [`remove_live_temp_files`] (the binary calls it on SIGINT/SIGTERM).

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::error::{Error, Result};

/// Start of the name of every temporary file neardup creates beside an output.
pub const TEMP_PREFIX: &str = ".neardup-tmp-";

/// What an output may be besides a regular file (or a path not yet there).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutputPolicy {
    /// Write to the target of a symbolic link instead of refusing it.
    pub follow_links: bool,
    /// Write straight into an existing FIFO or character device instead of refusing it.
    pub direct: bool,
}

/// An output that passed [`check_output`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputTarget {
    /// The path as given (for messages).
    pub path: PathBuf,
    /// Where the bytes go: `path`, or the target of the symbolic link it is.
    pub target: PathBuf,
    /// Written straight into (a FIFO or a character device), without temporary file.
    pub direct: bool,
}

fn refuse(path: &Path, message: impl Into<String>) -> Error {
    Error::Output {
        path: path.to_owned(),
        message: message.into(),
    }
}

/// The directory a file is created in.
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

#[cfg(unix)]
#[allow(clippy::unnecessary_wraps)] // `None` off Unix
fn file_id(meta: &std::fs::Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    Some((meta.dev(), meta.ino()))
}

#[cfg(not(unix))]
fn file_id(_meta: &std::fs::Metadata) -> Option<(u64, u64)> {
    None
}

/// What kind of file an existing, non-link path is, for a refusal; `None` for a regular
/// file.
fn special_kind(ft: std::fs::FileType) -> Option<&'static str> {
    if ft.is_file() {
        return None;
    }
    if ft.is_dir() {
        return Some("a directory");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return Some("a FIFO");
        }
        if ft.is_char_device() {
            return Some("a character device");
        }
        if ft.is_block_device() {
            return Some("a block device");
        }
        if ft.is_socket() {
            return Some("a socket");
        }
    }
    Some("not a regular file")
}

/// Checks that `path` can be written as an output without destroying anything: see the
/// module docs. `inputs` are the files read by the run (`-` is ignored); `others` the
/// outputs already checked.
///
/// # Errors
/// [`Error::Output`] naming `path` and why it is refused.
pub fn check_output(
    path: &Path,
    inputs: &[PathBuf],
    others: &[OutputTarget],
    policy: OutputPolicy,
) -> Result<OutputTarget> {
    let mut target = path.to_owned();
    let mut meta = match std::fs::symlink_metadata(path) {
        Ok(m) => Some(m),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::io(path, e)),
    };
    if meta.as_ref().is_some_and(|m| m.file_type().is_symlink()) {
        if !policy.follow_links {
            return Err(refuse(
                path,
                "is a symbolic link; refusing to replace it (pass --follow-output-links to \
                 write to the file it points to)",
            ));
        }
        target = resolve_link(path)?;
        meta = match std::fs::symlink_metadata(&target) {
            Ok(m) => Some(m),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(Error::io(&target, e)),
        };
    }
    let mut direct = false;
    if let Some(m) = &meta {
        if let Some(kind) = special_kind(m.file_type()) {
            #[cfg(unix)]
            let streamable = {
                use std::os::unix::fs::FileTypeExt;
                m.file_type().is_fifo() || m.file_type().is_char_device()
            };
            #[cfg(not(unix))]
            let streamable = false;
            if !(streamable && policy.direct) {
                let hint = if streamable {
                    "; pass --direct-output to write straight into it, or write to standard output"
                } else {
                    ""
                };
                return Err(refuse(
                    path,
                    format!(
                        "is {kind}; outputs are written to a new file renamed into place, which \
                         would replace it{hint}"
                    ),
                ));
            }
            direct = true;
        }
        let id = file_id(m);
        for input in inputs.iter().filter(|p| p.as_os_str() != "-") {
            let same = std::fs::metadata(input)
                .ok()
                .is_some_and(|im| id.is_some() && file_id(&im) == id);
            if same {
                return Err(refuse(
                    path,
                    format!(
                        "is also an input ({}); write the output to another file",
                        input.display()
                    ),
                ));
            }
        }
    }
    let dir = parent_dir(&target);
    for o in others {
        if o.target == target
            || (std::fs::canonicalize(parent_dir(&o.target)).ok()
                == std::fs::canonicalize(dir).ok()
                && o.target.file_name() == target.file_name())
        {
            return Err(refuse(
                path,
                format!("is also the output {}", o.path.display()),
            ));
        }
    }
    if !direct {
        probe_dir(path, dir)?;
    }
    Ok(OutputTarget {
        path: path.to_owned(),
        target,
        direct,
    })
}

/// Where a symbolic link finally points (the target need not exist).
fn resolve_link(path: &Path) -> Result<PathBuf> {
    let mut at = path.to_owned();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&at) {
            Ok(m) if m.file_type().is_symlink() => {
                let next = std::fs::read_link(&at).map_err(|e| Error::io(&at, e))?;
                at = if next.is_absolute() {
                    next
                } else {
                    parent_dir(&at).join(next)
                };
            }
            _ => return Ok(at),
        }
    }
    Err(refuse(path, "too many levels of symbolic links"))
}

/// Creates and removes a file in `dir`, so that an unwritable directory fails now.
fn probe_dir(path: &Path, dir: &Path) -> Result<()> {
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(refuse(
                path,
                format!("{} is not a directory", dir.display()),
            ));
        }
        Err(e) => {
            return Err(refuse(
                path,
                format!("its directory {} cannot be used: {e}", dir.display()),
            ));
        }
    }
    let probe = temp_builder().tempfile_in(dir).map_err(|e| {
        refuse(
            path,
            format!("cannot create a file in {}: {e}", dir.display()),
        )
    })?;
    drop(probe);
    Ok(())
}

fn temp_builder() -> tempfile::Builder<'static, 'static> {
    // The pid in the name tells a stale file (its process is gone) from a live one.
    static PREFIX: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let mut b = tempfile::Builder::new();
    b.prefix(
        PREFIX
            .get_or_init(|| format!("{TEMP_PREFIX}{}-", std::process::id()))
            .as_str(),
    );
    b
}

/// Paths of the temporary files being written now.
static LIVE: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);

fn live() -> std::sync::MutexGuard<'static, Option<HashSet<PathBuf>>> {
    LIVE.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A temporary file of this process, listed for [`remove_live_temp_files`] while it
/// lives.
#[derive(Debug)]
pub struct TempFile {
    file: tempfile::NamedTempFile,
    _listed: Listed,
}

/// Takes a path off the list of live temporary files when dropped.
#[derive(Debug)]
struct Listed(PathBuf);

impl Drop for Listed {
    fn drop(&mut self) {
        forget_live(&self.0);
    }
}

impl TempFile {
    /// A new temporary file in `dir`, named [`TEMP_PREFIX`]`<pid>-…`.
    ///
    /// # Errors
    /// [`Error::Io`] naming `dir`.
    pub fn new_in(dir: &Path) -> Result<Self> {
        let file = temp_builder()
            .tempfile_in(dir)
            .map_err(|e| Error::io(dir, e))?;
        live()
            .get_or_insert_with(HashSet::new)
            .insert(file.path().to_owned());
        let listed = Listed(file.path().to_owned());
        Ok(TempFile {
            file,
            _listed: listed,
        })
    }

    /// Its path.
    #[must_use]
    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// The open file.
    #[must_use]
    pub fn as_file(&self) -> &std::fs::File {
        self.file.as_file()
    }

    /// The open file, to write to.
    pub fn as_file_mut(&mut self) -> &mut std::fs::File {
        self.file.as_file_mut()
    }

    /// Flushes it to disk and renames it onto `path`, then makes the rename durable.
    ///
    /// # Errors
    /// [`Error::Io`] naming `path`.
    pub fn persist(self, path: &Path) -> Result<()> {
        let io = |e| Error::io(path, e);
        self.file.as_file().sync_all().map_err(io)?;
        let TempFile { file, _listed } = self;
        file.persist(path).map_err(|e| io(e.error))?;
        if let Ok(d) = std::fs::File::open(parent_dir(path)) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

fn forget_live(path: &Path) {
    if let Some(set) = live().as_mut() {
        set.remove(path);
    }
}

/// Removes the temporary files this process is writing (for a signal handler: the
/// process is about to end). Returns how many were removed.
#[allow(clippy::must_use_candidate)] // the count is for tests and messages
pub fn remove_live_temp_files() -> usize {
    let mut guard = live();
    let Some(set) = guard.as_mut() else {
        return 0;
    };
    let mut n = 0;
    for p in set.drain() {
        n += usize::from(std::fs::remove_file(&p).is_ok());
    }
    n
}

/// Whether the process `pid` still runs (Linux: `/proc/<pid>`); `None` when unknown.
fn pid_alive(pid: u32) -> Option<bool> {
    let proc = Path::new("/proc");
    if !proc.join("self").exists() {
        return None;
    }
    Some(proc.join(pid.to_string()).exists())
}

/// Removes from `dir` the temporary files of neardup processes that no longer run
/// (killed while writing). With `legacy`, also files named like the temporary files of
/// earlier versions (`.tmp` and six characters): only for a directory that is neardup's
/// own and locked (the nightly state). Returns the paths removed.
///
/// # Errors
/// None that stops the caller: a directory that cannot be listed has nothing removed.
#[allow(clippy::must_use_candidate)] // the list is for tests and messages
pub fn clean_stale_temp_files(dir: &Path, legacy: bool) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return removed;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        let stale = if let Some(rest) = name.strip_prefix(TEMP_PREFIX) {
            let pid = rest.split('-').next().and_then(|p| p.parse::<u32>().ok());
            pid.is_some_and(|pid| pid != std::process::id() && pid_alive(pid) == Some(false))
        } else {
            legacy
                && name.len() == 10
                && name.starts_with(".tmp")
                && name[4..].bytes().all(|b| b.is_ascii_alphanumeric())
        };
        if stale
            && e.file_type().is_ok_and(|t| t.is_file())
            && std::fs::remove_file(e.path()).is_ok()
        {
            removed.push(e.path());
        }
    }
    removed
}

/// Writes an output checked by [`check_output`]: whole or not at all (see the module
/// docs), or straight into a FIFO or device.
///
/// # Errors
/// What `write` returns; [`Error::Io`] naming the output when it cannot be created,
/// flushed or moved into place. On error nothing replaced the output and the temporary
/// file is gone.
pub fn write_output(
    out: &OutputTarget,
    write: impl FnOnce(&mut dyn Write) -> Result<()>,
) -> Result<()> {
    let io = |e| Error::io(&out.path, e);
    if out.direct {
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(&out.target)
            .map_err(io)?;
        let mut w = std::io::BufWriter::with_capacity(1 << 16, f);
        write(&mut w)?;
        return w.flush().map_err(io);
    }
    let mut tmp = TempFile::new_in(parent_dir(&out.target))?;
    // An output file, readable like any other (temporary files are private).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(io)?;
    }
    let mut w = std::io::BufWriter::with_capacity(1 << 16, tmp.as_file_mut());
    write(&mut w)?;
    w.flush().map_err(io)?;
    drop(w);
    tmp.persist(&out.target)
}

/// [`write_output`] to a regular file of neardup's own (the nightly state and outputs):
/// refuses anything but a regular file or a new path, without an input check.
///
/// # Errors
/// As [`check_output`] and [`write_output`].
pub fn write_file(path: &Path, write: impl FnOnce(&mut dyn Write) -> Result<()>) -> Result<()> {
    let target = OutputTarget {
        path: path.to_owned(),
        target: path.to_owned(),
        direct: false,
    };
    if let Ok(m) = std::fs::symlink_metadata(path) {
        if m.file_type().is_symlink() {
            return Err(refuse(path, "is a symbolic link; refusing to replace it"));
        }
        if let Some(kind) = special_kind(m.file_type()) {
            return Err(refuse(path, format!("is {kind}; refusing to replace it")));
        }
    }
    write_output(&target, write)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(w: &mut dyn Write) -> Result<()> {
        w.write_all(b"x\n").map_err(|e| Error::io("t", e))
    }

    #[test]
    fn refuses_directories_links_inputs_and_duplicates() {
        let d = tempfile::tempdir().unwrap();
        let p = OutputPolicy::default();
        let e = check_output(d.path(), &[], &[], p).unwrap_err();
        assert!(e.to_string().contains("is a directory"), "{e}");
        let input = d.path().join("in.jsonl");
        std::fs::write(&input, "a\n").unwrap();
        let e = check_output(&input, std::slice::from_ref(&input), &[], p).unwrap_err();
        assert!(e.to_string().contains("is also an input"), "{e}");
        #[cfg(unix)]
        {
            let link = d.path().join("link");
            std::os::unix::fs::symlink(&input, &link).unwrap();
            let e = check_output(&link, &[], &[], p).unwrap_err();
            assert!(e.to_string().contains("symbolic link"), "{e}");
            let follow = OutputPolicy {
                follow_links: true,
                ..p
            };
            // Through the link, the input is still the input.
            let e = check_output(&link, std::slice::from_ref(&input), &[], follow).unwrap_err();
            assert!(e.to_string().contains("is also an input"), "{e}");
            let t = check_output(&link, &[], &[], follow).unwrap();
            write_output(&t, ok).unwrap();
            assert!(
                std::fs::symlink_metadata(&link)
                    .unwrap()
                    .file_type()
                    .is_symlink()
            );
            assert_eq!(std::fs::read(&input).unwrap(), b"x\n");
        }
        let a = check_output(&d.path().join("a"), &[], &[], p).unwrap();
        let e = check_output(&d.path().join("a"), &[], &[a], p).unwrap_err();
        assert!(e.to_string().contains("is also the output"), "{e}");
    }

    #[test]
    fn writes_whole_and_leaves_no_temp_file() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("out.txt");
        let t = check_output(&path, &[], &[], OutputPolicy::default()).unwrap();
        let e = write_output(&t, |w| {
            w.write_all(b"partial").unwrap();
            Err(Error::Config("stop".into()))
        });
        assert!(e.is_err());
        assert!(!path.exists());
        write_output(&t, ok).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"x\n");
        let names: Vec<_> = std::fs::read_dir(d.path()).unwrap().flatten().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn stale_temp_files_of_dead_processes_are_removed() {
        let d = tempfile::tempdir().unwrap();
        // A pid above the Linux maximum runs nowhere.
        let dead = d.path().join(format!("{TEMP_PREFIX}99999999-abc"));
        let mine = d
            .path()
            .join(format!("{TEMP_PREFIX}{}-abc", std::process::id()));
        let legacy = d.path().join(".tmpAb12Cd");
        let other = d.path().join("kept.jsonl");
        for p in [&dead, &mine, &legacy, &other] {
            std::fs::write(p, "x").unwrap();
        }
        let removed = clean_stale_temp_files(d.path(), false);
        if pid_alive(1).is_some() {
            assert_eq!(removed, vec![dead.clone()]);
        }
        assert!(mine.exists() && legacy.exists() && other.exists());
        clean_stale_temp_files(d.path(), true);
        assert!(!legacy.exists() && mine.exists() && other.exists());
    }

    #[test]
    fn temp_files_are_listed_while_they_live() {
        // (Removing them is tested on the binary, with a signal: here it would remove the
        // files of the tests running beside this one.)
        let d = tempfile::tempdir().unwrap();
        let t = TempFile::new_in(d.path()).unwrap();
        let p = t.path().to_owned();
        assert!(
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(TEMP_PREFIX)
        );
        assert!(live().as_ref().is_some_and(|s| s.contains(&p)));
        drop(t);
        assert!(!live().as_ref().is_some_and(|s| s.contains(&p)));
        assert!(!p.exists());
    }
}
