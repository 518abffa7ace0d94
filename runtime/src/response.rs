//! Answers, read whole and decoded status first.
//!
//! The runtime reads every answer it does not hand over as a stream (see
//! [`Operation::streamed`](crate::Operation::streamed)) before the generated code sees it, and
//! keeps the bytes in the response's extensions as a [`Body`]. Generated code decodes
//! through [`from_response`], which never loses the status or the body: an answer that does
//! not decode becomes [`Error::Undecodable`], carrying both and why.

use std::fmt;

use progenitor_client::ResponseValue;
use serde::de::{self, DeserializeOwned, Visitor};

use crate::call::{DecodeError, Error, Undecodable};

/// An answer that did not decode: its parts, the operation it answers, and why.
fn undecodable<E>(
    status: reqwest::StatusCode,
    headers: reqwest::header::HeaderMap,
    extensions: &http::Extensions,
    body: Bytes,
    reason: String,
) -> Error<E> {
    Error::Undecodable(Undecodable {
        status: Some(status),
        headers,
        body,
        operation: extensions.get::<AnswerOf>().map(|AnswerOf(id)| *id),
        reason: DecodeError(reason),
    })
}

/// The whole body of an answer, kept in its extensions by the runtime.
#[derive(Clone, Debug)]
pub struct Body(pub Bytes);

/// The official operation (`operationId`) an answer is of, kept in its extensions by the
/// runtime, so that an answer that does not decode can say which operation's it was.
#[derive(Clone, Copy, Debug)]
pub struct AnswerOf(pub &'static str);

/// The body of a response the runtime read whole, if it did.
pub fn body_of(response: &reqwest::Response) -> Option<&Bytes> {
    response.extensions().get::<Body>().map(|b| &b.0)
}

/// A response with the same status, headers and extensions, and `body`, kept as [`Body`].
pub(crate) fn rebuild(
    status: reqwest::StatusCode,
    headers: &reqwest::header::HeaderMap,
    version: http::Version,
    extensions: http::Extensions,
    body: Bytes,
) -> reqwest::Response {
    let mut rebuilt = http::Response::new(body.clone());
    *rebuilt.status_mut() = status;
    *rebuilt.headers_mut() = headers.clone();
    *rebuilt.version_mut() = version;
    *rebuilt.extensions_mut() = extensions;
    rebuilt.extensions_mut().insert(Body(body));
    reqwest::Response::from(rebuilt)
}

pub use bytes::Bytes;

/// The body of a success answer exactly as sent, undecoded and unchecked: what generated
/// `send_raw()` methods return. The caller decodes it, in one pass (a body that is not
/// JSON is then the caller's to refuse; [`crate::scan::check`] checks it alone).
///
/// # Errors
///
/// The body could not be read.
pub async fn raw<E>(response: reqwest::Response) -> Result<ResponseValue<Bytes>, Error<E>> {
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = match body_of(&response) {
        Some(bytes) => bytes.clone(),
        None => response.bytes().await.map_err(Error::CommunicationError)?,
    };
    Ok(ResponseValue::new(bytes, status, headers))
}

/// Decodes an answer as `T`, the way progenitor's `ResponseValue::from_response` does,
/// but strictly and keeping the status: a body that is not JSON of `T`'s shape (an array
/// where `T` is an object, for one: serde would read a struct from a sequence) fails as
/// [`Error::Undecodable`] with the status, headers and body intact and the reason.
///
/// # Errors
///
/// The body could not be read, or is not a `T`.
pub async fn from_response<T: DeserializeOwned + 'static, E>(
    response: reqwest::Response,
) -> Result<ResponseValue<T>, Error<E>> {
    let status = response.status();
    let headers = response.headers().clone();
    let extensions = response.extensions().clone();
    let bytes = match body_of(&response) {
        Some(bytes) => bytes.clone(),
        None => response.bytes().await.map_err(Error::CommunicationError)?,
    };
    let decoded = match (expected_shape::<T>(), first_byte(&bytes)) {
        (Shape::Object, Some(b)) if b != b'{' => {
            Err(format!("expected a JSON object, found {}", describe(b)))
        }
        (Shape::Array, Some(b)) if b != b'[' => {
            Err(format!("expected a JSON array, found {}", describe(b)))
        }
        _ => crate::strict::from_slice::<T>(&bytes).map_err(|e| e.to_string()),
    };
    match decoded {
        Ok(mut inner) => {
            crate::error::ErrorBody::keep_received(&mut inner, &bytes);
            Ok(ResponseValue::new(inner, status, headers))
        }
        Err(why) => Err(undecodable(status, headers, &extensions, bytes, why)),
    }
}

fn first_byte(bytes: &[u8]) -> Option<u8> {
    bytes.iter().copied().find(|b| !b.is_ascii_whitespace())
}

fn describe(byte: u8) -> &'static str {
    match byte {
        b'[' => "an array",
        b'{' => "an object",
        b'"' => "a string",
        b't' | b'f' => "a boolean",
        b'n' => "null",
        b'-' | b'0'..=b'9' => "a number",
        _ => "something that is not JSON",
    }
}

/// The JSON shape a type asks its deserializer for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    Object,
    Array,
    Other,
}

/// Asks `T` which shape it deserializes from, with a deserializer that records the first
/// request and refuses it.
fn expected_shape<T: DeserializeOwned>() -> Shape {
    let mut probe = Probe(Shape::Other);
    let _ = T::deserialize(&mut probe);
    probe.0
}

struct Probe(Shape);

#[derive(Debug)]
struct Probed;

impl fmt::Display for Probed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("probed")
    }
}

impl std::error::Error for Probed {}

impl de::Error for Probed {
    fn custom<M: fmt::Display>(_: M) -> Self {
        Probed
    }
}

impl<'de> de::Deserializer<'de> for &mut Probe {
    type Error = Probed;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Probed> {
        Err(Probed)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Probed> {
        self.0 = Shape::Object;
        Err(Probed)
    }

    fn deserialize_map<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Probed> {
        self.0 = Shape::Object;
        Err(Probed)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Probed> {
        self.0 = Shape::Array;
        Err(Probed)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, Probed> {
        visitor.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct tuple
        tuple_struct enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Page {
        #[serde(default)]
        items: Vec<u8>,
    }

    #[derive(serde::Deserialize)]
    #[serde(transparent)]
    #[allow(dead_code)]
    struct Wrapped(Page);

    #[test]
    fn shapes_are_probed() {
        assert_eq!(expected_shape::<Page>(), Shape::Object);
        assert_eq!(expected_shape::<Wrapped>(), Shape::Object);
        assert_eq!(expected_shape::<Vec<Page>>(), Shape::Array);
        assert_eq!(
            expected_shape::<std::collections::BTreeMap<String, u8>>(),
            Shape::Object
        );
        assert_eq!(expected_shape::<String>(), Shape::Other);
        assert_eq!(expected_shape::<serde_json::Value>(), Shape::Other);
    }

    fn answer(status: u16, body: &'static str) -> reqwest::Response {
        reqwest::Response::from(http::Response::builder().status(status).body(body).unwrap())
    }

    #[tokio::test]
    async fn an_array_is_not_an_empty_page() {
        for body in ["[[]]", "[[{}]]", "[]", "\"x\"", "null"] {
            let err = from_response::<Page, ()>(answer(200, body))
                .await
                .unwrap_err();
            let Error::Undecodable(Undecodable {
                status,
                body: kept,
                reason,
                ..
            }) = err
            else {
                panic!("{body}: {err:?}")
            };
            assert_eq!(status.map(|s| s.as_u16()), Some(200));
            assert_eq!(kept.as_ref(), body.as_bytes());
            assert!(reason.0.starts_with("expected a JSON object"), "{reason}");
        }
        let page = from_response::<Page, ()>(answer(200, " {\"items\":[1]}"))
            .await
            .unwrap();
        assert_eq!(page.items, vec![1]);
    }
}
