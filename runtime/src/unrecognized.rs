//! Values of an enumeration that a generated client's spec does not list.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

/// A value Atlas sent for an enumeration that the spec the client was generated from does
/// not list (a state, a role, a provider added since), kept exactly as sent. Generated
/// enumerations that appear in answers carry it in a last variant, `Unrecognized`, so that
/// an answer is never refused over a value it can still represent.
///
/// It is made by decoding only (its `Deserialize`), never by a constructor: a value the
/// caller builds from its type's variants or `FromStr` is always one the spec lists, so what
/// the client sends keeps the spec; a value decoded from an answer goes back as it came. An
/// enumeration decodes a listed value as its variant, never as `Unrecognized`.
///
/// ```
/// let unknown: atlas_runtime::Unrecognized = serde_json::from_str(r#""PAUSED_BY_ATLAS""#).unwrap();
/// assert_eq!(unknown.as_str(), "PAUSED_BY_ATLAS");
/// assert_eq!(serde_json::to_string(&unknown).unwrap(), r#""PAUSED_BY_ATLAS""#);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Unrecognized(String);

impl Unrecognized {
    /// The value as Atlas sent it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Unrecognized {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Unrecognized {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self)
    }
}
