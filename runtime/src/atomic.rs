//! Files that appear whole or not at all: written to a uniquely named temporary file in the
//! destination's directory, synced, renamed over the destination, and the directory synced.
//! A failure or a drop before [`AtomicFile::commit`] removes the temporary file, which no
//! one else can have created; nothing else is ever deleted.
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

/// Temporary files made as the shell's `>` makes files: readable and writable by all, as
/// the umask allows (tempfile's own default is owner-only), so that a log shipper running
/// as another user can read what is delivered.
fn builder() -> tempfile::Builder<'static, 'static> {
    let mut builder = tempfile::Builder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    builder
}

impl AtomicFile {
    /// Starts writing `destination`. Its directory must exist and be writable: this is
    /// checked now, by creating the temporary file there.
    ///
    /// # Errors
    ///
    /// The destination is a directory, or its directory is missing or not writable.
    pub fn create(destination: &Path) -> io::Result<Self> {
        if destination.as_os_str().is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the file name is empty",
            ));
        }
        if destination.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::IsADirectory,
                "it is a directory",
            ));
        }
        let name = destination.file_name().ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "it does not name a file")
        })?;
        let dir = parent(destination);
        let temp = builder()
            .prefix(&format!(".{}.", name.to_string_lossy()))
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(without_temp_name)?;
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
        let temp = builder()
            .prefix(".atlas-")
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(without_temp_name)?;
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
    /// Any step failed; the temporary file is removed and the destination untouched.
    pub fn commit(mut self) -> io::Result<()> {
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
        let temp = self.temp.into_temp_path().keep().map_err(|e| e.error)?;
        Ok(Prepared {
            temp,
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

/// Completes a delivery prepared by [`AtomicFile::prepare`], possibly in an earlier process:
/// renames `temp` over `destination` and syncs the directory. Returns `Ok(false)` when
/// `temp` no longer exists (the delivery happened already).
///
/// # Errors
///
/// The rename failed.
pub fn finish(temp: &Path, destination: &Path) -> io::Result<bool> {
    match std::fs::rename(temp, destination) {
        Ok(()) => {
            sync_dir(parent(destination));
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound && !temp.exists() => Ok(false),
        Err(e) => Err(e),
    }
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

    #[test]
    fn bad_destinations_fail_before_anything_is_written() {
        let dir = tempfile::tempdir().unwrap();
        assert!(AtomicFile::create(Path::new("")).is_err());
        assert!(AtomicFile::create(dir.path()).is_err());
        assert!(AtomicFile::create(&dir.path().join("missing/out.txt")).is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
