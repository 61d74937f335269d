//! Byte-level matching for the per-request hot path.
//!
//! The needles here are short and the haystacks are request parts of a few dozen bytes, where
//! `str::contains` and slice equality spend more time setting up (a searcher, a `memcmp` call)
//! than comparing. These helpers compare inline and skip positions that cannot start a needle.

/// Byte equality without a `memcmp` call (short inputs).
#[inline]
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

/// A fixed list of needles with a compile-time table of the bytes that can start one.
pub(crate) struct NeedleSet {
    needles: &'static [&'static str],
    starts: [bool; 256],
}

impl NeedleSet {
    /// Builds the set; fails to compile for an empty needle.
    pub(crate) const fn new(needles: &'static [&'static str]) -> NeedleSet {
        let mut starts = [false; 256];
        let mut i = 0;
        while i < needles.len() {
            assert!(!needles[i].is_empty(), "needles are not empty");
            starts[needles[i].as_bytes()[0] as usize] = true;
            i += 1;
        }
        NeedleSet { needles, starts }
    }

    /// The first needle (by position in `hay`) found in `hay`, scanning it once.
    pub(crate) fn find(&self, hay: &[u8]) -> Option<&'static str> {
        for (i, &c) in hay.iter().enumerate() {
            if !self.starts[usize::from(c)] {
                continue;
            }
            let rest = &hay[i..];
            let hit = self
                .needles
                .iter()
                .find(|n| rest.len() >= n.len() && same(&rest[..n.len()], n.as_bytes()));
            if hit.is_some() {
                return hit.copied();
            }
        }
        None
    }
}

/// FNV-1a: a fast hasher for sets whose members come from the bundle (never from clients, so
/// hash flooding does not apply); SipHash costs more than the rest of a keyword lookup.
#[derive(Default)]
pub(crate) struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

/// A `HashSet` keyed by bundle-provided strings.
pub(crate) type FastSet<T> = std::collections::HashSet<T, std::hash::BuildHasherDefault<Fnv>>;

/// A fixed set of short words, bucketed by length at compile time, so a lookup compares a
/// token with the few words of its length instead of the whole list.
pub(crate) struct WordSet {
    words: &'static [&'static str],
    /// Bit `i` of `by_len[n]` is set when `words[i]` has length `n`.
    by_len: [u64; 32],
}

impl WordSet {
    /// Builds the set; fails to compile for more than 64 words or a word of 32 bytes or more.
    pub(crate) const fn new(words: &'static [&'static str]) -> WordSet {
        assert!(words.len() <= 64, "a WordSet holds at most 64 words");
        let mut by_len = [0u64; 32];
        let mut i = 0;
        while i < words.len() {
            let n = words[i].len();
            assert!(n < 32, "WordSet words are shorter than 32 bytes");
            by_len[n] |= 1 << i;
            i += 1;
        }
        WordSet { words, by_len }
    }

    /// The member equal to `word`, if any.
    pub(crate) fn get(&self, word: &str) -> Option<&'static str> {
        let mut mask = *self.by_len.get(word.len())?;
        while mask != 0 {
            let i = mask.trailing_zeros() as usize;
            if same(self.words[i].as_bytes(), word.as_bytes()) {
                return Some(self.words[i]);
            }
            mask &= mask - 1;
        }
        None
    }
}

/// True when `needle` occurs in `hay` (short haystacks).
pub(crate) fn contains(hay: &str, needle: &str) -> bool {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    match n.first() {
        None => true,
        Some(&first) => h.windows(n.len()).any(|w| w[0] == first && same(w, n)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_needles_and_words() {
        const NEEDLES: NeedleSet = NeedleSet::new(&["/etc/passwd", "win.ini"]);
        assert_eq!(NEEDLES.find(b"/files/etc/passwd"), Some("/etc/passwd"));
        assert_eq!(NEEDLES.find(b"c:/windows/win.ini"), Some("win.ini"));
        assert_eq!(NEEDLES.find(b"/products/42"), None);
        assert_eq!(NEEDLES.find(b""), None);
        assert_eq!(NEEDLES.find(b"/etc/passw"), None);
        const SET: WordSet = WordSet::new(&["curl", "wget", "java", "go-http"]);
        assert_eq!(SET.get("java"), Some("java"));
        assert_eq!(SET.get("jav"), None);
        assert_eq!(SET.get(&"x".repeat(40)), None);
        let mut set: FastSet<String> = FastSet::default();
        set.insert("dumper".into());
        assert!(set.contains("dumper") && !set.contains("dump"));
        assert!(contains("ahrefsbot", "bot") && !contains("bo", "bot"));
        assert!(same(b"curl", b"curl") && !same(b"curl", b"curb") && !same(b"a", b"ab"));
    }
}
