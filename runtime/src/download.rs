//! Downloads to a file: streamed once into a uniquely named temporary file beside the
//! destination while the gzip is verified (CRC and length), optionally decompressed on the
//! fly, synced, and renamed into place only when complete ([`AtomicFile`]). The destination
//! is checked before the request is sent; any failure, or dropping the future, leaves
//! nothing behind.
//!
//! Generated clients expose this on their download operations' builders (`save_to`,
//! `save_decompressed_to`); [`save`] is the engine underneath.

use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};

use flate2::write::MultiGzDecoder;
use futures::StreamExt;
use progenitor_client::{ByteStream, ResponseValue};
use reqwest::header::CONTENT_DISPOSITION;

use crate::atomic::AtomicFile;
use crate::error::AtlasError;

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
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DownloadError {
    /// The request failed or Atlas answered with an error.
    #[error(transparent)]
    Request(AtlasError),
    /// The destination could not be written.
    #[error("cannot write {}", path.display())]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
    /// The transfer broke off.
    #[error("the download broke off")]
    Interrupted(#[source] reqwest::Error),
    /// The file is not a complete, valid gzip (truncated, or its checksum does not match).
    #[error("the downloaded file is not a valid gzip file")]
    Corrupt(#[source] std::io::Error),
}

/// Sends a download (`send`, a generated operation's `send()` future) and saves the body,
/// verified as gzip, at `destination`: a file path, or a directory (an existing one, or a
/// path ending in `/`) in which Atlas's `Content-Disposition` file name is used. With
/// `decompress`, the decompressed text is written instead (the `.gz` suffix of Atlas's
/// file name dropped). The destination is checked before `send` is polled.
///
/// # Errors
///
/// The destination cannot be written (nothing is sent), the request failed, the transfer
/// broke off, or the body is not a complete gzip file.
pub async fn save<F, E>(
    send: F,
    destination: &Path,
    decompress: bool,
) -> Result<Download, DownloadError>
where
    F: Future<Output = Result<ResponseValue<ByteStream>, progenitor_client::Error<E>>>,
    E: serde::Serialize,
{
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| DownloadError::Io { path, source }
    };
    // Check the destination before anything is sent.
    let into_directory =
        destination.is_dir() || destination.as_os_str().to_string_lossy().ends_with('/');
    let mut file = if into_directory {
        AtomicFile::create_in(destination).map_err(io(destination))?
    } else {
        AtomicFile::create(destination).map_err(io(destination))?
    };

    let response = send
        .await
        .map_err(|e| DownloadError::Request(AtlasError::from(e)))?;
    let server_file_name = response
        .headers()
        .get(CONTENT_DISPOSITION)
        .and_then(|v| v.to_str().ok())
        .and_then(disposition_file_name);
    if into_directory {
        let name = server_file_name
            .clone()
            .unwrap_or_else(|| "audit.log.gz".to_string());
        let name = if decompress {
            name.strip_suffix(".gz").map(str::to_string).unwrap_or(name)
        } else {
            name
        };
        file.set_destination(destination.join(name));
    }
    let target = file.destination().to_path_buf();

    // Receive here; verify, decompress, write and sync on a blocking thread, so that the
    // network and the disk work side by side. The channel holds a few chunks at most.
    let (tx, rx) = tokio::sync::mpsc::channel::<bytes::Bytes>(16);
    let writer = tokio::task::spawn_blocking(move || write_verified(rx, file, decompress));
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
                broken = Some(DownloadError::Interrupted(e.without_url()));
                break;
            }
        }
    }
    drop(tx);
    let written = writer.await;
    if let Some(broken) = broken {
        return Err(broken);
    }
    let (written, file) = written.map_err(|e| DownloadError::Io {
        path: target.clone(),
        source: std::io::Error::other(e),
    })??;
    if received == 0 {
        return Err(DownloadError::Corrupt(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "the body is empty",
        )));
    }
    tokio::task::spawn_blocking(move || file.commit())
        .await
        .map_err(std::io::Error::other)
        .and_then(|r| r)
        .map_err(io(&target))?;
    Ok(Download {
        path: target,
        bytes_received: received,
        bytes_written: written,
        server_file_name,
    })
}

/// Verifies the gzip as chunks arrive and writes them (or their text) to `file`. Returns
/// the bytes written and the file, ready to commit.
fn write_verified(
    mut chunks: tokio::sync::mpsc::Receiver<bytes::Bytes>,
    mut file: AtomicFile,
    decompress: bool,
) -> Result<(u64, AtomicFile), DownloadError> {
    let path = file.destination().to_path_buf();
    let out = std::io::BufWriter::with_capacity(WRITE_BUFFER, file.file());
    let chunks = std::iter::from_fn(|| chunks.blocking_recv());
    let written = write_chunks(chunks, out, decompress)
        .and_then(|(written, out)| {
            out.into_inner()
                .map_err(|e| Failure::Write(e.into_error()))?;
            Ok(written)
        })
        .map_err(|e| e.into_error(path))?;
    Ok((written, file))
}

/// Runs the verification and decompression of [`save`] on `chunks` held in memory, the
/// output counted and discarded: the bytes a download would write, or why it would fail
/// (`DownloadError::Io` with `ErrorKind::FileTooLarge` past 64 MiB of output).
#[doc(hidden)]
pub fn verify_gzip(chunks: &[&[u8]], decompress: bool) -> Result<u64, DownloadError> {
    verify_in_memory(chunks, decompress, VERIFY_LIMIT)
}

/// How much output [`verify_gzip`] counts before it stops.
const VERIFY_LIMIT: u64 = 64 << 20;

fn verify_in_memory(chunks: &[&[u8]], decompress: bool, limit: u64) -> Result<u64, DownloadError> {
    let out = Bounded { left: limit };
    write_chunks(chunks.iter(), out, decompress)
        .map(|(written, _)| written)
        .map_err(|e| e.into_error(PathBuf::new()))
}

enum Failure {
    Write(std::io::Error),
    Data(std::io::Error),
}

impl Failure {
    fn into_error(self, path: PathBuf) -> DownloadError {
        match self {
            Failure::Write(source) => DownloadError::Io { path, source },
            Failure::Data(e) => DownloadError::Corrupt(e),
        }
    }
}

/// Verifies the gzip in `chunks` and writes them, or their text with `decompress`, to `out`.
/// Returns the bytes written and `out`.
fn write_chunks<W: Write>(
    chunks: impl IntoIterator<Item = impl AsRef<[u8]>>,
    out: W,
    decompress: bool,
) -> Result<(u64, W), Failure> {
    // The decoder passes the writer's own errors through; bad data is one of these kinds.
    let corrupt = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::InvalidData
        | std::io::ErrorKind::InvalidInput
        | std::io::ErrorKind::UnexpectedEof => Failure::Data(e),
        _ => Failure::Write(e),
    };
    let out = Counting {
        inner: out,
        written: 0,
    };
    let out = if decompress {
        // The decoder writes the text straight into the output.
        let mut gzip = MultiGzDecoder::new(out);
        for chunk in chunks {
            gzip.write_all(chunk.as_ref()).map_err(corrupt)?;
        }
        gzip.finish().map_err(corrupt)?
    } else {
        let mut gzip = MultiGzDecoder::new(std::io::sink());
        let mut out = out;
        for chunk in chunks {
            gzip.write_all(chunk.as_ref()).map_err(corrupt)?;
            out.write_all(chunk.as_ref()).map_err(Failure::Write)?;
        }
        gzip.try_finish().map_err(corrupt)?;
        out
    };
    Ok((out.written, out.inner))
}

/// A writer that discards what it is given, and fails once more than `left` bytes came.
struct Bounded {
    left: u64,
}

impl Write for Bounded {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.left = self.left.checked_sub(buf.len() as u64).ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::FileTooLarge, "output limit reached")
        })?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
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

/// The `filename` of a `Content-Disposition` value, reduced to a plain file name.
#[doc(hidden)]
pub fn disposition_file_name(value: &str) -> Option<String> {
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
    fn verification_in_memory_stops_at_its_limit() {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(&[0; 1 << 20]).unwrap();
        let gz = encoder.finish().unwrap();
        let (head, tail) = gz.split_at(10);
        assert_eq!(
            verify_in_memory(&[head, tail], true, 1 << 20).unwrap(),
            1 << 20
        );
        assert_eq!(verify_gzip(&[head, tail], false).unwrap(), gz.len() as u64);
        let Err(DownloadError::Io { source, .. }) = verify_in_memory(&[&gz], true, (1 << 20) - 1)
        else {
            panic!("a bomb past the limit was decompressed");
        };
        assert_eq!(source.kind(), std::io::ErrorKind::FileTooLarge);
        for decompress in [false, true] {
            let truncated = verify_gzip(&[&gz[..gz.len() - 1]], decompress);
            assert!(
                matches!(truncated, Err(DownloadError::Corrupt(_))),
                "{truncated:?}"
            );
        }
    }
}
