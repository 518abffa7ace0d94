//! JSON read as its schema shapes it. serde's derived `Deserialize` for a struct takes a
//! JSON array as well as an object (the fields by position), so plain `serde_json` reads
//! `[400, "X"]` as `{"error": 400, "errorCode": "X"}` and `[["..."]]` as a page. Every
//! decoder of outside bytes (answers, error bodies, the files a program keeps)
//! reads through [`from_slice`] or [`from_str`], which refuse an array, or anything else
//! that is not an object, where a struct belongs, at any depth. Unknown fields and values
//! are as the types say (they are accepted unless a type denies them).
//!
//! `serde_json` has no switch for this and no maintained crate offers one, so this module
//! holds a small adapter: a deserializer that forwards every call to `serde_json`'s and
//! wraps every nested value the same way, except that a struct's visitor refuses a
//! sequence. `serde_json`'s own private types (`RawValue`) pass through untouched.
//!
//! [`unique_keys`] refuses objects that name a key twice (which `serde_json` otherwise
//! resolves silently, the last one winning), for files that must be read exactly as
//! written.
//!
//! ```
//! #[derive(serde::Deserialize, Debug)]
//! struct Error { error: i64, #[serde(rename = "errorCode")] error_code: String }
//!
//! assert!(serde_json::from_str::<Error>(r#"[404, "X"]"#).is_ok()); // serde's reading
//! assert!(atlas_runtime::strict::from_str::<Error>(r#"[404, "X"]"#).is_err());
//! assert!(atlas_runtime::strict::from_str::<Error>(r#"{"error": 404, "errorCode": "X"}"#).is_ok());
//! assert!(atlas_runtime::strict::unique_keys(br#"{"a": 1, "b": {"c": 2, "c": 3}}"#).is_err());
//! ```

use std::collections::HashSet;
use std::fmt;

use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, Error as _, MapAccess, SeqAccess, Unexpected,
    VariantAccess, Visitor,
};

/// Decodes `bytes` as one `T`, structs from JSON objects only, at any depth.
///
/// # Errors
///
/// The bytes are not JSON, not one value, or not of `T`'s shape.
pub fn from_slice<'de, T: de::Deserialize<'de>>(bytes: &'de [u8]) -> serde_json::Result<T> {
    let mut json = serde_json::Deserializer::from_slice(bytes);
    let value = T::deserialize(Strict(&mut json))?;
    json.end()?;
    Ok(value)
}

/// [`from_slice`] for text.
///
/// # Errors
///
/// As for [`from_slice`].
pub fn from_str<'de, T: de::Deserialize<'de>>(text: &'de str) -> serde_json::Result<T> {
    from_slice(text.as_bytes())
}

/// Checks that no object in the JSON text `bytes` names a key twice, at any depth.
///
/// # Errors
///
/// The bytes are not JSON, or an object repeats a key (the error names it).
pub fn unique_keys(bytes: &[u8]) -> serde_json::Result<()> {
    serde_json::from_slice::<UniqueKeys>(bytes).map(drop)
}

/// A JSON value walked only to check its objects' keys.
struct UniqueKeys;

impl<'de> de::Deserialize<'de> for UniqueKeys {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(UniqueKeysVisitor)
    }
}

struct UniqueKeysVisitor;

impl<'de> Visitor<'de> for UniqueKeysVisitor {
    type Value = UniqueKeys;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_i64<E>(self, _: i64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_u64<E>(self, _: u64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_f64<E>(self, _: f64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_str<E>(self, _: &str) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_unit<E>(self) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<UniqueKeys, A::Error> {
        while seq.next_element::<UniqueKeys>()?.is_some() {}
        Ok(UniqueKeys)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<UniqueKeys, A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return Err(A::Error::custom(format_args!(
                    "the key {key:?} appears twice in one object"
                )));
            }
            map.next_value::<UniqueKeys>()?;
        }
        Ok(UniqueKeys)
    }
}

/// A deserializer, or one of its access types, whose every nested value is read strictly.
struct Strict<D>(D);

/// A visitor that hands its nested values on strictly; for a struct, it refuses a
/// sequence.
struct Wrap<V> {
    visitor: V,
    struct_only: bool,
}

fn wrap<V>(visitor: V) -> Wrap<V> {
    Wrap {
        visitor,
        struct_only: false,
    }
}

/// A seed whose value is read strictly.
struct Seed<S>(S);

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Seed<S> {
    type Value = S::Value;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<S::Value, D::Error> {
        self.0.deserialize(Strict(deserializer))
    }
}

macro_rules! forward {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
            self.0.$method(wrap(visitor))
        }
    )*};
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Strict<D> {
    type Error = D::Error;

    forward! {
        deserialize_any deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32
        deserialize_i64 deserialize_i128 deserialize_u8 deserialize_u16 deserialize_u32
        deserialize_u64 deserialize_u128 deserialize_f32 deserialize_f64 deserialize_char
        deserialize_str deserialize_string deserialize_bytes deserialize_byte_buf
        deserialize_option deserialize_unit deserialize_seq deserialize_map
        deserialize_identifier deserialize_ignored_any
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_unit_struct(name, wrap(visitor))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        // serde_json's own types (`RawValue`) are read by name, as serde_json reads them.
        if name.starts_with("$serde_json::") {
            return self.0.deserialize_newtype_struct(name, visitor);
        }
        self.0.deserialize_newtype_struct(name, wrap(visitor))
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_tuple(len, wrap(visitor))
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_tuple_struct(name, len, wrap(visitor))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        if name.starts_with("$serde_json::") {
            return self.0.deserialize_struct(name, fields, visitor);
        }
        self.0.deserialize_struct(
            name,
            fields,
            Wrap {
                visitor,
                struct_only: true,
            },
        )
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_enum(name, variants, wrap(visitor))
    }

    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

macro_rules! visit {
    ($($method:ident($ty:ty))*) => {$(
        fn $method<E: de::Error>(self, value: $ty) -> Result<V::Value, E> {
            self.visitor.$method(value)
        }
    )*};
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Wrap<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.visitor.expecting(f)
    }

    visit! {
        visit_bool(bool) visit_i8(i8) visit_i16(i16) visit_i32(i32) visit_i64(i64)
        visit_i128(i128) visit_u8(u8) visit_u16(u16) visit_u32(u32) visit_u64(u64)
        visit_u128(u128) visit_f32(f32) visit_f64(f64) visit_char(char) visit_str(&str)
        visit_borrowed_str(&'de str) visit_string(String) visit_bytes(&[u8])
        visit_borrowed_bytes(&'de [u8]) visit_byte_buf(Vec<u8>)
    }

    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        self.visitor.visit_none()
    }

    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        self.visitor.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<V::Value, D::Error> {
        self.visitor.visit_some(Strict(deserializer))
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<V::Value, D::Error> {
        self.visitor.visit_newtype_struct(Strict(deserializer))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        if self.struct_only {
            return Err(A::Error::invalid_type(Unexpected::Seq, &self));
        }
        self.visitor.visit_seq(Strict(seq))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.visitor.visit_map(Strict(map))
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
        self.visitor.visit_enum(Strict(data))
    }
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Strict<A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        self.0.next_element_seed(Seed(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Strict<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        self.0.next_key_seed(Seed(seed))
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, A::Error> {
        self.0.next_value_seed(Seed(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'de, A: EnumAccess<'de>> EnumAccess<'de> for Strict<A> {
    type Error = A::Error;
    type Variant = Strict<A::Variant>;

    fn variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, Strict<A::Variant>), A::Error> {
        self.0
            .variant_seed(Seed(seed))
            .map(|(value, variant)| (value, Strict(variant)))
    }
}

impl<'de, A: VariantAccess<'de>> VariantAccess<'de> for Strict<A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        self.0.unit_variant()
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, A::Error> {
        self.0.newtype_variant_seed(Seed(seed))
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        self.0.tuple_variant(len, wrap(visitor))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        self.0.struct_variant(
            fields,
            Wrap {
                visitor,
                struct_only: true,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Deserialize;
    use serde_json::value::RawValue;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "camelCase")]
    struct ErrorBody {
        error: i64,
        error_code: String,
        #[serde(default)]
        detail: Option<String>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Page {
        items: Vec<Item>,
        #[serde(default)]
        next: Option<Box<Page>>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Item {
        name: String,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "camelCase")]
    enum Shape {
        Circle(String),
        Square { side: String },
    }

    #[test]
    fn structs_come_from_objects_only_at_any_depth() {
        let serde_reads: ErrorBody = serde_json::from_str(r#"[400, "X"]"#).unwrap();
        assert_eq!(serde_reads.error, 400, "serde's own reading, refused below");
        let refused = from_str::<ErrorBody>(r#"[400, "X"]"#).unwrap_err();
        assert!(refused.to_string().contains("sequence"), "{refused}");
        for nested in [
            r#"{"items": [["a"]]}"#,
            r#"{"items": [], "next": [[]]}"#,
            r#"{"items": [], "next": {"items": [["b"]]}}"#,
            r#"{"items": [{"name": "a"}], "next": {"items": [["b"]]}}"#,
        ] {
            assert!(serde_json::from_str::<Page>(nested).is_ok(), "{nested}");
            assert!(from_str::<Page>(nested).is_err(), "{nested}");
        }
        let page: Page =
            from_str(r#"{"items": [{"name": "a", "other": 1}], "next": {"items": []}}"#).unwrap();
        assert_eq!(page.items[0].name, "a");
        assert_eq!(page.next.unwrap().items, []);
        assert!(from_str::<Shape>(r#"{"square": ["s"]}"#).is_err());
        assert_eq!(
            from_str::<Shape>(r#"{"square": {"side": "s"}}"#).unwrap(),
            Shape::Square { side: "s".into() }
        );
        assert_eq!(
            from_str::<Shape>(r#"{"circle": "c"}"#).unwrap(),
            Shape::Circle("c".into())
        );
    }

    #[test]
    fn what_is_not_a_struct_reads_as_before() {
        assert_eq!(from_str::<Vec<u8>>("[1, 2]").unwrap(), [1, 2]);
        assert_eq!(
            from_str::<(u8, String)>(r#"[1, "a"]"#).unwrap(),
            (1, "a".into())
        );
        assert_eq!(from_str::<Option<u8>>("null").unwrap(), None);
        let map: BTreeMap<i64, Vec<String>> = from_str(r#"{"5": ["a"]}"#).unwrap();
        assert_eq!(map[&5], ["a"]);
        assert!(from_str::<u8>("1 2").is_err(), "one value only");
        let value: serde_json::Value = from_str(r#"[{"a": [1]}]"#).unwrap();
        assert_eq!(value[0]["a"][0], 1);
    }

    #[test]
    fn raw_values_and_borrowed_text_pass_through() {
        #[derive(Deserialize)]
        struct Raw<'a> {
            #[serde(borrow)]
            list: Vec<&'a RawValue>,
            #[serde(borrow)]
            text: std::borrow::Cow<'a, str>,
        }
        let body = r#"{"list": [{"a": [1, 2]}, [3], "x"], "text": "plain"}"#;
        let raw: Raw<'_> = from_str(body).unwrap();
        let texts: Vec<&str> = raw.list.iter().map(|r| r.get()).collect();
        assert_eq!(texts, [r#"{"a": [1, 2]}"#, "[3]", r#""x""#]);
        assert!(matches!(raw.text, std::borrow::Cow::Borrowed("plain")));
        let boxed: Box<RawValue> = from_str(r#" {"k": 1} "#).unwrap();
        assert_eq!(boxed.get(), r#"{"k": 1}"#);
    }

    #[test]
    fn repeated_keys_are_found_at_any_depth() {
        assert!(unique_keys(br#"{"a": 1, "b": [{"a": 2}, {"a": 3}]}"#).is_ok());
        for twice in [
            r#"{"a": 1, "a": 1}"#,
            r#"[{"x": {"y": 1, "y": 2}}]"#,
            r#"{"\u0061": 1, "a": 2}"#,
        ] {
            let e = unique_keys(twice.as_bytes()).unwrap_err();
            assert!(e.to_string().contains("appears twice"), "{twice}: {e}");
        }
        assert!(unique_keys(b"{").is_err());
    }
}
