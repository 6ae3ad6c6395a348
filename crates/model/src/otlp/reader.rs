//! The protobuf reader both halves of the codec walk messages with: a cursor over one
//! message's bytes ([`Reader`]), the wire types, the nesting limit, and the small checks the
//! decoder ([`super::decode`]) and the split ([`super::split`]) share, so that both accept and
//! refuse exactly the same bytes. It follows prost's rules: unknown fields (groups included)
//! are skipped, a known field with the wrong wire type or a string that is not UTF-8 fails.

/// Deepest nesting of array and map attribute values accepted; deeper input is refused
/// rather than risking the stack (prost refuses at a similar depth).
pub(crate) const MAX_VALUE_DEPTH: u32 = 32;

/// Span attribute positions that get their own recent-string caches; attributes beyond go
/// straight to the interner.
pub(super) const N_ATTRIBUTE_SLOTS: usize = 32;

pub(super) const VARINT: u8 = 0;
pub(super) const I64: u8 = 1;
pub(super) const LEN: u8 = 2;
pub(super) const START_GROUP: u8 = 3;
pub(super) const END_GROUP: u8 = 4;
pub(super) const I32: u8 = 5;

/// A decoding failure; the text becomes [`super::Error::Protobuf`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct WireError(pub(super) String);

impl WireError {
    pub(super) fn new(text: impl Into<String>) -> Self {
        WireError(text.into())
    }
}

impl From<std::str::Utf8Error> for WireError {
    fn from(_: std::str::Utf8Error) -> Self {
        WireError::new("invalid string value: data is not UTF-8 encoded")
    }
}

pub(super) type Result<T> = std::result::Result<T, WireError>;

/// A cursor over one message's bytes.
pub(super) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    #[inline]
    pub(super) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    #[inline]
    pub(super) fn has_more(&self) -> bool {
        self.pos < self.buf.len()
    }

    #[inline(always)]
    pub(super) fn varint(&mut self) -> Result<u64> {
        // One-byte fast path (field keys, small enums and lengths) inlined at every call;
        // the general case out of line.
        if let Some(&byte) = self.buf.get(self.pos) {
            if byte < 0x80 {
                self.pos += 1;
                return Ok(u64::from(byte));
            }
        }
        self.varint_slow()
    }

    #[inline(never)]
    fn varint_slow(&mut self) -> Result<u64> {
        let mut value = 0u64;
        for index in 0..10 {
            let Some(&byte) = self.buf.get(self.pos + index) else {
                return Err(WireError::new("buffer underflow"));
            };
            value |= u64::from(byte & 0x7f) << (7 * index);
            if byte < 0x80 {
                if index == 9 && byte > 1 {
                    break;
                }
                self.pos += index + 1;
                return Ok(value);
            }
        }
        Err(WireError::new("invalid varint"))
    }

    /// The next field's number and wire type.
    #[inline(always)]
    pub(super) fn key(&mut self) -> Result<(u32, u8)> {
        let key = self.varint()?;
        if key > u64::from(u32::MAX) {
            return Err(WireError::new(format!("invalid key value: {key}")));
        }
        let wire_type = (key & 7) as u8;
        if wire_type > I32 {
            return Err(WireError::new(format!("invalid wire type value: {wire_type}")));
        }
        let field = (key >> 3) as u32;
        if field == 0 {
            return Err(WireError::new("invalid tag value: 0"));
        }
        Ok((field, wire_type))
    }

    #[inline(always)]
    pub(super) fn bytes(&mut self) -> Result<&'a [u8]> {
        let len = self.varint()?;
        let remaining = (self.buf.len() - self.pos) as u64;
        if len > remaining {
            return Err(WireError::new("buffer underflow"));
        }
        let start = self.pos;
        self.pos += len as usize;
        Ok(&self.buf[start..self.pos])
    }

    #[inline]
    pub(super) fn fixed64(&mut self) -> Result<u64> {
        let bytes = self.buf.get(self.pos..self.pos + 8).ok_or_else(|| WireError::new("buffer underflow"))?;
        self.pos += 8;
        let mut array = [0u8; 8];
        array.copy_from_slice(bytes);
        Ok(u64::from_le_bytes(array))
    }

    #[inline]
    pub(super) fn fixed32(&mut self) -> Result<u32> {
        let bytes = self.buf.get(self.pos..self.pos + 4).ok_or_else(|| WireError::new("buffer underflow"))?;
        self.pos += 4;
        let mut array = [0u8; 4];
        array.copy_from_slice(bytes);
        Ok(u32::from_le_bytes(array))
    }

    /// Skips an unknown field's value.
    pub(super) fn skip(&mut self, field: u32, wire_type: u8) -> Result<()> {
        match wire_type {
            VARINT => self.varint().map(drop),
            I64 => self.fixed64().map(drop),
            LEN => self.bytes().map(drop),
            I32 => self.fixed32().map(drop),
            START_GROUP => self.skip_group(field, 0),
            _ => Err(WireError::new("unexpected end group tag")),
        }
    }

    fn skip_group(&mut self, field: u32, depth: u32) -> Result<()> {
        if depth > MAX_VALUE_DEPTH {
            return Err(WireError::new("recursion limit reached"));
        }
        loop {
            if !self.has_more() {
                return Err(WireError::new("buffer underflow"));
            }
            let (inner_field, wire_type) = self.key()?;
            match wire_type {
                END_GROUP if inner_field == field => return Ok(()),
                END_GROUP => return Err(WireError::new("unexpected end group tag")),
                START_GROUP => self.skip_group(inner_field, depth + 1)?,
                _ => self.skip(inner_field, wire_type)?,
            }
        }
    }
}

/// Calls `item` with each entry of an `ArrayValue` or `KeyValueList` (field 1, repeated),
/// skipping unknown fields: the walk the decoder and the split share for nested values.
pub(super) fn each_item<'a>(bytes: &'a [u8], mut item: impl FnMut(&'a [u8]) -> Result<()>) -> Result<()> {
    let mut list = Reader::new(bytes);
    while list.has_more() {
        match list.key()? {
            (1, wire_type) => {
                expect(wire_type, LEN)?;
                item(list.bytes()?)?;
            }
            (field, wire_type) => list.skip(field, wire_type)?,
        }
    }
    Ok(())
}

#[inline]
pub(super) fn expect(wire_type: u8, expected: u8) -> Result<()> {
    if wire_type == expected {
        Ok(())
    } else {
        Err(WireError::new(format!("invalid wire type: {wire_type} (expected {expected})")))
    }
}

#[inline]
pub(super) fn utf8(bytes: &[u8]) -> Result<&str> {
    Ok(std::str::from_utf8(bytes)?)
}

/// Whether every byte is ASCII: eight bytes at a time, inlined. Most strings of a span are a
/// few dozen bytes, for which the standard library's out-of-line check cost more than the
/// check itself (issue 23).
#[inline(always)]
pub(super) fn is_ascii(bytes: &[u8]) -> bool {
    let mut words = bytes.chunks_exact(8);
    let mut seen = 0u64;
    for word in &mut words {
        seen |= u64::from_le_bytes(word.try_into().unwrap_or_default());
    }
    for &byte in words.remainder() {
        seen |= u64::from(byte);
    }
    seen & 0x8080_8080_8080_8080 == 0
}

#[inline]
pub(super) fn check_utf8(bytes: &[u8]) -> Result<()> {
    // Most strings are ASCII: a word-at-a-time check, the full validation only otherwise.
    if is_ascii(bytes) {
        Ok(())
    } else {
        utf8(bytes).map(drop)
    }
}
