//! Body faults: abort the connection, or end a body early, after some bytes.

use std::pin::Pin;

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

type Body = Pin<Box<dyn Stream<Item = Result<Bytes, std::io::Error>> + Send>>;

enum State {
    Streaming { body: Body, sent: u64 },
    FailNext,
    Done,
}

/// Applies a cut to a body stream.
pub fn cut<S>(body: S, cut: Cut) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send
where
    S: Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
{
    let (after, abort) = match cut {
        Cut::Abort { after } => (after, true),
        Cut::Truncate { after } => (after, false),
    };
    let start = State::Streaming {
        body: Box::pin(body),
        sent: 0,
    };
    futures::stream::unfold(start, move |state| async move {
        match state {
            State::Done => None,
            State::FailNext => Some((
                Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionAborted,
                    "fault: connection closed mid-body",
                )),
                State::Done,
            )),
            State::Streaming { mut body, sent } => match body.next().await {
                None => None,
                Some(Err(e)) => Some((Err(e), State::Done)),
                Some(Ok(chunk)) => {
                    let room = after.saturating_sub(sent);
                    if (chunk.len() as u64) < room {
                        let sent = sent + chunk.len() as u64;
                        return Some((Ok(chunk), State::Streaming { body, sent }));
                    }
                    let next = if abort { State::FailNext } else { State::Done };
                    Some((Ok(chunk.slice(..room as usize)), next))
                }
            },
        }
    })
}
