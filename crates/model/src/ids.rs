//! Trace and span identifiers: fixed-size byte arrays, printed as lower-case hex.

use std::fmt;
use std::str::FromStr;

/// A 16-byte trace ID. The all-zero ID is invalid in OTLP and never stored.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct TraceId(pub [u8; 16]);

/// An 8-byte span ID. The all-zero ID means "no span" (e.g. no parent).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct SpanId(pub [u8; 8]);

/// Why a byte slice or hex text is not a valid ID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("expected {expected} bytes, found {found}")]
    Length { expected: usize, found: usize },
    #[error("expected {expected} hex characters, found {text:?}")]
    Hex { expected: usize, text: String },
    #[error("id is all zeros")]
    Zero,
}

macro_rules! id_impl {
    ($ty:ident, $n:expr) => {
        impl $ty {
            pub const LEN: usize = $n;

            /// From raw bytes; rejects a wrong length and the all-zero ID.
            pub fn from_bytes(bytes: &[u8]) -> Result<Self, IdError> {
                let array: [u8; $n] =
                    bytes.try_into().map_err(|_| IdError::Length { expected: $n, found: bytes.len() })?;
                if array == [0; $n] {
                    return Err(IdError::Zero);
                }
                Ok(Self(array))
            }

            /// From hex text (either case); rejects the all-zero ID.
            pub fn from_hex(text: &str) -> Result<Self, IdError> {
                let mut array = [0u8; $n];
                hex::decode_to_slice(text.trim(), &mut array)
                    .map_err(|_| IdError::Hex { expected: $n * 2, text: text.to_string() })?;
                Self::from_bytes(&array)
            }

            /// A random non-zero ID.
            pub fn random() -> Self {
                loop {
                    let array: [u8; $n] = rand::random();
                    if array != [0; $n] {
                        return Self(array);
                    }
                }
            }

            pub fn as_bytes(&self) -> &[u8; $n] {
                &self.0
            }

            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                for byte in self.0 {
                    write!(f, "{byte:02x}")?;
                }
                Ok(())
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({self})", stringify!($ty))
            }
        }

        impl FromStr for $ty {
            type Err = IdError;
            fn from_str(text: &str) -> Result<Self, IdError> {
                Self::from_hex(text)
            }
        }

        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                // Hex on the stack: a large trace's JSON writes three IDs a span, and the
                // formatter's byte-by-byte `Display` was a twentieth of its time.
                let mut text = [0u8; $n * 2];
                hex::encode_to_slice(self.0, &mut text).map_err(serde::ser::Error::custom)?;
                serializer.serialize_str(std::str::from_utf8(&text).map_err(serde::ser::Error::custom)?)
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                Self::from_hex(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}

id_impl!(TraceId, 16);
id_impl!(SpanId, 8);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        let id = TraceId::from_hex("0af7651916cd43dd8448eb211c80319c").unwrap();
        assert_eq!(id.to_string(), "0af7651916cd43dd8448eb211c80319c");
        assert_eq!(SpanId::from_hex("B7AD6B7169203331").unwrap().to_string(), "b7ad6b7169203331");
    }

    #[test]
    fn rejects_bad_ids() {
        assert_eq!(TraceId::from_bytes(&[1; 15]), Err(IdError::Length { expected: 16, found: 15 }));
        assert_eq!(SpanId::from_bytes(&[0; 8]), Err(IdError::Zero));
        assert!(TraceId::from_hex("xyz").is_err());
    }
}
