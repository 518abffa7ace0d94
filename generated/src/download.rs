//! Audit-log downloads to a file: streamed once to `<path>.part` while the gzip is verified
//! (CRC and length), optionally decompressed on the fly, synced, and renamed into place only
//! when complete. Any failure, or dropping the future, leaves neither the file nor the
//! `.part` behind.
//!
//! ```no_run
//! # async fn run(client: atlas_client::Client) -> Result<(), atlas_client::DownloadError> {
//! let saved = client
//!     .download_audit_logs()
//!     .group_id("32b6e34b3d91647abb20e7b8")
//!     .tenant_name("workspace0")
//!     .save_to("audit-logs/") // a directory: Atlas's file name is used
//!     .await?;
//! println!("{} bytes in {}", saved.bytes_written, saved.path.display());
//! # Ok(()) }
//! ```

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use flate2::write::MultiGzDecoder;
use futures::StreamExt;
use reqwest::header::CONTENT_DISPOSITION;

use crate::builder::DownloadAuditLogs;
use crate::error::{AtlasError, transport_message};

/// A finished download.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Download {
    /// Where the file is.
    pub path: PathBuf,
    /// Bytes received from Atlas (the gzip file's size).
    pub bytes_received: u64,
    /// Bytes written to the file (the decompressed size when decompressing).
    pub bytes_written: u64,
    /// The file name Atlas proposed in `Content-Disposition`, if any.
    pub server_file_name: Option<String>,
}

/// Why a download failed. Nothing was left at the destination.
#[derive(Debug)]
#[non_exhaustive]
pub enum DownloadError {
    /// The request failed or Atlas answered with an error.
    Request(AtlasError),
    /// The destination could not be written.
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// The transfer broke off.
    Interrupted(String),
    /// The file is not a complete, valid gzip (truncated, or its checksum does not match).
    Corrupt(String),
}

impl fmt::Display for DownloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Request(e) => write!(f, "{e}"),
            Self::Io { path, source } => write!(f, "cannot write {}: {source}", path.display()),
            Self::Interrupted(e) => write!(f, "the download broke off: {e}"),
            Self::Corrupt(e) => write!(f, "the audit log is not a valid gzip file: {e}"),
        }
    }
}

impl std::error::Error for DownloadError {}

/// Removes the `.part` file unless the download completed.
struct PartFile {
    path: PathBuf,
    keep: bool,
}

impl Drop for PartFile {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

impl DownloadAuditLogs<'_> {
    /// Sends the request and saves the gzip file, verified, at `destination`: a file path,
    /// or an existing directory in which Atlas's file name is used.
    pub async fn save_to(self, destination: impl AsRef<Path>) -> Result<Download, DownloadError> {
        save(self, destination.as_ref(), false).await
    }

    /// Like [`save_to`](Self::save_to), but writes the decompressed text (the `.gz`
    /// suffix of Atlas's file name dropped).
    pub async fn save_decompressed_to(
        self,
        destination: impl AsRef<Path>,
    ) -> Result<Download, DownloadError> {
        save(self, destination.as_ref(), true).await
    }
}

async fn save(
    request: DownloadAuditLogs<'_>,
    destination: &Path,
    decompress: bool,
) -> Result<Download, DownloadError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| DownloadError::Io { path, source }
    };
    // Check the destination before anything is sent.
    let into_directory = destination.is_dir();
    let (mut part, file) = if into_directory {
        let probe = destination.join(format!(".atlas-download-{}.probe", std::process::id()));
        std::fs::File::create(&probe).map_err(io(destination))?;
        let _ = std::fs::remove_file(&probe);
        (None, None)
    } else {
        let part = part_path(destination);
        let file = tokio::fs::File::create(&part).await.map_err(io(&part))?;
        (
            Some(PartFile {
                path: part,
                keep: false,
            }),
            Some(file),
        )
    };

    let response = match request.send().await {
        Ok(response) => response,
        Err(e) => return Err(DownloadError::Request(AtlasError::read(e).await)),
    };
    let server_file_name = response
        .headers()
        .get(CONTENT_DISPOSITION)
        .and_then(|v| v.to_str().ok())
        .and_then(disposition_file_name);
    let target = if into_directory {
        let name = server_file_name
            .clone()
            .unwrap_or_else(|| "audit.log.gz".to_string());
        let name = if decompress {
            name.strip_suffix(".gz").map(str::to_string).unwrap_or(name)
        } else {
            name
        };
        destination.join(name)
    } else {
        destination.to_path_buf()
    };
    let file = match file {
        Some(file) => file,
        None => {
            let path = part_path(&target);
            let file = tokio::fs::File::create(&path).await.map_err(io(&path))?;
            part = Some(PartFile { path, keep: false });
            file
        }
    };
    let part = part.as_mut().expect("a part file exists by now");

    // Receive here; verify, decompress, write and sync on a blocking thread, so that the
    // network and the disk work side by side. The channel holds a few chunks at most.
    let file = file.into_std().await;
    let part_path = part.path.clone();
    let (tx, rx) = tokio::sync::mpsc::channel::<bytes::Bytes>(16);
    let writer =
        tokio::task::spawn_blocking(move || write_verified(rx, file, decompress, &part_path));
    let mut received = 0u64;
    let mut broken = None;
    let mut body = response.into_inner().into_inner();
    while let Some(chunk) = body.next().await {
        match chunk {
            Ok(chunk) => {
                received += chunk.len() as u64;
                if tx.send(chunk).await.is_err() {
                    break; // the writer stopped: its error says why
                }
            }
            Err(e) => {
                broken = Some(DownloadError::Interrupted(transport_message(&e)));
                break;
            }
        }
    }
    drop(tx);
    let written = writer
        .await
        .map_err(|e| DownloadError::Interrupted(e.to_string()));
    if let Some(broken) = broken {
        return Err(broken);
    }
    let written = written??;
    if received == 0 {
        return Err(DownloadError::Corrupt("the body is empty".into()));
    }
    tokio::fs::rename(&part.path, &target)
        .await
        .map_err(io(&target))?;
    part.keep = true;
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(dir) = std::fs::File::open(dir)
    {
        let _ = dir.sync_all();
    }
    Ok(Download {
        path: target,
        bytes_received: received,
        bytes_written: written,
        server_file_name,
    })
}

/// Verifies the gzip as chunks arrive and writes them (or their text) to `file`, then syncs
/// it. Returns the bytes written.
fn write_verified(
    mut chunks: tokio::sync::mpsc::Receiver<bytes::Bytes>,
    file: std::fs::File,
    decompress: bool,
    path: &Path,
) -> Result<u64, DownloadError> {
    let io = |source| DownloadError::Io {
        path: path.to_path_buf(),
        source,
    };
    // The decoder passes the file's own errors through; bad data is one of these kinds.
    let corrupt = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::InvalidData
        | std::io::ErrorKind::InvalidInput
        | std::io::ErrorKind::UnexpectedEof => DownloadError::Corrupt(e.to_string()),
        _ => DownloadError::Io {
            path: path.to_path_buf(),
            source: e,
        },
    };
    let file = Counting {
        inner: std::io::BufWriter::with_capacity(WRITE_BUFFER, file),
        written: 0,
    };
    let file = if decompress {
        // The decoder writes the text straight into the file buffer.
        let mut gzip = MultiGzDecoder::new(file);
        while let Some(chunk) = chunks.blocking_recv() {
            gzip.write_all(&chunk).map_err(corrupt)?;
        }
        gzip.finish().map_err(corrupt)?
    } else {
        let mut gzip = MultiGzDecoder::new(std::io::sink());
        let mut file = file;
        while let Some(chunk) = chunks.blocking_recv() {
            gzip.write_all(&chunk).map_err(corrupt)?;
            file.write_all(&chunk).map_err(io)?;
        }
        gzip.try_finish().map_err(corrupt)?;
        file
    };
    let written = file.written;
    let file = file.inner.into_inner().map_err(|e| io(e.into_error()))?;
    file.sync_all().map_err(io)?;
    Ok(written)
}

/// A writer that counts what goes through it.
struct Counting<W> {
    inner: W,
    written: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// How much is written to the file at once.
const WRITE_BUFFER: usize = 1 << 20;

fn part_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".part");
    path.with_file_name(name)
}

/// The `filename` of a `Content-Disposition` value, reduced to a plain file name.
fn disposition_file_name(value: &str) -> Option<String> {
    let raw = value
        .split(';')
        .map(str::trim)
        .find_map(|part| part.strip_prefix("filename="))?;
    let raw = raw.trim_matches('"');
    let name = raw.rsplit(['/', '\\']).next()?.trim_start_matches('.');
    (!name.is_empty()).then(|| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_plain() {
        let name = disposition_file_name("attachment; filename=\"workspace0_1_2_audit.log.gz\"");
        assert_eq!(name.as_deref(), Some("workspace0_1_2_audit.log.gz"));
        assert_eq!(
            disposition_file_name("attachment; filename=\"../../etc/passwd\"").as_deref(),
            Some("passwd")
        );
        assert_eq!(disposition_file_name("attachment; filename=\"..\""), None);
        assert_eq!(disposition_file_name("attachment"), None);
    }

    #[test]
    fn part_files_sit_beside_the_target() {
        assert_eq!(
            part_path(Path::new("out/a.log.gz")),
            PathBuf::from("out/a.log.gz.part")
        );
    }
}
