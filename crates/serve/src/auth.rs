//! Bearer tokens: a write token for feedback and reloads, a read token for everything else.
//! Tokens are compared as SHA-256 digests in constant time, so neither the content nor the
//! length of a guess shows in the answer's timing.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The configured tokens, as digests.
pub(crate) struct Tokens {
    write: Option<[u8; 32]>,
    read: Option<[u8; 32]>,
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn matches(expected: &[u8; 32], given: Option<&str>) -> bool {
    given.is_some_and(|g| bool::from(digest(g).ct_eq(expected)))
}

impl Tokens {
    /// Empty strings count as unset.
    pub(crate) fn new(write: Option<&str>, read: Option<&str>) -> Tokens {
        let set = |t: Option<&str>| t.filter(|t| !t.is_empty()).map(digest);
        Tokens {
            write: set(write),
            read: set(read),
        }
    }

    /// Writing needs the write token when one is set.
    pub(crate) fn may_write(&self, given: Option<&str>) -> bool {
        self.write.as_ref().is_none_or(|w| matches(w, given))
    }

    /// Reading needs the read or the write token when a read token is set.
    pub(crate) fn may_read(&self, given: Option<&str>) -> bool {
        match &self.read {
            None => true,
            Some(r) => matches(r, given) || self.write.as_ref().is_some_and(|w| matches(w, given)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_write_token_reads_and_writes_the_read_token_only_reads() {
        let t = Tokens::new(Some("w-secret"), Some("r-secret"));
        assert!(t.may_write(Some("w-secret")) && t.may_read(Some("w-secret")));
        assert!(t.may_read(Some("r-secret")) && !t.may_write(Some("r-secret")));
        for bad in [
            None,
            Some(""),
            Some("w-secre"),
            Some("w-secret "),
            Some("r-secretX"),
        ] {
            assert!(!t.may_read(bad) && !t.may_write(bad), "{bad:?}");
        }
        let writes_only = Tokens::new(Some("w"), None);
        assert!(writes_only.may_read(None) && !writes_only.may_write(None));
        let open = Tokens::new(Some(""), None);
        assert!(open.may_read(None) && open.may_write(None));
    }
}
