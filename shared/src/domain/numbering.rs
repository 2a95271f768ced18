//! Order numbers people read and say (`ORD-20261124-000123`): the UTC day the order was placed
//! and a sequence unique within it. Sequences come in blocks claimed from a sharded counter
//! (one atomic add per block, not per order), so placement pays no extra round trip for its
//! number and no counter item takes every order's write. Unused numbers of a block an instance
//! never finished are gaps: numbers are unique, not dense.

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Counter items per day: each block is claimed from one of them at random.
pub const NUMBER_SHARDS: u32 = 8;
/// Numbers a block holds.
pub const BLOCK_SIZE: u64 = 100;
/// Digits the sequence is padded to.
const SEQUENCE_DIGITS: usize = 6;
/// The longest prefix configuration accepts.
pub const MAX_PREFIX_CHARS: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an order number is PREFIX-YYYYMMDD-NNNNNN (for example ORD-20261124-000123)")]
pub struct MalformedNumber;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OrderNumber(String);

impl OrderNumber {
    pub fn new(prefix: &str, day: NaiveDate, sequence: u64) -> Self {
        Self(format!("{prefix}-{}-{sequence:0SEQUENCE_DIGITS$}", day.format("%Y%m%d")))
    }

    pub fn parse(text: &str) -> Result<Self, MalformedNumber> {
        let mut parts = text.split('-');
        let (Some(prefix), Some(day), Some(sequence), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(MalformedNumber);
        };
        let prefix_ok = is_prefix(prefix);
        let day_ok = NaiveDate::parse_from_str(day, "%Y%m%d").is_ok() && day.len() == 8;
        let sequence_ok = (SEQUENCE_DIGITS..=20).contains(&sequence.len()) && sequence.bytes().all(|b| b.is_ascii_digit());
        if prefix_ok && day_ok && sequence_ok {
            Ok(Self(text.to_owned()))
        } else {
            Err(MalformedNumber)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether `text` can start an order number: 1 to 8 upper-case letters or digits.
pub fn is_prefix(text: &str) -> bool {
    (1..=MAX_PREFIX_CHARS).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// The numbers of the `claimed`-th block (1-based, as the counter answers) of counter `shard`:
/// blocks of different shards and claims never overlap.
pub fn block_range(shard: u32, claimed: u64) -> std::ops::RangeInclusive<u64> {
    let block = claimed.saturating_sub(1) * u64::from(NUMBER_SHARDS) + u64::from(shard);
    let first = block * BLOCK_SIZE + 1;
    first..=first + BLOCK_SIZE - 1
}

impl fmt::Display for OrderNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for OrderNumber {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for OrderNumber {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn a_number_reads_as_prefix_day_and_padded_sequence_and_parses_back() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        let number = OrderNumber::new("ORD", day, 123);
        assert_eq!(number.as_str(), "ORD-20261124-000123");
        assert_eq!(OrderNumber::parse(number.as_str()), Ok(number));
        for bad in [
            "",
            "ORD-20261124",
            "ORD-20261324-000123",
            "ord-20261124-000123",
            "ORD-20261124-12",
            "ORD-20261124-000123-1",
        ] {
            assert_eq!(OrderNumber::parse(bad), Err(MalformedNumber), "{bad}");
        }
    }

    #[test]
    fn blocks_of_every_shard_and_claim_never_overlap() {
        let mut seen = HashSet::new();
        for shard in 0..NUMBER_SHARDS {
            for claimed in 1..=20 {
                for sequence in block_range(shard, claimed) {
                    assert!(sequence > 0);
                    assert!(seen.insert(sequence), "{sequence} handed out twice");
                }
            }
        }
    }
}
