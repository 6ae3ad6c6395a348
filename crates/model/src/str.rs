//! [`Str`], the shared string every repeated text of a span is held as.

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

use arcstr::ArcStr;

/// A shared, immutable string in one pointer (8 bytes, where `Arc<str>` takes 16): the
/// length lives in the allocation, beside the reference count. Repeated strings (keys, names,
/// services) are interned by the OTLP decoder so that each distinct text is held once, and
/// a span holds many of these, so the pointer's width counts.
///
/// A `Str` can be made immortal ([`Str::make_immortal`]): it is then never freed, and cloning
/// or dropping it touches no counter. The decoder does that for the few strings every span
/// repeats (attribute keys, span names), a bounded set, so that building a span costs no
/// atomic operation per key (they showed in the profile; BENCHMARKS.md).
///
/// Equality, ordering and hashing are by content, as for `str`.
#[derive(Clone)]
pub struct Str(ArcStr);

impl Str {
    /// A new shared copy of `text`.
    pub fn new(text: &str) -> Self {
        Str(ArcStr::from(text))
    }

    /// The text.
    #[inline]
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// Whether both refer to the same allocation (the interner's sharing).
    #[inline]
    pub fn ptr_eq(this: &Str, other: &Str) -> bool {
        ArcStr::ptr_eq(&this.0, &other.0)
    }

    /// Makes this string (and every clone of it) immortal: its memory is never freed, and
    /// clones and drops no longer count. Only for a bounded set of strings; see
    /// `otlp::intern`.
    pub fn make_immortal(&self) {
        self.0.leak();
    }

    /// Whether clones of this string skip the counter (immortal, or the empty string).
    pub fn is_immortal(&self) -> bool {
        ArcStr::is_static(&self.0)
    }
}

// The thin pointer is what the memory target rests on; a change that widens it should fail
// to build rather than silently cost 8 bytes per attribute.
const _: () = assert!(std::mem::size_of::<Str>() == 8);
const _: () = assert!(std::mem::size_of::<Option<Str>>() == 8);

impl Deref for Str {
    type Target = str;
    #[inline]
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Str {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for Str {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for Str {
    fn eq(&self, other: &Str) -> bool {
        Str::ptr_eq(self, other) || self.as_str() == other.as_str()
    }
}
impl Eq for Str {}

impl PartialEq<str> for Str {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}
impl PartialEq<&str> for Str {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialOrd for Str {
    fn partial_cmp(&self, other: &Str) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Str {
    fn cmp(&self, other: &Str) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl Hash for Str {
    // As `str` hashes, so that `Borrow<str>` lookups in hash maps agree.
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}

impl fmt::Debug for Str {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Str {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

impl Default for Str {
    fn default() -> Self {
        empty_str()
    }
}

impl From<&str> for Str {
    fn from(text: &str) -> Self {
        Str::new(text)
    }
}

impl From<String> for Str {
    fn from(text: String) -> Self {
        Str::new(&text)
    }
}

impl From<&String> for Str {
    fn from(text: &String) -> Self {
        Str::new(text)
    }
}

impl From<Str> for String {
    fn from(text: Str) -> Self {
        text.as_str().to_owned()
    }
}

/// The empty string: static, so it costs no allocation and no counting.
pub fn empty_str() -> Str {
    Str(ArcStr::new())
}
