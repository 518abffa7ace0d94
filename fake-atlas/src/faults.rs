//! Body faults: abort the connection, or end a body early, after some bytes.

use bytes::Bytes;
use futures::{Stream, StreamExt};

/// What to do to a body once `after` bytes have gone out.
#[derive(Clone, Copy, Debug)]
pub enum Cut {
    /// Fail the stream: the server aborts the connection mid-body.
    Abort { after: u64 },
    /// End the stream cleanly: a well-formed HTTP message with a short body.
    Truncate { after: u64 },
}

/// Applies a cut to a body stream. A task forwards the body through a small channel, so
/// that what precedes the cut is handed to the connection before the cut happens.
pub fn cut<S>(body: S, cut: Cut) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send
where
    S: Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
{
    let (after, abort) = match cut {
        Cut::Abort { after } => (after, true),
        Cut::Truncate { after } => (after, false),
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(2);
    tokio::spawn(async move {
        let mut body = std::pin::pin!(body);
        let mut sent = 0u64;
        while let Some(item) = body.next().await {
            let Ok(chunk) = item else {
                let _ = tx.send(item).await;
                return;
            };
            let room = after.saturating_sub(sent);
            if (chunk.len() as u64) < room {
                sent += chunk.len() as u64;
                if tx.send(Ok(chunk)).await.is_err() {
                    return;
                }
                continue;
            }
            if room > 0 && tx.send(Ok(chunk.slice(..room as usize))).await.is_err() {
                return;
            }
            break;
        }
        if abort {
            // Give the connection time to write out what precedes the cut.
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            let error = std::io::Error::new(
                std::io::ErrorKind::ConnectionAborted,
                "fault: connection closed mid-body",
            );
            let _ = tx.send(Err(error)).await;
        }
    });
    futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_chunks() -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
        futures::stream::iter([
            Ok(Bytes::from(vec![7u8; 300])),
            Ok(Bytes::from(vec![8u8; 300])),
        ])
    }

    #[tokio::test]
    async fn abort_sends_the_bytes_before_the_cut_then_fails() {
        let items: Vec<_> = cut(two_chunks(), Cut::Abort { after: 400 }).collect().await;
        assert_eq!(items.len(), 3, "{items:?}");
        assert_eq!(items[0].as_ref().unwrap().len(), 300);
        assert_eq!(items[1].as_ref().unwrap().len(), 100);
        assert!(items[2].is_err());
    }

    #[tokio::test]
    async fn truncate_ends_cleanly() {
        let items: Vec<_> = cut(two_chunks(), Cut::Truncate { after: 400 })
            .collect()
            .await;
        let sizes: Vec<usize> = items.iter().map(|i| i.as_ref().unwrap().len()).collect();
        assert_eq!(sizes, [300, 100]);
    }
}
