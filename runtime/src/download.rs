//! Downloads to a file: streamed into a uniquely named temporary file beside the
//! destination while the gzip is verified (CRC and length), optionally decompressed on the
//! fly, synced, and renamed into place only when complete ([`AtomicFile`]). The destination
//! is checked before the request is sent; any failure, or dropping the future, leaves
//! nothing behind.
//!
//! A transfer that breaks off is sent again from the start, within the client's
//! [`RetryPolicy`], each attempt into a temporary file of its own (see [`save`] for what
//! counts as broken off, and why it is not resumed).
//!
//! Generated clients expose this on their download operations' builders (`save_to`,
//! `save_decompressed_to`); [`save`] is the engine underneath.

use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use flate2::write::MultiGzDecoder;
use futures::StreamExt;
use progenitor_client::{ByteStream, ResponseValue};
use reqwest::header::{CONTENT_DISPOSITION, CONTENT_LENGTH, HeaderMap, TRANSFER_ENCODING};

use crate::atomic::AtomicFile;
use crate::error::AtlasError;
use crate::retry::{self, RetryPolicy};

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
    /// The transfer broke off (on the last attempt the retry policy allowed).
    #[error("the download broke off")]
    Interrupted(#[source] reqwest::Error),
    /// The file is not a complete, valid gzip (truncated, or its checksum does not match).
    #[error("the downloaded file is not a valid gzip file")]
    Corrupt(#[source] std::io::Error),
}

/// Sends a download and saves the body, verified as gzip, at `destination`: a file path,
/// or a directory (an existing one, or a path ending in `/`) in which Atlas's
/// `Content-Disposition` file name is used. With `decompress`, the decompressed text is
/// written instead (the `.gz` suffix of Atlas's file name dropped). `send` makes the
/// request's future (a generated operation's `send()` on a clone of its builder), once per
/// attempt; the destination is checked before the first is polled.
///
/// A transfer that breaks off is sent again, as `policy` allows (the client's
/// [`RetryPolicy`]: its attempts, its time budget counted from the first attempt, and its
/// backoff with jitter), each retry logged with `tracing` at WARN. Each attempt writes a
/// temporary file of its own; a failed attempt's is removed before the next begins, and
/// the destination only ever appears complete and verified. Broken off means:
/// - the body failed while it was read (the connection closed or was reset before the
///   answer's framing said it was over, or a read timed out);
/// - or the answer had no framing that could tell (neither `Content-Length` nor chunked
///   `Transfer-Encoding`: its end is the connection's close, so a cut looks like an end)
///   and its gzip ended before its end was complete and checked, or was empty.
///
/// A gzip found bad in the middle, or one that arrived whole by its framing yet fails its
/// check, is not retried: Atlas would send the same again. Nor is a request that failed
/// before its answer's body: the runtime has already retried it as the policy allows,
/// and an error such as a 4xx is not worth repeating. (So the request of each attempt
/// gets the runtime's retries of its own: no attempt begins past the time budget, but the
/// last one's request may be retried for up to another budget.) Over HTTP/2, where a stream always
/// ends explicitly, an answer without `Content-Length` counts as unframed too (an answer
/// does not say which protocol carried it), so a file whose gzip fails its final check
/// there is retried until the policy ends, then reported as corrupt.
///
/// Retries start from the beginning rather than resume with `Range`: Atlas documents no
/// range support for its downloads (no `Accept-Ranges`, no validator such as `ETag`), and
/// it produces the gzip per request, so the bytes of a second answer need not continue
/// those of the first, and the checksum, which covers the whole file, could not vouch
/// for a file pieced together from two answers.
///
/// # Errors
///
/// The destination cannot be written (nothing is sent), the request failed, the transfer
/// broke off on every attempt the policy allowed, or the body is not a complete gzip file.
pub async fn save<S, F, E>(
    mut send: S,
    policy: &RetryPolicy,
    destination: &Path,
    decompress: bool,
) -> Result<Download, DownloadError>
where
    S: FnMut() -> F,
    F: Future<Output = Result<ResponseValue<ByteStream>, crate::Error<E>>>,
    E: serde::Serialize + 'static,
{
    let into_directory =
        destination.is_dir() || destination.as_os_str().to_string_lossy().ends_with('/');
    let what = format!("download to {}", destination.display());
    let started = Instant::now();
    let mut n = 1;
    loop {
        // A temporary file for this attempt: for the first, this checks the destination
        // before anything is sent.
        let file = if into_directory {
            AtomicFile::create_in(destination)
        } else {
            AtomicFile::create(destination)
        }
        .map_err(|source| DownloadError::Io {
            path: destination.to_path_buf(),
            source,
        })?;
        let response = send()
            .await
            .map_err(|e| DownloadError::Request(AtlasError::from(e)))?;
        let (error, why) =
            match receive(response, file, destination, into_directory, decompress).await {
                Ok(download) => return Ok(download),
                Err(Failed::Final(error)) => return Err(error),
                Err(Failed::BrokenOff(error, why)) => (error, why),
            };
        // The attempt's temporary file is gone already.
        let delay = policy.backoff(n);
        if !retry::another(policy, started, n, delay, why, &what) {
            return Err(error);
        }
        tokio::time::sleep(delay).await;
        n += 1;
    }
}

/// How an attempt of [`save`] failed.
enum Failed {
    /// Worth another attempt: the transfer broke off (why, for the log).
    BrokenOff(DownloadError, &'static str),
    /// Not worth another attempt.
    Final(DownloadError),
}

/// The rest of an attempt of [`save`], once the answer's head is in: receives the body
/// into `file`, verifies and commits it. Not generic, so that it is compiled once, not for
/// every download operation of every generated client.
async fn receive(
    response: ResponseValue<ByteStream>,
    mut file: AtomicFile,
    destination: &Path,
    into_directory: bool,
    decompress: bool,
) -> Result<Download, Failed> {
    let unframed = !framed(response.headers());
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
                broken = Some(e);
                break;
            }
        }
    }
    drop(tx);
    // The writer drops the temporary file when it fails; a broken transfer's is dropped
    // here, with the writer's result.
    let written = writer.await;
    if let Some(broken) = broken {
        let retryable = retry::retryable_transport(&broken);
        let error = DownloadError::Interrupted(broken.without_url());
        return Err(if retryable {
            Failed::BrokenOff(error, "the download broke off")
        } else {
            Failed::Final(error)
        });
    }
    let written = written.map_err(|e| {
        Failed::Final(DownloadError::Io {
            path: target.clone(),
            source: std::io::Error::other(e),
        })
    })?;
    let (written, file) = match written {
        Ok(done) => done,
        Err(Failure::Ended(e)) if unframed => {
            return Err(Failed::BrokenOff(
                DownloadError::Corrupt(e),
                "the gzip ended early on an answer without a length",
            ));
        }
        Err(failure) => return Err(Failed::Final(failure.into_error(target))),
    };
    if received == 0 {
        let error = DownloadError::Corrupt(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "the body is empty",
        ));
        return Err(if unframed {
            Failed::BrokenOff(error, "the answer without a length was empty")
        } else {
            Failed::Final(error)
        });
    }
    tokio::task::spawn_blocking(move || file.commit())
        .await
        .map_err(std::io::Error::other)
        .and_then(|r| r)
        .map_err(|source| {
            Failed::Final(DownloadError::Io {
                path: target.clone(),
                source,
            })
        })?;
    Ok(Download {
        path: target,
        bytes_received: received,
        bytes_written: written,
        server_file_name,
    })
}

/// Whether an answer's headers say where its body ends (`Content-Length`, or chunked
/// `Transfer-Encoding`), so that a body cut short fails as it is read instead of looking
/// complete.
fn framed(headers: &HeaderMap) -> bool {
    headers.contains_key(CONTENT_LENGTH)
        || headers.get_all(TRANSFER_ENCODING).iter().any(|v| {
            v.to_str()
                .is_ok_and(|v| v.to_ascii_lowercase().contains("chunked"))
        })
}

/// Verifies the gzip as chunks arrive and writes them (or their text) to `file`. Returns
/// the bytes written and the file, ready to commit; on failure the file is removed.
fn write_verified(
    mut chunks: tokio::sync::mpsc::Receiver<bytes::Bytes>,
    mut file: AtomicFile,
    decompress: bool,
) -> Result<(u64, AtomicFile), Failure> {
    let out = std::io::BufWriter::with_capacity(WRITE_BUFFER, file.file());
    let chunks = std::iter::from_fn(|| chunks.blocking_recv());
    let written = write_chunks(chunks, out, decompress).and_then(|(written, out)| {
        out.into_inner()
            .map_err(|e| Failure::Write(e.into_error()))?;
        Ok(written)
    })?;
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
    /// The output could not be written.
    Write(std::io::Error),
    /// The gzip is bad where it stands.
    Data(std::io::Error),
    /// Every byte decoded, but the gzip ended before its end was complete and checked
    /// (truncated, or its final checksum or length does not match).
    Ended(std::io::Error),
}

impl Failure {
    fn into_error(self, path: PathBuf) -> DownloadError {
        match self {
            Failure::Write(source) => DownloadError::Io { path, source },
            Failure::Data(e) | Failure::Ended(e) => DownloadError::Corrupt(e),
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
    let is_data = |e: &std::io::Error| {
        matches!(
            e.kind(),
            std::io::ErrorKind::InvalidData
                | std::io::ErrorKind::InvalidInput
                | std::io::ErrorKind::UnexpectedEof
        )
    };
    let corrupt = |e: std::io::Error| {
        if is_data(&e) {
            Failure::Data(e)
        } else {
            Failure::Write(e)
        }
    };
    // At the end of the input, bad data means the gzip did not end as it should.
    let ended = |e: std::io::Error| {
        if is_data(&e) {
            Failure::Ended(e)
        } else {
            Failure::Write(e)
        }
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
        gzip.finish().map_err(ended)?
    } else {
        let mut gzip = MultiGzDecoder::new(std::io::sink());
        let mut out = out;
        for chunk in chunks {
            gzip.write_all(chunk.as_ref()).map_err(corrupt)?;
            out.write_all(chunk.as_ref()).map_err(Failure::Write)?;
        }
        gzip.try_finish().map_err(ended)?;
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

    /// A server on loopback answering each connection with the next of `answers` (raw
    /// HTTP/1.1, written whole, then the connection closed), and counting them.
    fn serve(answers: Vec<Vec<u8>>) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        use std::io::Read;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/file.gz", listener.local_addr().unwrap());
        let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let served = count.clone();
        std::thread::spawn(move || {
            for (answer, stream) in answers.into_iter().zip(listener.incoming()) {
                let mut stream = stream.unwrap();
                served.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let mut head = Vec::new();
                let mut byte = [0u8];
                while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap() == 1 {
                    head.push(byte[0]);
                }
                stream.write_all(&answer).unwrap();
            }
        });
        (url, count)
    }

    fn gzip(text: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(text).unwrap();
        encoder.finish().unwrap()
    }

    /// An answer whose end is the connection's close, and one with a `Content-Length`
    /// (both closing the connection, so that none is reused).
    fn unframed(body: &[u8]) -> Vec<u8> {
        [
            b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".as_slice(),
            body,
        ]
        .concat()
    }

    fn sized(length: usize, body: &[u8]) -> Vec<u8> {
        let head =
            format!("HTTP/1.1 200 OK\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n");
        [head.as_bytes(), body].concat()
    }

    async fn fetch(url: &str, dir: &Path) -> Result<Download, DownloadError> {
        let http = reqwest::Client::new();
        let policy = RetryPolicy {
            max_attempts: 3,
            base_delay: std::time::Duration::from_millis(1),
            ..RetryPolicy::default()
        };
        let send = || async {
            let response = http
                .get(url)
                .send()
                .await
                .map_err(crate::Error::<()>::CommunicationError)?;
            Ok(ResponseValue::stream(response))
        };
        save(send, &policy, &dir.join("audit.log.gz"), false).await
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[tokio::test]
    async fn broken_transfers_are_sent_again_whole_corrupt_files_are_not() {
        let gz = gzip(&b"{\"event\":\"start\"}\n".repeat(5000));
        let half = &gz[..gz.len() / 2];
        let mut bad_crc = gz.clone();
        let at = bad_crc.len() - 8;
        bad_crc[at] ^= 0xff;

        // Cut short of its Content-Length: the body fails as it is read.
        let dir = tempfile::tempdir().unwrap();
        let (url, count) = serve(vec![sized(gz.len(), half), sized(gz.len(), &gz)]);
        let saved = fetch(&url, dir.path()).await.unwrap();
        assert_eq!(std::fs::read(&saved.path).unwrap(), gz);
        assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 2);
        assert_eq!(names(dir.path()), ["audit.log.gz"]);

        // No length: a cut looks like an end, and the gzip tells.
        let dir = tempfile::tempdir().unwrap();
        let (url, count) = serve(vec![unframed(half), unframed(b""), unframed(&gz)]);
        let saved = fetch(&url, dir.path()).await.unwrap();
        assert_eq!(std::fs::read(&saved.path).unwrap(), gz);
        assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 3);
        assert_eq!(names(dir.path()), ["audit.log.gz"]);

        // Whole by its length but corrupt: the same would come again.
        for corrupt in [half, bad_crc.as_slice()] {
            let dir = tempfile::tempdir().unwrap();
            let (url, count) = serve(vec![sized(corrupt.len(), corrupt), sized(gz.len(), &gz)]);
            let err = fetch(&url, dir.path()).await.unwrap_err();
            assert!(matches!(err, DownloadError::Corrupt(_)), "{err:?}");
            assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 1);
            assert!(names(dir.path()).is_empty());
        }

        // Broken on every attempt: as many as the policy allows, then nothing is left.
        let dir = tempfile::tempdir().unwrap();
        let (url, count) = serve(vec![sized(gz.len(), half); 4]);
        let err = fetch(&url, dir.path()).await.unwrap_err();
        assert!(matches!(err, DownloadError::Interrupted(_)), "{err:?}");
        assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 3);
        assert!(names(dir.path()).is_empty());
    }

    #[test]
    fn framing_is_a_length_or_chunks() {
        let mut headers = HeaderMap::new();
        assert!(!framed(&headers));
        headers.insert(TRANSFER_ENCODING, "gzip, Chunked".parse().unwrap());
        assert!(framed(&headers));
        headers.clear();
        headers.insert(CONTENT_LENGTH, "23".parse().unwrap());
        assert!(framed(&headers));
    }

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
