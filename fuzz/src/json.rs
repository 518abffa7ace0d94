//! A JSON reader for the oracles (RFC 8259): every key kept in order, a key written twice
//! included, and numbers kept as written. It shares no code with serde or serde_json, so
//! that an oracle built on it can tell when those, or our use of them, read a text
//! otherwise than JSON says.

/// A JSON value as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Json {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, as written.
    Number(String),
    /// A string, unescaped.
    String(String),
    /// An array.
    Array(Vec<Json>),
    /// An object: its members in order, a key written twice appearing twice.
    Object(Vec<(String, Json)>),
}

/// What reading a text gave.
#[derive(Debug)]
pub enum Read {
    /// One JSON value, with nothing but whitespace around it.
    Value(Json),
    /// Not JSON.
    Invalid,
    /// JSON by its grammar, or nearly, but holding what a reader may take or refuse: a
    /// lone surrogate escape (`"\udfff"`, which RFC 8259 section 8.2 leaves to readers),
    /// `-0`, a number beyond a 64-bit float, bytes that are not UTF-8 inside a string, or
    /// nesting deeper than [`MAX_DEPTH`] (serde_json stops at a depth of its own). The
    /// oracles give no verdict on acceptance for these.
    Doubtful,
}

/// The nesting beyond which the oracles give no verdict (serde_json stops at 128).
pub const MAX_DEPTH: usize = 100;

/// Reads `bytes` as one JSON text.
pub fn read(bytes: &[u8]) -> Read {
    // Outside strings JSON is ASCII; inside, UTF-8. A text whose only fault is bytes that
    // are not UTF-8 is read with them replaced, and doubtful.
    let (text, lossy) = match std::str::from_utf8(bytes) {
        Ok(text) => (std::borrow::Cow::Borrowed(text), false),
        Err(_) => (String::from_utf8_lossy(bytes), true),
    };
    let mut reader = Reader {
        text: text.as_bytes(),
        at: 0,
        doubtful: lossy,
    };
    reader.space();
    let value = reader.value(0);
    reader.space();
    match value {
        Some(value) if reader.at == reader.text.len() => {
            if reader.doubtful || value.holds_doubtful_number() {
                Read::Doubtful
            } else {
                Read::Value(value)
            }
        }
        _ if reader.doubtful => Read::Doubtful,
        _ => Read::Invalid,
    }
}

impl Json {
    /// The value of `key` when the object names it exactly once.
    pub fn field(&self, key: &str) -> Option<&Json> {
        let Json::Object(members) = self else {
            return None;
        };
        let mut found = members.iter().filter(|(k, _)| k == key);
        let first = found.next()?;
        found.next().is_none().then_some(&first.1)
    }

    /// How many times the object names `key` (0 for anything but an object).
    pub fn count(&self, key: &str) -> usize {
        match self {
            Json::Object(members) => members.iter().filter(|(k, _)| k == key).count(),
            _ => 0,
        }
    }

    /// The object's keys, in order.
    pub fn keys(&self) -> Vec<&str> {
        match self {
            Json::Object(members) => members.iter().map(|(k, _)| k.as_str()).collect(),
            _ => Vec::new(),
        }
    }

    /// Whether any object in the value names a key twice.
    pub fn repeats_a_key(&self) -> bool {
        match self {
            Json::Object(members) => {
                let mut keys: Vec<&str> = members.iter().map(|(k, _)| k.as_str()).collect();
                keys.sort_unstable();
                keys.windows(2).any(|w| w[0] == w[1])
                    || members.iter().any(|(_, v)| v.repeats_a_key())
            }
            Json::Array(items) => items.iter().any(Json::repeats_a_key),
            _ => false,
        }
    }

    /// The number as an integer, when it is written as one (no fraction, no exponent)
    /// and fits 64 bits. `-0` is left out: serde_json reads it as a float.
    pub fn integer(&self) -> Option<i64> {
        let Json::Number(text) = self else {
            return None;
        };
        let digits = text.strip_prefix('-').unwrap_or(text);
        if text == "-0" || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        text.parse().ok()
    }

    /// Whether the value holds a number readers differ on: a negative zero (serde_json
    /// reads `-0` as a float), or one beyond a 64-bit float.
    fn holds_doubtful_number(&self) -> bool {
        match self {
            Json::Number(text) => {
                let f: f64 = text.parse().unwrap_or(f64::INFINITY);
                !f.is_finite() || (f == 0.0 && text.starts_with('-'))
            }
            Json::Array(items) => items.iter().any(Json::holds_doubtful_number),
            Json::Object(members) => members.iter().any(|(_, v)| v.holds_doubtful_number()),
            _ => false,
        }
    }

    /// The string, for a string.
    pub fn str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }
}

struct Reader<'a> {
    text: &'a [u8],
    at: usize,
    doubtful: bool,
}

impl Reader<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    fn space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn literal(&mut self, word: &[u8], value: Json) -> Option<Json> {
        if self.text[self.at..].starts_with(word) {
            self.at += word.len();
            Some(value)
        } else {
            None
        }
    }

    fn value(&mut self, depth: usize) -> Option<Json> {
        match self.peek()? {
            b'n' => self.literal(b"null", Json::Null),
            b't' => self.literal(b"true", Json::Bool(true)),
            b'f' => self.literal(b"false", Json::Bool(false)),
            b'"' => self.string().map(Json::String),
            b'[' | b'{' if depth >= MAX_DEPTH => {
                self.doubtful = true;
                None
            }
            b'[' => {
                self.at += 1;
                let mut items = Vec::new();
                self.space();
                if self.peek() == Some(b']') {
                    self.at += 1;
                    return Some(Json::Array(items));
                }
                loop {
                    self.space();
                    items.push(self.value(depth + 1)?);
                    self.space();
                    match self.peek()? {
                        b',' => self.at += 1,
                        b']' => {
                            self.at += 1;
                            return Some(Json::Array(items));
                        }
                        _ => return None,
                    }
                }
            }
            b'{' => {
                self.at += 1;
                let mut members = Vec::new();
                self.space();
                if self.peek() == Some(b'}') {
                    self.at += 1;
                    return Some(Json::Object(members));
                }
                loop {
                    self.space();
                    if self.peek()? != b'"' {
                        return None;
                    }
                    let key = self.string()?;
                    self.space();
                    if self.peek()? != b':' {
                        return None;
                    }
                    self.at += 1;
                    self.space();
                    members.push((key, self.value(depth + 1)?));
                    self.space();
                    match self.peek()? {
                        b',' => self.at += 1,
                        b'}' => {
                            self.at += 1;
                            return Some(Json::Object(members));
                        }
                        _ => return None,
                    }
                }
            }
            b'-' | b'0'..=b'9' => self.number().map(Json::Number),
            _ => None,
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.at;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.at += 1;
        }
        self.at - start
    }

    fn number(&mut self) -> Option<String> {
        let start = self.at;
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        match self.peek()? {
            b'0' => self.at += 1,
            b'1'..=b'9' => {
                self.digits();
            }
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            if self.digits() == 0 {
                return None;
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.at += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.at += 1;
            }
            if self.digits() == 0 {
                return None;
            }
        }
        String::from_utf8(self.text[start..self.at].to_vec()).ok()
    }

    fn hex4(&mut self) -> Option<u32> {
        let hex = self.text.get(self.at..self.at + 4)?;
        let text = std::str::from_utf8(hex).ok()?;
        if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        self.at += 4;
        u32::from_str_radix(text, 16).ok()
    }

    fn string(&mut self) -> Option<String> {
        self.at += 1; // the opening quote
        let mut out = String::new();
        loop {
            let b = self.peek()?;
            match b {
                b'"' => {
                    self.at += 1;
                    return Some(out);
                }
                b'\\' => {
                    self.at += 1;
                    let escape = self.peek()?;
                    self.at += 1;
                    match escape {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let unit = self.hex4()?;
                            let pair = self.text[self.at..].starts_with(b"\\u")
                                && (0xD800..=0xDBFF).contains(&unit);
                            let low = if pair {
                                let at = self.at;
                                self.at += 2;
                                match self.hex4() {
                                    Some(low @ 0xDC00..=0xDFFF) => Some(low),
                                    Some(_) => {
                                        self.at = at; // another escape: read on its own
                                        None
                                    }
                                    None => return None,
                                }
                            } else {
                                None
                            };
                            let c = match (unit, low) {
                                (_, Some(low)) => {
                                    0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                                }
                                (0xD800..=0xDFFF, None) => {
                                    // A lone surrogate: JSON, but no character.
                                    self.doubtful = true;
                                    0xFFFD
                                }
                                (other, None) => other,
                            };
                            out.push(char::from_u32(c)?);
                        }
                        _ => return None,
                    }
                }
                0x00..=0x1f => return None,
                _ => {
                    // One UTF-8 character (the whole text is valid UTF-8).
                    let len = match b {
                        0x00..=0x7f => 1,
                        0xc0..=0xdf => 2,
                        0xe0..=0xef => 3,
                        _ => 4,
                    };
                    let bytes = self.text.get(self.at..self.at + len)?;
                    out.push_str(std::str::from_utf8(bytes).ok()?);
                    self.at += len;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &str) -> Json {
        match read(text.as_bytes()) {
            Read::Value(v) => v,
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn reads_json_as_written() {
        let v =
            value(r#" {"a": [1, -0.5e+3, "\u00e9\ud83d\ude00\n"], "a": null, "b": {"c": true}} "#);
        assert_eq!(v.count("a"), 2);
        assert_eq!(v.field("a"), None, "named twice");
        assert!(v.repeats_a_key());
        assert_eq!(v.field("b").unwrap().field("c"), Some(&Json::Bool(true)));
        assert_eq!(v.keys(), ["a", "a", "b"]);
        let Json::Object(members) = &v else { panic!() };
        assert_eq!(
            members[0].1,
            Json::Array(vec![
                Json::Number("1".into()),
                Json::Number("-0.5e+3".into()),
                Json::String("é😀\n".into())
            ])
        );
        assert_eq!(value("12").integer(), Some(12));
        for doubtful in ["-0", "-0.0", "1e999", r#""\ud800""#, r#"["\udc00x"]"#] {
            assert!(
                matches!(read(doubtful.as_bytes()), Read::Doubtful),
                "{doubtful}"
            );
        }
        assert!(matches!(read(b"{\"a\": \"\xff\"}"), Read::Doubtful));
        assert_eq!(value("1.0").integer(), None);
        assert_eq!(value("99999999999999999999").integer(), None);
    }

    #[test]
    fn refuses_what_is_not_json() {
        for bad in [
            "",
            "01",
            "1.",
            "-",
            "[1,]",
            "{\"a\"}",
            "{\"a\":1,}",
            "\"\\x\"",
            "\"a\tb\"",
            "tru",
            "[1] 2",
            "{'a':1}",
            "NaN",
        ] {
            assert!(matches!(read(bad.as_bytes()), Read::Invalid), "{bad:?}");
        }
        assert!(
            matches!(read(b"\xff"), Read::Doubtful),
            "lossy, then no JSON: no verdict"
        );
        let deep = format!("{}{}", "[".repeat(150), "]".repeat(150));
        assert!(matches!(read(deep.as_bytes()), Read::Doubtful));
    }
}
