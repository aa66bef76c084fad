//! Which replica audits which target. `--shard K/N` uses rendezvous (highest-random-weight)
//! hashing on the target id: every replica computes the same owner without talking to the
//! others, and when N changes only about 1/N of the targets move.

use std::fmt;
use std::str::FromStr;

/// This replica's share: replica `index` (1-based) of `count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// The single replica that owns everything.
    pub const WHOLE: Shard = Shard { index: 1, count: 1 };

    /// Whether this replica owns the target.
    pub fn owns(&self, target_id: &str) -> bool {
        self.count <= 1 || owner_of(target_id, self.count) == self.index
    }
}

impl Default for Shard {
    fn default() -> Self {
        Shard::WHOLE
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Shard, String> {
        let expected = || format!("invalid shard {text:?}: expected K/N with 1 ≤ K ≤ N, e.g. 2/3");
        let (k, n) = text.split_once('/').ok_or_else(expected)?;
        let index: u32 = k.trim().parse().map_err(|_| expected())?;
        let count: u32 = n.trim().parse().map_err(|_| expected())?;
        if count == 0 || index == 0 || index > count {
            return Err(expected());
        }
        Ok(Shard { index, count })
    }
}

/// The replica (1..=count) with the highest weight for this target.
pub fn owner_of(target_id: &str, count: u32) -> u32 {
    (1..=count.max(1))
        .max_by_key(|replica| stable_hash(target_id, *replica))
        .unwrap_or(1)
}

/// A stable 64-bit hash of (text, salt). SHA-256 keeps it identical across versions,
/// platforms and restarts, which a std `Hasher` does not promise; shards and schedule
/// offsets both rely on that.
pub fn stable_hash(text: &str, salt: u32) -> u64 {
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    context.update(text.as_bytes());
    context.update(&[0]);
    context.update(&salt.to_be_bytes());
    let digest = context.finish();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest.as_ref()[..8]);
    u64::from_be_bytes(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        assert_eq!("2/3".parse::<Shard>(), Ok(Shard { index: 2, count: 3 }));
        for bad in ["0/3", "4/3", "1/0", "1", "a/b", "1/3/4"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn every_target_has_exactly_one_owner_and_shares_are_even() {
        let ids: Vec<String> = (0..3000).map(|i| format!("site{i}.haiduong.gov.vn")).collect();
        let shards: Vec<Shard> = (1..=3).map(|index| Shard { index, count: 3 }).collect();
        let mut counts = [0usize; 3];
        for id in &ids {
            let owners: Vec<usize> = (0..3).filter(|i| shards[*i].owns(id)).collect();
            assert_eq!(owners.len(), 1, "{id} owned by {owners:?}");
            counts[owners[0]] += 1;
        }
        for count in counts {
            assert!((850..=1150).contains(&count), "uneven shares {counts:?}");
        }
    }

    #[test]
    fn growing_from_three_to_four_moves_about_a_quarter() {
        let ids: Vec<String> = (0..4000).map(|i| format!("t{i}")).collect();
        let moved = ids.iter().filter(|id| owner_of(id, 3) != owner_of(id, 4)).count();
        // Only targets whose new owner is replica 4 move: ~1/4, never a reshuffle.
        assert!(moved < 1200, "{moved} of 4000 moved");
        assert!(ids
            .iter()
            .filter(|id| owner_of(id, 3) != owner_of(id, 4))
            .all(|id| owner_of(id, 4) == 4));
    }
}
