//! Attribute values on the wire: a list of attributes is one JSON object (keys sorted, the
//! last of a repeated key winning), each value in JSON's own type.
//!
//! The Rust side stays typed: [`Attributes`] borrows the model's [`KeyValue`]s, so an
//! adapter that needs OTLP's types (Jaeger's `int64`/`float64`/`binary` tags) reads them
//! from here rather than guessing from JSON.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use model::{AttributeValue, KeyValue, Str};

/// A list of attributes, written as one JSON object.
///
/// | model value | JSON |
/// | --- | --- |
/// | string | string |
/// | bool | `true` / `false` |
/// | int | integer |
/// | double | number; a non-finite one as the string `"NaN"`, `"inf"` or `"-inf"` |
/// | bytes | string of lower-case hex |
/// | array | array of values |
/// | map | object, as attributes are |
/// | empty | `null` |
///
/// Read back, a JSON value takes the model type its JSON type names (bytes come back as
/// their hex string, an integer beyond `i64` as a double).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Attributes<'a>(pub Cow<'a, [KeyValue]>);

impl<'a> Attributes<'a> {
    pub fn borrowed(attributes: &'a [KeyValue]) -> Self {
        Attributes(Cow::Borrowed(attributes))
    }

    pub fn as_slice(&self) -> &[KeyValue] {
        &self.0
    }
}

impl Serialize for Attributes<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_attributes(&self.0, serializer)
    }
}

/// Keys sorted and each once, the last of a repeated key winning: what a JSON reader keeps
/// of an object anyway (and what the web API wrote when it built a `serde_json::Map`), with
/// the panel's attributes in a stable order. Most lists are sorted and unique already and
/// are written as they are; the rest are ordered through one vector of references.
fn serialize_attributes<S: Serializer>(attributes: &[KeyValue], serializer: S) -> Result<S::Ok, S::Error> {
    let sorted_unique = attributes.windows(2).all(|pair| *pair[0].key < *pair[1].key);
    if sorted_unique {
        let mut map = serializer.serialize_map(Some(attributes.len()))?;
        for kv in attributes {
            map.serialize_entry(&*kv.key, &Value(&kv.value))?;
        }
        return map.end();
    }
    let mut order: Vec<&KeyValue> = attributes.iter().collect();
    // Stable: a repeated key's entries keep their arrival order, so the last is the last.
    order.sort_by_key(|kv| kv.key.as_str());
    let mut map = serializer.serialize_map(None)?;
    for (at, kv) in order.iter().enumerate() {
        if order.get(at + 1).is_some_and(|next| next.key == kv.key) {
            continue;
        }
        map.serialize_entry(&*kv.key, &Value(&kv.value))?;
    }
    map.end()
}

/// One attribute value in JSON's own type (see [`Attributes`] for the table).
#[derive(Clone, Copy, Debug)]
pub struct Value<'a>(pub &'a AttributeValue);

impl Serialize for Value<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            AttributeValue::String(text) => serializer.serialize_str(text),
            AttributeValue::Bool(flag) => serializer.serialize_bool(*flag),
            AttributeValue::Int(number) => serializer.serialize_i64(*number),
            AttributeValue::Double(number) if number.is_finite() => serializer.serialize_f64(*number),
            // JSON has no NaN or infinity; Rust's spelling (`NaN`, `inf`, `-inf`) as text.
            AttributeValue::Double(number) => serializer.collect_str(number),
            AttributeValue::Bytes(bytes) => serializer.serialize_str(&hex::encode(&bytes[..])),
            AttributeValue::Array(items) => serializer.collect_seq(items.iter().map(Value)),
            AttributeValue::Map(entries) => serialize_attributes(entries, serializer),
            AttributeValue::Empty => serializer.serialize_unit(),
        }
    }
}

impl<'de> Deserialize<'de> for Attributes<'_> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(AttributesVisitor).map(|list| Attributes(Cow::Owned(list)))
    }
}

struct AttributesVisitor;

impl<'de> Visitor<'de> for AttributesVisitor {
    type Value = Vec<KeyValue>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("an object of attributes")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut list = Vec::with_capacity(map.size_hint().unwrap_or(0));
        while let Some((key, OwnedValue(value))) = map.next_entry::<Cow<'de, str>, OwnedValue>()? {
            list.push(KeyValue { key: Str::new(&key), value });
        }
        Ok(list)
    }
}

/// A JSON value read back as the model's value.
struct OwnedValue(AttributeValue);

impl<'de> Deserialize<'de> for OwnedValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor).map(OwnedValue)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = AttributeValue;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("an attribute value")
    }

    fn visit_bool<E: de::Error>(self, flag: bool) -> Result<Self::Value, E> {
        Ok(AttributeValue::Bool(flag))
    }

    fn visit_i64<E: de::Error>(self, number: i64) -> Result<Self::Value, E> {
        Ok(AttributeValue::Int(number))
    }

    fn visit_u64<E: de::Error>(self, number: u64) -> Result<Self::Value, E> {
        Ok(i64::try_from(number).map_or(AttributeValue::Double(number as f64), AttributeValue::Int))
    }

    fn visit_f64<E: de::Error>(self, number: f64) -> Result<Self::Value, E> {
        Ok(AttributeValue::Double(number))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        Ok(AttributeValue::from(text))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(AttributeValue::Empty)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(AttributeValue::Empty)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(OwnedValue(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(AttributeValue::array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        AttributesVisitor.visit_map(map).map(AttributeValue::map)
    }
}
