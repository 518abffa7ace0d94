//! JSON text walked in one pass without being decoded: checked against JSON's grammar
//! (RFC 8259), with the byte range of every value the walk is asked for, and nothing
//! decoded or copied of the values it only steps over.
//!
//! A caller that needs both the exact text of each element of a large array and a few
//! members of each (a page of thousands of records, each handed on as sent and read for
//! one field) walks it once with a [`Scanner`]. `serde_json` gives either the text of a
//! value (`RawValue`, which skips it) or its members (which decodes it), never both in one
//! pass, so such a page costs it a pass for the text and another for the members.
//!
//! What is accepted is what `serde_json` accepts when it steps over a value (any depth of
//! nesting, any number that fits the grammar, any `\u` escape of four hex digits, a lone
//! surrogate included), except that strings must be UTF-8, as RFC 8259 says every JSON
//! text is; `serde_json` checks that only of the strings it decodes. A text the walk
//! accepted is therefore UTF-8 throughout, and so is each value's range of it.
//!
//! ```
//! use atlas_runtime::scan::{Scanner, check};
//!
//! assert!(check(br#"{"a": [1, -2.5e3, "x\"y", null, {}]}"#).is_ok());
//! assert!(check(br#"{"a": 01}"#).is_err());
//!
//! // The text of each element of `items`, and each one's `id`.
//! let text = br#"{"items": [{"id": "a", "n": [1]}, {"n": 2, "id": "b"}]}"#;
//! let mut scan = Scanner::new(text);
//! scan.enter_object()?;
//! let mut found = Vec::new();
//! while let Some(key) = scan.next_key()? {
//!     if key.is(text, "items") {
//!         scan.enter_array()?;
//!         while scan.next_element()? {
//!             let start = scan.value_start()?;
//!             scan.enter_object()?;
//!             let mut id = None;
//!             while let Some(key) = scan.next_key()? {
//!                 if key.is(text, "id") {
//!                     id = Some(scan.string()?);
//!                 } else {
//!                     scan.skip_value()?;
//!                 }
//!             }
//!             found.push((&text[start..scan.position()], id.map(|r| &text[r])));
//!         }
//!     } else {
//!         scan.skip_value()?;
//!     }
//! }
//! scan.end()?;
//! assert_eq!(found[1], (&br#"{"n": 2, "id": "b"}"#[..], Some(&b"b"[..])));
//! # Ok::<(), atlas_runtime::scan::ScanError>(())
//! ```

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

/// Why a text is not JSON, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScanError {
    at: usize,
    reason: &'static str,
}

impl ScanError {
    /// The byte offset at which the text stopped being JSON.
    pub fn offset(&self) -> usize {
        self.at
    }

    /// What was wrong there.
    pub fn reason(&self) -> &'static str {
        self.reason
    }
}

impl fmt::Display for ScanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.reason, self.at)
    }
}

impl std::error::Error for ScanError {}

/// Checks that `text` is one JSON value with nothing but whitespace around it.
///
/// # Errors
///
/// It is not; the error says where and why.
pub fn check(text: &[u8]) -> Result<(), ScanError> {
    let mut scan = Scanner::new(text);
    scan.skip_value()?;
    scan.end()
}

/// A key of an object: the range of its text between the quotes, escapes as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Key(Range<usize>);

impl Key {
    /// Where the key's text is, between the quotes.
    pub fn range(&self) -> Range<usize> {
        self.0.clone()
    }

    /// Whether the key, unescaped, is `name` (`text` being the text scanned).
    pub fn is(&self, text: &[u8], name: &str) -> bool {
        let raw = &text[self.0.clone()];
        // A key that starts with neither an escape nor `name`'s first byte is not `name`.
        if raw.first() != name.as_bytes().first() && raw.first() != Some(&b'\\') {
            return false;
        }
        // An escape is longer written than read: a key written no longer than `name` is
        // `name` only as written, without one.
        match raw.len().cmp(&name.len()) {
            std::cmp::Ordering::Less => false,
            std::cmp::Ordering::Equal => raw == name.as_bytes() && !name.contains('\\'),
            std::cmp::Ordering::Greater => {
                raw.contains(&b'\\') && unescape(raw).is_ok_and(|key| key == name)
            }
        }
    }
}

/// The text of a JSON string, as scanned (between its quotes), unescaped: borrowed when it
/// has no escape.
///
/// # Errors
///
/// It is not UTF-8, or an escape names a lone surrogate.
pub fn unescape(raw: &[u8]) -> Result<Cow<'_, str>, serde_json::Error> {
    if !raw.contains(&b'\\') {
        return std::str::from_utf8(raw)
            .map(Cow::Borrowed)
            .map_err(|_| serde::de::Error::custom("a string is not UTF-8"));
    }
    let mut quoted = Vec::with_capacity(raw.len() + 2);
    quoted.push(b'"');
    quoted.extend_from_slice(raw);
    quoted.push(b'"');
    serde_json::from_slice::<String>(&quoted).map(Cow::Owned)
}

/// A walk through a JSON text, one value after another. Every method checks what it
/// steps over; after an error the walk is over.
#[derive(Clone, Debug)]
pub struct Scanner<'a> {
    text: &'a [u8],
    at: usize,
    /// Whether the innermost container entered has had no member or element yet.
    first: bool,
}

/// What a byte is inside a string.
const PLAIN: u8 = 0;
const QUOTE: u8 = 1;
const BACKSLASH: u8 = 2;
const CONTROL: u8 = 3;
const NOT_ASCII: u8 = 4;

static IN_STRING: [u8; 256] = {
    let mut table = [PLAIN; 256];
    let mut byte = 0;
    while byte < 0x20 {
        table[byte] = CONTROL;
        byte += 1;
    }
    table[b'"' as usize] = QUOTE;
    table[b'\\' as usize] = BACKSLASH;
    let mut byte = 0x80;
    while byte < 0x100 {
        table[byte] = NOT_ASCII;
        byte += 1;
    }
    table
};

/// The length of the UTF-8 sequence at the start of `bytes`, if one is there.
fn utf8_sequence(bytes: &[u8]) -> Option<usize> {
    let width = match bytes.first()? {
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => return None,
    };
    std::str::from_utf8(bytes.get(..width)?).ok()?;
    Some(width)
}

/// Where stepping over a string's bytes in chunks stopped.
enum Skipped {
    /// At the string's closing quote.
    Closed(usize),
    /// Inside the string, at the start of bytes for the byte-by-byte loop (never within an
    /// escape).
    Open(usize),
}

/// Strings stepped over 32 bytes at a time with SSE2 (on every x86-64 processor): the
/// strings an answer carries can be JSON themselves, an escaped quote every few bytes,
/// which a byte-by-byte loop pays a branch for each. `serde_json` and the `memchr` crate
/// stop at every escape the same way, so this is written out here.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod chunks {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_max_epu8, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };

    use super::Skipped;

    /// The bytes of a block, as two chunks of sixteen.
    #[derive(Clone, Copy)]
    struct Block(__m128i, __m128i);

    impl Block {
        /// A mask of the block's bytes `test` marks, one bit per byte, the first lowest.
        #[target_feature(enable = "sse2")]
        fn mask(self, test: impl Fn(__m128i) -> __m128i) -> u32 {
            let low = _mm_movemask_epi8(test(self.0)) as u32 & 0xffff;
            let high = _mm_movemask_epi8(test(self.1)) as u32 & 0xffff;
            low | high << 16
        }
    }

    /// The bytes of `chunk` equal to `byte`, as all ones.
    #[target_feature(enable = "sse2")]
    fn equal(chunk: __m128i, byte: u8) -> __m128i {
        _mm_cmpeq_epi8(chunk, _mm_set1_epi8(byte as i8))
    }

    /// Steps from `i`, inside a string and not within an escape, over whole blocks of
    /// plain ASCII bytes and escapes of one character (`\"`, `\\`, `\/`, `\b`, `\f`, `\n`,
    /// `\r`, `\t`), to the closing quote, or to a place before the first block holding
    /// anything else (a `\u` escape, a backslash escaping a backslash within a block, a
    /// control character, an invalid escape, a byte beyond ASCII) or too near the text's
    /// end, not within an escape.
    pub(super) fn skip(text: &[u8], i: usize) -> Skipped {
        // SAFETY: this module is built only where SSE2 is enabled for the whole program
        // (`target_feature = "sse2"`, part of every x86-64 target's baseline).
        unsafe { skip_sse2(text, i) }
    }

    #[target_feature(enable = "sse2")]
    fn skip_sse2(text: &[u8], mut i: usize) -> Skipped {
        // 1 when the block's first byte is escaped: the block before ended in a backslash
        // that began an escape. The byte-by-byte loop then takes over at that backslash.
        let mut carry = 0u32;
        while i + 32 <= text.len() {
            // SAFETY: `i + 32 <= text.len()`, so the bytes read are `text`'s; the loads
            // take any alignment.
            let block = unsafe {
                let at = text.as_ptr().add(i);
                Block(
                    _mm_loadu_si128(at.cast::<__m128i>()),
                    _mm_loadu_si128(at.add(16).cast::<__m128i>()),
                )
            };
            let backslashes = block.mask(|c| equal(c, b'\\'));
            // Backslashes that begin an escape: all but one escaped by the block before.
            let escapes = backslashes & !carry;
            if escapes & (escapes >> 1) != 0 {
                return Skipped::Open(i - carry as usize);
            }
            let escaped = escapes << 1 | carry;
            let quotes = block.mask(|c| equal(c, b'"'));
            // Bytes up to 0x1f: those whose unsigned maximum with 0x1f is 0x1f.
            let controls = block.mask(|c| equal(_mm_max_epu8(c, _mm_set1_epi8(0x1f)), 0x1f));
            // A byte beyond ASCII is its own mask's bit: the careful loop checks its UTF-8.
            let beyond_ascii = block.mask(|c| c);
            // Escaped quotes are the common escape; any other is checked to be simple.
            let others = escaped & !quotes;
            let invalid = if others == 0 {
                0
            } else {
                others
                    & !block.mask(|c| {
                        [b'/', b'b', b'f', b'n', b'r', b't']
                            .into_iter()
                            .fold(equal(c, b'\\'), |mask, byte| {
                                _mm_or_si128(mask, equal(c, byte))
                            })
                    })
            };
            let closing = quotes & !escaped;
            let trouble = controls | beyond_ascii | invalid;
            let stop = closing | trouble;
            if stop == 0 {
                i += 32;
                carry = escapes >> 31;
                continue;
            }
            let first = stop.trailing_zeros();
            if closing & (1 << first) != 0 {
                return Skipped::Closed(i + first as usize);
            }
            return Skipped::Open(i - carry as usize);
        }
        Skipped::Open(i - carry as usize)
    }
}

/// Elsewhere, strings are stepped over byte by byte.
#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
mod chunks {
    use super::Skipped;

    pub(super) fn skip(_text: &[u8], i: usize) -> Skipped {
        Skipped::Open(i)
    }
}

impl<'a> Scanner<'a> {
    /// A walk from the start of `text`.
    pub fn new(text: &'a [u8]) -> Self {
        Self {
            text,
            at: 0,
            first: false,
        }
    }

    /// The byte offset the walk has reached.
    pub fn position(&self) -> usize {
        self.at
    }

    fn error(&self, reason: &'static str) -> ScanError {
        ScanError {
            at: self.at,
            reason,
        }
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.text.get(self.at) {
            self.at += 1;
        }
    }

    /// Steps over whitespace to the next value and gives its offset.
    ///
    /// # Errors
    ///
    /// The text ends there.
    pub fn value_start(&mut self) -> Result<usize, ScanError> {
        self.skip_whitespace();
        if self.at < self.text.len() {
            Ok(self.at)
        } else {
            Err(self.error("the text ends where a value should be"))
        }
    }

    fn expect(&mut self, byte: u8, reason: &'static str) -> Result<(), ScanError> {
        self.skip_whitespace();
        if self.text.get(self.at) == Some(&byte) {
            self.at += 1;
            Ok(())
        } else {
            Err(self.error(reason))
        }
    }

    /// Enters the object that comes next; its members follow with [`Scanner::next_key`].
    ///
    /// # Errors
    ///
    /// The next value is not an object.
    pub fn enter_object(&mut self) -> Result<(), ScanError> {
        self.expect(b'{', "expected an object")?;
        self.first = true;
        Ok(())
    }

    /// The next key of the object entered (the walk then stands before its value, which
    /// the caller reads or skips), or `None` at its end (the walk then stands after it).
    ///
    /// # Errors
    ///
    /// The object is malformed.
    pub fn next_key(&mut self) -> Result<Option<Key>, ScanError> {
        self.skip_whitespace();
        match self.text.get(self.at) {
            Some(b'}') => {
                self.at += 1;
                self.first = false;
                return Ok(None);
            }
            Some(b',') if !self.first => {
                self.at += 1;
                self.skip_whitespace();
            }
            _ if self.first => {}
            _ => return Err(self.error("expected ',' or '}' after a member")),
        }
        self.first = false;
        if self.text.get(self.at) != Some(&b'"') {
            return Err(self.error("expected a key"));
        }
        let key = self.string()?;
        self.expect(b':', "expected ':' after a key")?;
        Ok(Some(Key(key)))
    }

    /// Enters the array that comes next; its elements follow with
    /// [`Scanner::next_element`].
    ///
    /// # Errors
    ///
    /// The next value is not an array.
    pub fn enter_array(&mut self) -> Result<(), ScanError> {
        self.expect(b'[', "expected an array")?;
        self.first = true;
        Ok(())
    }

    /// Whether another element of the array entered follows (the walk then stands before
    /// it, and the caller reads or skips it); at its end, `false`, the walk after it.
    ///
    /// # Errors
    ///
    /// The array is malformed.
    pub fn next_element(&mut self) -> Result<bool, ScanError> {
        self.skip_whitespace();
        match self.text.get(self.at) {
            Some(b']') => {
                self.at += 1;
                self.first = false;
                Ok(false)
            }
            Some(b',') if !self.first => {
                self.at += 1;
                Ok(true)
            }
            _ if self.first => {
                self.first = false;
                Ok(true)
            }
            _ => Err(self.error("expected ',' or ']' after an element")),
        }
    }

    /// Checks that only whitespace is left.
    ///
    /// # Errors
    ///
    /// Something else follows.
    pub fn end(&mut self) -> Result<(), ScanError> {
        self.skip_whitespace();
        if self.at == self.text.len() {
            Ok(())
        } else {
            Err(self.error("trailing characters after the value"))
        }
    }

    /// Reads the string that comes next: the range of its text between the quotes,
    /// escapes as written.
    ///
    /// # Errors
    ///
    /// The next value is not a string, or the string is malformed.
    pub fn string(&mut self) -> Result<Range<usize>, ScanError> {
        self.string_with(chunks::skip)
    }

    /// [`Scanner::string`], whole chunks stepped over by `skip`.
    fn string_with(
        &mut self,
        skip: impl Fn(&[u8], usize) -> Skipped,
    ) -> Result<Range<usize>, ScanError> {
        self.skip_whitespace();
        if self.text.get(self.at) != Some(&b'"') {
            return Err(self.error("expected a string"));
        }
        let text = self.text;
        let start = self.at + 1;
        let mut i = start;
        loop {
            // A block at a time while they hold nothing but plain bytes and simple escapes;
            // the byte-by-byte loop below takes over for at least a block's length where
            // they hold anything else, and at the text's end.
            match skip(text, i) {
                Skipped::Closed(quote) => {
                    self.at = quote + 1;
                    return Ok(start..quote);
                }
                Skipped::Open(at) => i = at,
            }
            let careful_until = i + 32;
            while i < careful_until {
                while let Some(&byte) = text.get(i) {
                    if IN_STRING[usize::from(byte)] != PLAIN {
                        break;
                    }
                    i += 1;
                }
                match text.get(i).map(|&byte| IN_STRING[usize::from(byte)]) {
                    Some(QUOTE) => {
                        self.at = i + 1;
                        return Ok(start..i);
                    }
                    Some(BACKSLASH) => match text.get(i + 1) {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => i += 2,
                        Some(b'u')
                            if text
                                .get(i + 2..i + 6)
                                .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit)) =>
                        {
                            i += 6;
                        }
                        _ => {
                            self.at = i;
                            return Err(self.error("invalid escape in a string"));
                        }
                    },
                    Some(NOT_ASCII) => match utf8_sequence(&text[i..]) {
                        Some(width) => i += width,
                        None => {
                            self.at = i;
                            return Err(self.error("a string is not UTF-8"));
                        }
                    },
                    Some(_) => {
                        self.at = i;
                        return Err(self.error("a control character in a string"));
                    }
                    None => {
                        self.at = i;
                        return Err(self.error("the text ends inside a string"));
                    }
                }
            }
        }
    }

    /// Reads `null` if it comes next.
    ///
    /// # Errors
    ///
    /// What comes next starts like `null` but is not.
    pub fn null(&mut self) -> Result<bool, ScanError> {
        self.skip_whitespace();
        if self.text.get(self.at) == Some(&b'n') {
            self.literal(b"null")?;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    fn literal(&mut self, word: &[u8]) -> Result<(), ScanError> {
        if self.text[self.at..].starts_with(word) {
            self.at += word.len();
            Ok(())
        } else {
            Err(self.error("expected a value"))
        }
    }

    fn digits(&mut self) -> usize {
        let from = self.at;
        while self.text.get(self.at).is_some_and(u8::is_ascii_digit) {
            self.at += 1;
        }
        self.at - from
    }

    fn number(&mut self) -> Result<(), ScanError> {
        if self.text.get(self.at) == Some(&b'-') {
            self.at += 1;
        }
        match self.text.get(self.at) {
            Some(b'0') => self.at += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(self.error("expected a digit")),
        }
        if self.text.get(self.at) == Some(&b'.') {
            self.at += 1;
            if self.digits() == 0 {
                return Err(self.error("expected a digit after the decimal point"));
            }
        }
        if let Some(b'e' | b'E') = self.text.get(self.at) {
            self.at += 1;
            if let Some(b'+' | b'-') = self.text.get(self.at) {
                self.at += 1;
            }
            if self.digits() == 0 {
                return Err(self.error("expected a digit in the exponent"));
            }
        }
        if self
            .text
            .get(self.at)
            .is_some_and(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
        {
            return Err(self.error("a malformed number"));
        }
        Ok(())
    }

    fn scalar(&mut self) -> Result<(), ScanError> {
        match self.text.get(self.at) {
            Some(b'"') => self.string().map(drop),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.error("expected a value")),
            None => Err(self.error("the text ends where a value should be")),
        }
    }

    /// Steps over the value that comes next, checking it, and gives its range.
    ///
    /// # Errors
    ///
    /// The value is malformed.
    pub fn skip_value(&mut self) -> Result<Range<usize>, ScanError> {
        let start = self.value_start()?;
        if !matches!(self.text[start], b'{' | b'[') {
            self.scalar()?;
            return Ok(start..self.at);
        }
        // The containers open, innermost last (`true` for an object); kept as a stack
        // rather than walked by recursion, so that no depth exhausts the thread's stack.
        let mut open: Vec<bool> = Vec::new();
        loop {
            self.skip_whitespace();
            match self.text.get(self.at) {
                Some(b'{') => {
                    self.at += 1;
                    self.skip_whitespace();
                    if self.text.get(self.at) == Some(&b'}') {
                        self.at += 1;
                    } else {
                        open.push(true);
                        self.member_key()?;
                        continue;
                    }
                }
                Some(b'[') => {
                    self.at += 1;
                    self.skip_whitespace();
                    if self.text.get(self.at) == Some(&b']') {
                        self.at += 1;
                    } else {
                        open.push(false);
                        continue;
                    }
                }
                _ => self.scalar()?,
            }
            // After a value: close what ends here, then go on to the next value.
            loop {
                let Some(&object) = open.last() else {
                    return Ok(start..self.at);
                };
                self.skip_whitespace();
                match self.text.get(self.at) {
                    Some(b',') => {
                        self.at += 1;
                        if object {
                            self.member_key()?;
                        }
                        break;
                    }
                    Some(b'}') if object => {
                        self.at += 1;
                        open.pop();
                    }
                    Some(b']') if !object => {
                        self.at += 1;
                        open.pop();
                    }
                    _ if object => return Err(self.error("expected ',' or '}' after a member")),
                    _ => return Err(self.error("expected ',' or ']' after an element")),
                }
            }
        }
    }

    /// A member's key and its colon.
    fn member_key(&mut self) -> Result<(), ScanError> {
        self.skip_whitespace();
        if self.text.get(self.at) != Some(&b'"') {
            return Err(self.error("expected a key"));
        }
        self.string()?;
        self.expect(b':', "expected ':' after a key")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether serde_json accepts the text when it steps over it, and it is UTF-8.
    fn serde_accepts(text: &[u8]) -> bool {
        serde_json::from_slice::<serde::de::IgnoredAny>(text).is_ok()
            && std::str::from_utf8(text).is_ok()
    }

    #[test]
    fn accepts_and_refuses_what_serde_json_does_when_it_steps_over_a_value() {
        let cases: &[&[u8]] = &[
            b"0",
            b"-0",
            b"-",
            b"01",
            b"1.",
            b"1.5e",
            b"1e+9",
            b"1E-0",
            b"-1.25e300",
            b"1e99999",
            b"123456789012345678901234567890",
            b"+1",
            b".5",
            b"true",
            b"tru",
            b"nul",
            b"null ",
            b" null x",
            b"\"\"",
            b"\"a\\\"b\"",
            b"\"\\u00e9\\ud800\"",
            b"\"\\u00g9\"",
            b"\"\\x\"",
            b"\"tab\there\"",
            b"\"unterminated",
            b"\"\\",
            b"[]",
            b"[ ]",
            b"[1,]",
            b"[,1]",
            b"[1 2]",
            b"[[[[[[]]]]]]",
            b"{}",
            b"{ }",
            b"{\"a\":1,}",
            b"{\"a\" 1}",
            b"{1:1}",
            b"{\"a\":1 \"b\":2}",
            b"{\"a\":[{\"b\":{}}],\"c\":[1,{\"d\":null}]}",
            b"{\"a\":[}",
            b"[{]",
            b"",
            b"   ",
            b"1 2",
            b"\xef\xbb\xbf{}",
            b"\"\xff\"",
            b"{\"a\":\"\xe9\"}",
            b"\"\xed\xa0\x80\"",
            b"\"\xf0\x9f\xa6\x80\"",
            b"\"\xf0\x9f\xa6\"",
            b"\"\xc0\xaf\"",
        ];
        for case in cases {
            assert_eq!(
                check(case).is_ok(),
                serde_accepts(case),
                "{}: {:?}",
                String::from_utf8_lossy(case),
                check(case)
            );
        }
    }

    /// `text`, an array whose first element is a string, is accepted as `serde_json` accepts
    /// it (and only if it is UTF-8), and its string is read by blocks as byte by byte.
    fn read_alike(text: &[u8]) {
        let serde = serde_json::from_slice::<serde::de::IgnoredAny>(text);
        assert_eq!(
            check(text).is_ok(),
            serde.is_ok() && std::str::from_utf8(text).is_ok(),
            "{}: {serde:?}",
            String::from_utf8_lossy(text)
        );
        let read = |skip: &dyn Fn(&[u8], usize) -> Skipped| {
            let mut scan = Scanner::new(text);
            scan.enter_array().unwrap();
            assert!(scan.next_element().unwrap());
            scan.string_with(skip)
        };
        assert_eq!(
            read(&chunks::skip),
            read(&|_, i| Skipped::Open(i)),
            "{}",
            String::from_utf8_lossy(text)
        );
    }

    #[test]
    fn long_strings_agree_with_serde_json_whatever_falls_where() {
        let events: &[&[u8]] = &[
            b"\\\"",
            b"\\\\",
            b"\\\\\\\"",
            b"\\/\\b\\f\\n\\r\\t",
            b"\\u00e9",
            b"\\ud800",
            b"\\u00g9",
            b"\\x",
            b"\\",
            b"\x01",
            b"\x1f",
            b"\t",
            b"\x7f\xc3\xa9",
            b"\xe2\x82\xac\xf0\x9f\xa6\x80",
            b"\xc3",
            b"\xe2\x82",
            b"\xff",
            b"\"",
            b"",
            b"\\\"\\\"\\\"\\\"",
            b"\\\\\\\\",
            b"\\\\\\u00e9",
            b"\\\"\\x",
        ];
        for event in events {
            for before in 0..72 {
                for after in [0, 1, 7, 15, 16, 17, 31, 32, 33, 63, 64, 65] {
                    let mut text = b"[\"".to_vec();
                    text.extend(std::iter::repeat_n(b'a', before));
                    text.extend_from_slice(event);
                    text.extend(std::iter::repeat_n(b'b', after));
                    text.extend_from_slice(b"\",1]");
                    let serde = serde_json::from_slice::<serde::de::IgnoredAny>(&text);
                    read_alike(&text);
                    let mut unclosed = text.clone();
                    unclosed.truncate(text.len() - 4);
                    assert!(check(&unclosed).is_err());
                    if serde.is_ok() && std::str::from_utf8(&text).is_ok() {
                        let mut scan = Scanner::new(&text);
                        scan.enter_array().unwrap();
                        assert!(scan.next_element().unwrap());
                        let range = scan.string().unwrap();
                        let unescaped = unescape(&text[range]);
                        match serde_json::from_slice::<(String, u8)>(&text) {
                            Ok((value, _)) => assert_eq!(unescaped.unwrap(), value),
                            Err(_) => assert!(unescaped.is_err()),
                        }
                    }
                }
            }
        }
    }

    /// Strings of many escapes, falling anywhere across blocks, read by blocks as the
    /// byte-by-byte loop reads them.
    #[test]
    fn strings_of_many_escapes_read_alike_by_blocks_and_byte_by_byte() {
        let pieces: &[&[u8]] = &[
            b"a",
            b"a",
            b"a",
            b"a",
            b"\\\"",
            b"\\\"",
            b"\\\\",
            b"\\/",
            b"\\n",
            b"\\u00e9",
            b"\xc3\xa9",
            b"\x01",
            b"\\",
            b"\"",
            b"\\q",
        ];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        for _ in 0..16_000 {
            let mut text = b"[\"".to_vec();
            // Mostly plain strings with escapes, now and then anything.
            let plain = next(4) != 0;
            for _ in 0..next(120) {
                let piece = if plain {
                    pieces[next(8)]
                } else {
                    pieces[next(pieces.len())]
                };
                text.extend_from_slice(piece);
            }
            text.extend_from_slice(b"\",1]");
            read_alike(&text);
        }
    }

    #[test]
    fn any_depth_is_walked_without_recursion() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(check(deep.as_bytes()).is_ok());
        assert!(check(&deep.as_bytes()[..deep.len() - 1]).is_err());
    }

    #[test]
    fn errors_say_where() {
        let error = check(br#"{"a": [1, 2,, 3]}"#).unwrap_err();
        assert_eq!(error.offset(), 12);
        assert_eq!(error.to_string(), "expected a value at byte 12");
    }

    #[test]
    fn keys_compare_unescaped() {
        let text = br#"{"acc\u0065ss": 1, "plain": 2, "\u0061b": 3, "": 4}"#;
        let mut scan = Scanner::new(text);
        scan.enter_object().unwrap();
        let first = scan.next_key().unwrap().unwrap();
        assert!(first.is(text, "access"));
        assert!(!first.is(text, "acc\\u0065ss"));
        assert_eq!(scan.skip_value().unwrap(), 16..17);
        let second = scan.next_key().unwrap().unwrap();
        assert!(second.is(text, "plain"));
        assert!(!second.is(text, "plai"));
        scan.skip_value().unwrap();
        let third = scan.next_key().unwrap().unwrap();
        assert!(third.is(text, "ab"));
        assert!(!third.is(text, "b") && !third.is(text, "") && !third.is(text, "\\u0061b"));
        scan.skip_value().unwrap();
        let fourth = scan.next_key().unwrap().unwrap();
        assert!(fourth.is(text, "") && !fourth.is(text, "a"));
        scan.skip_value().unwrap();
        assert_eq!(scan.next_key().unwrap(), None);
        scan.end().unwrap();
    }

    #[test]
    fn unescaping_borrows_unless_it_must_not() {
        assert!(matches!(unescape(b"plain"), Ok(Cow::Borrowed("plain"))));
        assert_eq!(unescape(br#"a\"b\u00e9"#).unwrap(), "a\"b\u{e9}");
        assert!(unescape(br"\ud800").is_err());
        assert!(unescape(b"\xff").is_err());
    }

    #[test]
    fn elements_and_members_in_turn() {
        let text = br#" [ {"a": "x"} , null , [1] ] "#;
        let mut scan = Scanner::new(text);
        scan.enter_array().unwrap();
        let mut seen = Vec::new();
        while scan.next_element().unwrap() {
            let range = scan.skip_value().unwrap();
            seen.push(&text[range]);
        }
        scan.end().unwrap();
        assert_eq!(seen, [&br#"{"a": "x"}"#[..], b"null", b"[1]"]);

        let mut scan = Scanner::new(b"[1,]");
        scan.enter_array().unwrap();
        assert!(scan.next_element().unwrap());
        scan.skip_value().unwrap();
        assert!(scan.next_element().unwrap());
        assert!(scan.skip_value().is_err());

        let mut scan = Scanner::new(br#"{"a":1,}"#);
        scan.enter_object().unwrap();
        scan.next_key().unwrap();
        scan.skip_value().unwrap();
        assert!(scan.next_key().is_err());
        assert!(Scanner::new(b"[]").enter_object().is_err());
    }

    #[test]
    fn null_is_read_only_when_it_is_there() {
        let mut scan = Scanner::new(b"null");
        assert!(scan.null().unwrap());
        scan.end().unwrap();
        assert!(!Scanner::new(b"\"x\"").null().unwrap());
        assert!(Scanner::new(b"nil").null().is_err());
    }
}
