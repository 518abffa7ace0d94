//! Files that appear whole or not at all: written to a uniquely named temporary file in the
//! destination's directory, synced, renamed over the destination, and the directory synced.
//! A failure or a drop before [`AtomicFile::commit`] removes the temporary file, which no
//! one else can have created.
//!
//! Temporary files are named `.NAME.XXXXXX.atlas-tmp` while written (NAME the
//! destination's file name, XXXXXX random) and held under an exclusive lock
//! ([`File::try_lock`]) by the process writing them. A file finished for a two-step
//! delivery ([`AtomicFile::prepare`]) is renamed `.NAME.XXXXXX.atlas-ready` before anyone
//! records it, and [`finish`] renames only such a file, beside its destination. So a
//! process killed while writing leaves an unlocked `.atlas-tmp` file that nothing records
//! and [`remove_stale`] may delete, and nothing else: a user's file, or a finished file a
//! record still names, is never deleted or moved.
//!
//! ```
//! use std::io::Write;
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("entries.ndjson");
//! let mut file = atlas_runtime::AtomicFile::create(&path)?;
//! writeln!(file.file(), "{{\"username\":\"alice\"}}")?;
//! file.commit()?;
//! assert_eq!(std::fs::read_to_string(&path)?, "{\"username\":\"alice\"}\n");
//! # Ok::<(), std::io::Error>(())
//! ```

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

/// A file being written, invisible at its destination until committed.
#[derive(Debug)]
pub struct AtomicFile {
    temp: NamedTempFile,
    destination: PathBuf,
}

/// The suffix of a temporary file being written.
const WRITING: &str = ".atlas-tmp";
/// The suffix of a finished temporary file, which a delivery record may name.
const READY: &str = ".atlas-ready";
/// The random part of a temporary file's name: this many ASCII letters and digits.
const RANDOM_LEN: usize = 6;
/// The name standing for the destination's while it is not known yet.
const UNNAMED: &str = "download";

/// Makes the temporary file for `name` in `dir`, as the shell's `>` makes files: readable
/// and writable by all, as the umask allows (tempfile's own default is owner-only), so that
/// a log shipper running as another user can read what is delivered. It is locked, so that
/// [`remove_stale`] leaves it alone while this process lives.
fn temporary(dir: &Path, name: &str) -> io::Result<NamedTempFile> {
    let mut builder = tempfile::Builder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let temp = builder
        .prefix(&format!(".{name}."))
        .rand_bytes(RANDOM_LEN)
        .suffix(WRITING)
        .tempfile_in(dir)
        .map_err(without_temp_name)?;
    temp.as_file().try_lock().map_err(|e| match e {
        std::fs::TryLockError::Error(e) => e,
        std::fs::TryLockError::WouldBlock => io::Error::other("a new file is locked"),
    })?;
    Ok(temp)
}

/// The random part of `file_name` if it is a temporary file of ours with `suffix` for the
/// destination named `name` (any name when `None`).
fn our_temporary<'a>(file_name: &'a str, name: Option<&str>, suffix: &str) -> Option<&'a str> {
    let rest = file_name.strip_prefix('.')?.strip_suffix(suffix)?;
    let (named, random) = rest.split_at_checked(rest.len().checked_sub(RANDOM_LEN + 1)?)?;
    let random = random.strip_prefix('.')?;
    let named_ok = match name {
        Some(name) => named == name,
        None => !named.is_empty(),
    };
    (named_ok && random.bytes().all(|b| b.is_ascii_alphanumeric())).then_some(random)
}

/// What stands at `destination`, if anything, must be a regular file: the rename that
/// delivers a file replaces whatever has its name, and a symbolic link, a device (such as
/// `/dev/null`), a FIFO or a socket is not to be replaced by a file.
fn replaceable(destination: &Path) -> io::Result<()> {
    match std::fs::symlink_metadata(destination) {
        Ok(meta) if meta.is_file() => Ok(()),
        Ok(meta) if meta.is_dir() => Err(io::Error::new(
            io::ErrorKind::IsADirectory,
            "it is a directory",
        )),
        Ok(meta) if meta.file_type().is_symlink() => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "it is a symbolic link, which the file would replace; name the file it points to",
        )),
        Ok(_) => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "it is not a regular file (a device, FIFO or socket), which the file would replace",
        )),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// The file name of `destination`, which must name a file that can be replaced.
fn file_name(destination: &Path) -> io::Result<String> {
    if destination.as_os_str().is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the file name is empty",
        ));
    }
    replaceable(destination)?;
    destination
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "it does not name a file"))
}

/// Whether this process may make files in `dir` now, asked of the system (`access(2)`)
/// rather than by making one, so that checking touches nothing.
fn writable_dir(dir: &Path) -> io::Result<()> {
    if !dir.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            "its directory does not exist",
        ));
    }
    #[cfg(unix)]
    {
        // As the effective user, who makes the files.
        use rustix::fs::{Access, AtFlags, CWD, accessat};
        accessat(
            CWD,
            dir,
            Access::WRITE_OK | Access::EXEC_OK,
            AtFlags::EACCESS,
        )
        .map_err(io::Error::from)
    }
    #[cfg(not(unix))]
    {
        // No such question elsewhere: a temporary file made and removed answers it.
        temporary(dir, UNNAMED).map(drop)
    }
}

impl AtomicFile {
    /// Checks, writing nothing, that [`create`](Self::create) would succeed now: what
    /// stands at `destination`, if anything, is a regular file, and its directory exists
    /// and is writable.
    ///
    /// # Errors
    ///
    /// As [`create`](Self::create).
    pub fn check(destination: &Path) -> io::Result<()> {
        file_name(destination)?;
        writable_dir(parent(destination))
    }

    /// Checks, writing nothing, that [`create_in`](Self::create_in) would succeed now.
    ///
    /// # Errors
    ///
    /// As [`create_in`](Self::create_in).
    pub fn check_in(dir: &Path) -> io::Result<()> {
        writable_dir(dir)
    }

    /// Starts writing `destination`. Its directory must exist and be writable: this is
    /// checked now, by creating the temporary file there.
    ///
    /// # Errors
    ///
    /// The destination is a directory, a symbolic link, a device, a FIFO or a socket
    /// (delivering the file would replace it), or its directory is missing or not
    /// writable.
    pub fn create(destination: &Path) -> io::Result<Self> {
        let name = file_name(destination)?;
        let temp = temporary(parent(destination), &name)?;
        Ok(Self {
            temp,
            destination: destination.to_path_buf(),
        })
    }

    /// Starts writing a file in `dir` whose name is not known yet (see
    /// [`AtomicFile::set_destination`]).
    ///
    /// # Errors
    ///
    /// The directory is missing or not writable.
    pub fn create_in(dir: &Path) -> io::Result<Self> {
        let temp = temporary(dir, UNNAMED)?;
        Ok(Self {
            temp,
            destination: dir.to_path_buf(),
        })
    }

    /// Where the file will appear. It must be in the directory the file was created in.
    pub fn set_destination(&mut self, destination: PathBuf) {
        self.destination = destination;
    }

    /// Where the file will appear.
    pub fn destination(&self) -> &Path {
        &self.destination
    }

    /// The file to write to.
    pub fn file(&mut self) -> &mut File {
        self.temp.as_file_mut()
    }

    /// Flushes and syncs the file, renames it over the destination, and syncs the
    /// directory: after this returns, the file survives a crash.
    ///
    /// # Errors
    ///
    /// Any step failed, or the destination is no longer a file that can be replaced (see
    /// [`create`](Self::create)); the temporary file is removed and the destination
    /// untouched.
    pub fn commit(mut self) -> io::Result<()> {
        replaceable(&self.destination)?;
        self.temp.as_file_mut().flush()?;
        self.temp.as_file().sync_all()?;
        let destination = self.destination;
        self.temp.persist(&destination).map_err(|e| e.error)?;
        sync_dir(parent(&destination));
        Ok(())
    }
}

/// `tempfile` names the random temporary path in its errors; the caller names the
/// destination, which is what the user knows.
fn without_temp_name(error: io::Error) -> io::Error {
    let text = error.to_string();
    match text.rsplit_once(" at path ") {
        Some((cause, _)) => io::Error::new(error.kind(), cause.to_string()),
        None => error,
    }
}

/// A file written and synced under its temporary name, not yet renamed into place: the
/// first half of a two-step delivery whose second half may happen in another process (see
/// [`AtomicFile::prepare`]). Dropping it removes the temporary file; a crash leaves it.
#[derive(Debug)]
pub struct Prepared {
    temp: PathBuf,
    destination: PathBuf,
    armed: bool,
}

impl AtomicFile {
    /// Flushes and syncs the file and keeps it under its temporary name: the caller can
    /// record [`Prepared::temp`] somewhere durable, then [`Prepared::commit`]; if the process
    /// dies in between, [`finish`] completes the delivery from the record.
    ///
    /// # Errors
    ///
    /// The file could not be flushed or synced; it is removed.
    pub fn prepare(mut self) -> io::Result<Prepared> {
        self.temp.as_file_mut().flush()?;
        self.temp.as_file().sync_all()?;
        // Finished: renamed `.atlas-ready` while still locked, so that no cleanup can take
        // it for the leftover of a killed run; from now on only a delivery moves it.
        let writing = self.temp.path().to_path_buf();
        let file_name = writing
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(WRITING))
            .ok_or_else(|| io::Error::other("a temporary file lost its name"))?;
        let ready = writing.with_file_name(format!("{file_name}{READY}"));
        std::fs::rename(&writing, &ready)?;
        sync_dir(parent(&ready));
        // The file is closed, and the lock released, only once it is no longer `.atlas-tmp`;
        // `tempfile` would remove the old name on drop, which no longer exists.
        let _ = self.temp.into_temp_path().keep();
        Ok(Prepared {
            temp: ready,
            destination: self.destination,
            armed: true,
        })
    }
}

impl Prepared {
    /// The temporary file holding the content.
    pub fn temp(&self) -> &Path {
        &self.temp
    }

    /// Where the content goes.
    pub fn destination(&self) -> &Path {
        &self.destination
    }

    /// Keeps the temporary file whatever happens next, and returns its name: for a delivery
    /// recorded elsewhere, which [`finish`] completes.
    pub fn keep(mut self) -> PathBuf {
        self.armed = false;
        std::mem::take(&mut self.temp)
    }

    /// Renames the file into place and syncs the directory.
    ///
    /// # Errors
    ///
    /// The rename failed; the temporary file is removed.
    pub fn commit(mut self) -> io::Result<()> {
        let result = finish(&self.temp, &self.destination).map(drop);
        self.armed = result.is_err();
        result
    }
}

impl Drop for Prepared {
    fn drop(&mut self) {
        if self.armed {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// A delivery record that names something other than a finished temporary file of ours
/// beside its destination: acting on it could move a file that is not ours.
#[derive(Debug, thiserror::Error)]
#[error(
    "it names {temp} for {destination}, which is not a finished temporary file of this program beside it (.NAME.XXXXXX{READY} in the same directory, a regular file)"
)]
pub struct NotOurs {
    temp: String,
    destination: String,
}

/// Checks a recorded delivery before acting on it: `temp` must be named as
/// [`AtomicFile::prepare`] names finished files for `destination`
/// (`.NAME.XXXXXX.atlas-ready`), be in the same directory, and, if it still exists, be a
/// regular file (not a link, not a directory).
///
/// # Errors
///
/// Any of these does not hold.
pub fn check_delivery(temp: &Path, destination: &Path) -> Result<(), NotOurs> {
    let not_ours = || NotOurs {
        temp: temp.display().to_string(),
        destination: destination.display().to_string(),
    };
    let name = destination
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(not_ours)?;
    let temp_name = temp
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(not_ours)?;
    // The same directory however each path is written (relative, absolute, through links).
    let dir = |path: &Path| std::fs::canonicalize(parent(path)).ok();
    let same_dir = dir(temp).is_some_and(|d| Some(d) == dir(destination));
    if !same_dir || our_temporary(temp_name, Some(name), READY).is_none() {
        return Err(not_ours());
    }
    match std::fs::symlink_metadata(temp) {
        Ok(meta) if !meta.file_type().is_file() => Err(not_ours()),
        _ => Ok(()),
    }
}

/// Completes a delivery prepared by [`AtomicFile::prepare`], possibly in an earlier process:
/// renames `temp` over `destination` and syncs the directory. Returns `Ok(false)` when
/// `temp` no longer exists (the delivery happened already). The record is checked first
/// ([`check_delivery`]).
///
/// # Errors
///
/// The record is not one of ours (kind `InvalidData`, with [`NotOurs`] inside), or the
/// rename failed.
pub fn finish(temp: &Path, destination: &Path) -> io::Result<bool> {
    check_delivery(temp, destination).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    if std::fs::symlink_metadata(temp).is_err_and(|e| e.kind() == io::ErrorKind::NotFound) {
        // Delivered already: what has the destination's name since is not ours to judge.
        return Ok(false);
    }
    // Checked just before the rename: a link made in between would be replaced (the link
    // only, never the file it names).
    replaceable(destination)?;
    match std::fs::rename(temp, destination) {
        Ok(()) => {
            sync_dir(parent(destination));
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound && !temp.exists() => Ok(false),
        Err(e) => Err(e),
    }
}

/// Removes from `dir` the temporary files of writers that are gone: files named as this
/// module names files being written (`.NAME.XXXXXX.atlas-tmp`), regular, and locked by no
/// one (their writer was killed). Nothing else is touched, finished files that a delivery
/// record may name included. Returns what was removed.
///
/// # Errors
///
/// `dir` cannot be read. A file that cannot be checked or removed is left as it is.
pub fn remove_stale(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let Ok(entry) = entry else { continue };
        let name = entry.file_name();
        let is_ours = name
            .to_str()
            .is_some_and(|n| our_temporary(n, None, WRITING).is_some());
        if !is_ours || !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        let path = entry.path();
        // Held until removed, so that no writer can be mid-way while it goes.
        let Ok(file) = File::open(&path) else {
            continue;
        };
        if file.try_lock().is_ok() && std::fs::remove_file(&path).is_ok() {
            removed.push(path);
        }
    }
    if !removed.is_empty() {
        sync_dir(dir);
    }
    Ok(removed)
}

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Makes a rename durable. Some file systems cannot sync a directory; the rename has
/// happened either way, so that is not an error.
fn sync_dir(dir: &Path) {
    if let Ok(dir) = File::open(dir) {
        let _ = dir.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Delivered files get the mode the shell's `>` would give them: 0666 less the umask.
    #[cfg(target_os = "linux")]
    #[test]
    fn files_are_made_as_the_shell_makes_them() {
        use std::os::unix::fs::PermissionsExt;
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let umask = status
            .lines()
            .find_map(|l| l.strip_prefix("Umask:"))
            .map(|v| u32::from_str_radix(v.trim(), 8).unwrap())
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.ndjson");
        AtomicFile::create(&path).unwrap().commit().unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o666 & !umask);
    }

    #[test]
    fn nothing_appears_until_commit_and_nothing_else_is_touched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        // Files a user may have that look like ours are never touched.
        for name in ["out.txt.tmp", "out.txt.part", ".out.txt.tmp"] {
            std::fs::write(dir.path().join(name), "mine").unwrap();
        }
        let mut file = AtomicFile::create(&path).unwrap();
        file.file().write_all(b"hello").unwrap();
        assert!(!path.exists());
        drop(file);
        assert!(!path.exists());
        let mut file = AtomicFile::create(&path).unwrap();
        file.file().write_all(b"hello").unwrap();
        file.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "hello");
        let mut names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [".out.txt.tmp", "out.txt", "out.txt.part", "out.txt.tmp"]
        );
        for name in ["out.txt.tmp", "out.txt.part", ".out.txt.tmp"] {
            assert_eq!(
                std::fs::read_to_string(dir.path().join(name)).unwrap(),
                "mine"
            );
        }
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn only_leftovers_of_dead_writers_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.ndjson");
        // A live writer's file, a finished one a record may name, and look-alikes of users.
        let mut live = AtomicFile::create(&out).unwrap();
        live.file().write_all(b"live").unwrap();
        let ready = AtomicFile::create(&out).unwrap().prepare().unwrap().keep();
        let users = [
            ".out.ndjson.abc123.tmp",
            ".out.ndjson.ab12.atlas-tmp",
            ".out.ndjson.ab!123.atlas-tmp",
            "out.ndjson.abc123.atlas-tmp",
            "..abc123.atlas-tmp",
        ];
        for name in users {
            std::fs::write(dir.path().join(name), "mine").unwrap();
        }
        std::fs::create_dir(dir.path().join(".d.abc123.atlas-tmp")).unwrap();
        // Leftovers of killed writers: ours by name, unlocked.
        let dead = [".out.ndjson.Xy12Z9.atlas-tmp", ".download.q1w2e3.atlas-tmp"];
        for name in dead {
            std::fs::write(dir.path().join(name), "half").unwrap();
        }
        let before = names(dir.path());
        let removed = remove_stale(dir.path()).unwrap();
        let mut removed: Vec<String> = removed
            .iter()
            .map(|p| p.file_name().unwrap().to_str().unwrap().to_string())
            .collect();
        removed.sort();
        assert_eq!(
            removed,
            [".download.q1w2e3.atlas-tmp", ".out.ndjson.Xy12Z9.atlas-tmp"]
        );
        let after = names(dir.path());
        assert_eq!(after.len(), before.len() - 2);
        assert!(after.contains(&ready.file_name().unwrap().to_str().unwrap().to_string()));
        live.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "live");
        for name in users {
            assert_eq!(
                std::fs::read_to_string(dir.path().join(name)).unwrap(),
                "mine"
            );
        }
    }

    #[test]
    fn a_delivery_record_moves_only_a_finished_file_of_ours_beside_its_destination() {
        let dir = tempfile::tempdir().unwrap();
        let other = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.ndjson");
        let prepared = AtomicFile::create(&out).unwrap().prepare().unwrap();
        let name = prepared
            .temp()
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            name.starts_with(".out.ndjson.") && name.ends_with(".atlas-ready"),
            "{name}"
        );
        assert!(check_delivery(prepared.temp(), &out).is_ok());
        // Someone else's file, elsewhere, or named otherwise: refused, nothing moved.
        let notes = other.path().join("notes.txt");
        std::fs::write(&notes, "mine").unwrap();
        let look_alike = dir.path().join(".out.ndjson.abc123.tmp");
        std::fs::write(&look_alike, "mine").unwrap();
        let elsewhere = other.path().join(&name);
        std::fs::write(&elsewhere, "mine").unwrap();
        let sub = dir.path().join(".out.ndjson.dir123.atlas-ready");
        std::fs::create_dir(&sub).unwrap();
        #[cfg(unix)]
        let link = {
            let link = dir.path().join(".out.ndjson.lnk123.atlas-ready");
            std::os::unix::fs::symlink(&notes, &link).unwrap();
            link
        };
        let mut refused = vec![
            (notes.clone(), out.clone()),
            (look_alike.clone(), out.clone()),
            (elsewhere.clone(), out.clone()),
            (
                prepared.temp().to_path_buf(),
                other.path().join("out.ndjson"),
            ),
            (
                prepared.temp().to_path_buf(),
                dir.path().join("other.ndjson"),
            ),
            (sub.clone(), out.clone()),
        ];
        #[cfg(unix)]
        refused.push((link, out.clone()));
        for (temp, destination) in &refused {
            assert!(check_delivery(temp, destination).is_err(), "{temp:?}");
            let e = finish(temp, destination).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        }
        assert!(!out.exists() && !other.path().join("out.ndjson").exists());
        assert_eq!(std::fs::read_to_string(&notes).unwrap(), "mine");
        assert!(sub.is_dir() && look_alike.exists() && elsewhere.exists());
        let temp = prepared.keep();
        assert!(finish(&temp, &out).unwrap());
        assert!(!finish(&temp, &out).unwrap(), "done already");
    }

    #[test]
    fn bad_destinations_fail_before_anything_is_written() {
        let dir = tempfile::tempdir().unwrap();
        assert!(AtomicFile::create(Path::new("")).is_err());
        assert!(AtomicFile::create(dir.path()).is_err());
        assert!(AtomicFile::create(&dir.path().join("missing/out.txt")).is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        for bad in [
            Path::new(""),
            dir.path(),
            &dir.path().join("missing/out.txt"),
        ] {
            assert!(AtomicFile::check(bad).is_err(), "{bad:?}");
        }
        assert!(AtomicFile::check_in(&dir.path().join("missing")).is_err());
        AtomicFile::check(&dir.path().join("new.txt")).unwrap();
        AtomicFile::check_in(dir.path()).unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    /// A symbolic link, a FIFO or a device at the destination is refused when the file is
    /// started, checked, committed or delivered from a record: never replaced by a file.
    #[cfg(unix)]
    #[test]
    fn links_fifos_and_devices_are_never_replaced() {
        use std::os::unix::fs::FileTypeExt;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target.txt");
        std::fs::write(&target, "kept").unwrap();
        let link = dir.path().join("link.txt");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let fifo = dir.path().join("fifo");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        let device = Path::new("/dev/null");
        for bad in [link.as_path(), fifo.as_path(), device] {
            let error = AtomicFile::create(bad).unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::InvalidInput, "{bad:?}");
            assert!(AtomicFile::check(bad).is_err(), "{bad:?}");
        }
        // Made while the file was written: the commit refuses, the temporary file goes.
        let later = dir.path().join("later.txt");
        let mut file = AtomicFile::create(&later).unwrap();
        writeln!(file.file(), "new").unwrap();
        std::os::unix::fs::symlink(&target, &later).unwrap();
        assert!(file.commit().is_err());
        // A recorded delivery onto what has become a link is refused too.
        let other = dir.path().join("other.txt");
        let mut file = AtomicFile::create(&other).unwrap();
        writeln!(file.file(), "new").unwrap();
        let temp = file.prepare().unwrap().keep();
        std::os::unix::fs::symlink(&target, &other).unwrap();
        assert!(finish(&temp, &other).is_err());
        std::fs::remove_file(&temp).unwrap();
        // Once the temporary file is gone the delivery was made: done, whatever is there.
        assert!(!finish(&temp, &other).unwrap());

        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert!(
            std::fs::symlink_metadata(&later)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
        assert!(
            std::fs::metadata(device)
                .unwrap()
                .file_type()
                .is_char_device()
        );
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "kept");
        assert_eq!(
            names(dir.path()),
            ["fifo", "later.txt", "link.txt", "other.txt", "target.txt"]
        );
    }
}
