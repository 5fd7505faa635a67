//! Compact string interner: every distinct ID is stored once and gets a dense `u32`.

use hashbrown::{DefaultHashBuilder, HashTable};
use std::hash::BuildHasher;

/// Marks an absent optional ID in `u32` ID columns.
pub const NO_ID: u32 = u32::MAX;

/// Maps strings to dense ids `0..len()` in first-seen order.
///
/// Strings live in one byte arena, so an entry costs its bytes plus about 12 bytes of index,
/// far less than a `HashMap<String, u32>` (which pays 24 bytes of `String` plus an allocation).
#[derive(Clone)]
pub struct Interner {
    arena: Vec<u8>,
    /// `starts[i]..starts[i + 1]` is string `i` in `arena`; always one longer than the id count.
    starts: Vec<u64>,
    table: HashTable<u32>,
    hasher: DefaultHashBuilder,
}

impl Default for Interner {
    fn default() -> Self {
        Interner {
            arena: Vec::new(),
            starts: vec![0],
            table: HashTable::new(),
            hasher: DefaultHashBuilder::default(),
        }
    }
}

impl std::fmt::Debug for Interner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interner")
            .field("len", &self.len())
            .finish()
    }
}

impl Interner {
    /// An empty interner.
    pub fn new() -> Self {
        Interner::default()
    }

    /// Number of distinct strings.
    pub fn len(&self) -> usize {
        self.starts.len().saturating_sub(1)
    }

    /// Whether no string has been interned.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The string behind `id`.
    ///
    /// # Panics
    /// If `id` was not returned by this interner (a bug, not bad input).
    pub fn resolve(&self, id: u32) -> &str {
        // Only whole `&str`s are ever pushed, so every slice is valid UTF-8.
        std::str::from_utf8(self.bytes(id)).expect("interner arena holds whole UTF-8 strings")
    }

    fn bytes(&self, id: u32) -> &[u8] {
        let i = id as usize;
        &self.arena[self.starts[i] as usize..self.starts[i + 1] as usize]
    }

    /// The id of `s`, if it was interned.
    pub fn get(&self, s: &str) -> Option<u32> {
        self.lookup(s).0
    }

    /// The id of `s`, interning it first if new; `None` once `u32::MAX - 1` ids are taken.
    pub fn intern(&mut self, s: &str) -> Option<u32> {
        let (found, hash) = self.lookup(s);
        found.or_else(|| self.insert_new(s, hash))
    }

    /// The id of `s` if interned, and its hash for a following [`Interner::insert_new`].
    pub fn lookup(&self, s: &str) -> (Option<u32>, u64) {
        let bytes = s.as_bytes();
        let hash = self.hasher.hash_one(bytes);
        (
            self.table
                .find(hash, |&id| self.bytes(id) == bytes)
                .copied(),
            hash,
        )
    }

    /// Interns `s`, known to be absent, with the `hash` that [`Interner::lookup`] returned.
    /// Skips the second probe-and-compare of [`Interner::intern`].
    pub fn insert_new(&mut self, s: &str, hash: u64) -> Option<u32> {
        debug_assert!(self.get(s).is_none(), "insert_new of an interned string");
        let s = s.as_bytes();
        let id = u32::try_from(self.len()).ok().filter(|&id| id != NO_ID)?;
        self.arena.extend_from_slice(s);
        self.starts.push(self.arena.len() as u64);
        let (arena, starts, hasher) = (&self.arena, &self.starts, &self.hasher);
        self.table.insert_unique(hash, id, |&other| {
            let o = other as usize;
            hasher.hash_one(&arena[starts[o] as usize..starts[o + 1] as usize])
        });
        Some(id)
    }

    /// All strings in id order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        (0..self.len() as u32).map(|id| self.resolve(id))
    }

    /// Heap bytes held (arena, offsets and hash index).
    pub fn heap_bytes(&self) -> usize {
        self.arena.capacity() + self.starts.capacity() * 8 + self.table.capacity() * 5
    }
}

impl PartialEq for Interner {
    /// Same strings with the same ids.
    fn eq(&self, other: &Self) -> bool {
        self.starts == other.starts && self.arena == other.arena
    }
}

impl<'a> FromIterator<&'a str> for Interner {
    fn from_iter<T: IntoIterator<Item = &'a str>>(iter: T) -> Self {
        let mut interner = Interner::new();
        for s in iter {
            interner.intern(s).expect("fewer than u32::MAX strings");
        }
        interner
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_dense_in_first_seen_order_and_resolve_back() {
        let mut i = Interner::new();
        assert_eq!(i.intern("b"), Some(0));
        assert_eq!(i.intern("a"), Some(1));
        assert_eq!(i.intern("b"), Some(0));
        assert_eq!(i.intern(""), Some(2));
        assert_eq!(i.len(), 3);
        assert_eq!(i.resolve(1), "a");
        assert_eq!(i.resolve(2), "");
        assert_eq!(i.get("a"), Some(1));
        assert_eq!(i.get("c"), None);
        assert_eq!(i.iter().collect::<Vec<_>>(), ["b", "a", ""]);
    }

    #[test]
    fn many_strings_survive_table_growth() {
        let mut i = Interner::new();
        for n in 0..50_000u32 {
            assert_eq!(i.intern(&format!("acct-{n}")), Some(n));
        }
        for n in (0..50_000u32).step_by(997) {
            assert_eq!(i.get(&format!("acct-{n}")), Some(n));
            assert_eq!(i.resolve(n), format!("acct-{n}"));
        }
    }
}
