//! Sharded stock: a hot product's available units spread over several items, so that the holds
//! of a flash sale land on different items (one DynamoDB item takes about 1,000 WCU/s, 500
//! transactional writes). Shard 0 is the product's own item; shards 1.. are items of their own.
//! Every invariant holds over the sum of the shards.

use serde::{Deserialize, Serialize};

use super::quantity::Quantity;

/// How many items a product's available stock is spread over: 1 (not sharded) to 32.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct StockShards(u8);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("stock_shards must be a whole number from 1 to {}", StockShards::MAX)]
pub struct StockShardsError;

impl StockShards {
    pub const MAX: u8 = 32;
    pub const ONE: Self = Self(1);

    pub fn new(value: u8) -> Result<Self, StockShardsError> {
        (1..=Self::MAX).contains(&value).then_some(Self(value)).ok_or(StockShardsError)
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

impl Default for StockShards {
    fn default() -> Self {
        Self::ONE
    }
}

impl TryFrom<u8> for StockShards {
    type Error = StockShardsError;
    fn try_from(value: u8) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<StockShards> for u8 {
    fn from(shards: StockShards) -> Self {
        shards.0
    }
}

/// Units of one order line held from one shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardTake {
    pub shard: u8,
    pub quantity: Quantity,
}

/// The takes of a line that records none: all of it from shard 0 (every line placed before
/// sharding, and every line of an unsharded product).
pub fn takes_or_whole(takes: &[ShardTake], quantity: Quantity) -> Vec<ShardTake> {
    if takes.is_empty() {
        vec![ShardTake { shard: 0, quantity }]
    } else {
        takes.to_vec()
    }
}

/// Takes as a line records them: none when all of it is held from shard 0.
pub fn recorded_takes(takes: Vec<ShardTake>) -> Vec<ShardTake> {
    if takes.iter().all(|take| take.shard == 0) {
        Vec::new()
    } else {
        takes
    }
}

/// One shard's counters: `on_hand = available + reserved` holds per shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardStock {
    pub shard: u8,
    pub on_hand: i64,
    pub available: i64,
    pub reserved: i64,
}

/// Where a line holds `quantity` from, among the shards below `active` (shards past it drain):
/// the first shard from `start` on that holds all of it, else several, fullest first. `None`
/// when all of them together hold less.
pub fn plan_takes(quantity: Quantity, shards: &[ShardStock], active: StockShards, start: usize) -> Option<Vec<ShardTake>> {
    let mut open: Vec<&ShardStock> = shards.iter().filter(|shard| shard.shard < active.get()).collect();
    if open.is_empty() {
        return None;
    }
    let wanted = i64::from(quantity.get());
    let first = start % open.len();
    open.rotate_left(first);
    if let Some(whole) = open.iter().find(|shard| shard.available >= wanted) {
        return Some(vec![ShardTake {
            shard: whole.shard,
            quantity,
        }]);
    }
    open.sort_by_key(|shard| std::cmp::Reverse(shard.available));
    let mut left = wanted;
    let mut takes = Vec::new();
    for shard in open.into_iter().filter(|shard| shard.available > 0) {
        let take = shard.available.min(left);
        let quantity = Quantity::new(u32::try_from(take).ok()?).ok()?;
        takes.push(ShardTake {
            shard: shard.shard,
            quantity,
        });
        left -= take;
        if left == 0 {
            return Some(takes);
        }
    }
    None
}

/// Gives back `units` of a line's takes, the last taken first: answers the takes the line
/// keeps and those given back.
pub fn give_back(takes: &[ShardTake], units: u32) -> (Vec<ShardTake>, Vec<ShardTake>) {
    let mut kept = takes.to_vec();
    let mut returned = Vec::new();
    let mut left = units;
    while left > 0 {
        let Some(last) = kept.pop() else { break };
        let from_this = last.quantity.get().min(left);
        left -= from_this;
        if let Ok(quantity) = Quantity::new(from_this) {
            returned.push(ShardTake {
                shard: last.shard,
                quantity,
            });
        }
        if let Ok(rest) = Quantity::new(last.quantity.get() - from_this) {
            kept.push(ShardTake {
                shard: last.shard,
                quantity: rest,
            });
        }
    }
    (kept, returned)
}

/// Adds takes together, shard by shard.
pub fn merge_takes(takes: impl IntoIterator<Item = ShardTake>) -> Vec<ShardTake> {
    let mut merged: Vec<ShardTake> = Vec::new();
    for take in takes {
        match merged.iter_mut().find(|merged| merged.shard == take.shard) {
            Some(same) => {
                if let Ok(sum) = Quantity::new(same.quantity.get().saturating_add(take.quantity.get())) {
                    same.quantity = sum;
                }
            }
            None => merged.push(take),
        }
    }
    merged
}

/// How each shard's available units move so that the active shards hold within one unit of
/// each other and the shards past `active` hold none: `(shard, delta)`, summing to zero, and
/// empty when the shards are even already. The odd units stay where most is now.
pub fn rebalance(shards: &[ShardStock], active: StockShards) -> Vec<(u8, i64)> {
    let total: i64 = shards.iter().map(|shard| shard.available.max(0)).sum();
    let mut open: Vec<&ShardStock> = shards.iter().filter(|shard| shard.shard < active.get()).collect();
    if open.is_empty() {
        return Vec::new();
    }
    open.sort_by_key(|shard| (std::cmp::Reverse(shard.available), shard.shard));
    let count = i64::try_from(open.len()).unwrap_or(1);
    let (share, odd) = (total / count, total % count);
    let mut moves: Vec<(u8, i64)> = Vec::new();
    for (rank, shard) in open.iter().enumerate() {
        let target = share + i64::from(i64::try_from(rank).unwrap_or(i64::MAX) < odd);
        if target != shard.available {
            moves.push((shard.shard, target - shard.available));
        }
    }
    for shard in shards.iter().filter(|shard| shard.shard >= active.get() && shard.available > 0) {
        moves.push((shard.shard, -shard.available));
    }
    moves.sort_unstable();
    moves
}

/// The shards after an admin sets `on_hand`: what is not held is spread evenly over the active
/// shards; shards past them keep only their holds (a shard past them holding nothing is gone).
/// Answers every shard from 0 up to the last one kept; `None` when the holds exceed `on_hand`.
pub fn spread(on_hand: i64, shards: &[ShardStock], active: StockShards) -> Option<Vec<ShardStock>> {
    let reserved_of = |n: u8| shards.iter().find(|shard| shard.shard == n).map_or(0, |shard| shard.reserved);
    let free = on_hand - shards.iter().map(|shard| shard.reserved).sum::<i64>();
    if free < 0 {
        return None;
    }
    let count = i64::from(active.get());
    let last_kept = shards
        .iter()
        .filter(|shard| shard.reserved > 0)
        .map(|shard| shard.shard)
        .max()
        .map_or(0, |last| last.saturating_add(1));
    let items = active.get().max(last_kept);
    Some(
        (0..items)
            .map(|n| {
                let reserved = reserved_of(n);
                let available = if n < active.get() {
                    free / count + i64::from(i64::from(n) < free % count)
                } else {
                    0
                };
                ShardStock {
                    shard: n,
                    on_hand: available + reserved,
                    available,
                    reserved,
                }
            })
            .collect(),
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn q(n: u32) -> Quantity {
        Quantity::new(n).unwrap()
    }

    /// Shards holding these available units each, nothing reserved.
    pub(crate) fn shards(available: &[i64]) -> Vec<ShardStock> {
        available
            .iter()
            .enumerate()
            .map(|(i, available)| ShardStock {
                shard: u8::try_from(i).unwrap(),
                on_hand: *available,
                available: *available,
                reserved: 0,
            })
            .collect()
    }

    fn sixteen() -> StockShards {
        StockShards::new(16).unwrap()
    }

    #[test]
    fn stock_shards_are_one_to_thirty_two() {
        assert!(StockShards::new(0).is_err());
        assert!(StockShards::new(33).is_err());
        assert_eq!(StockShards::new(32).unwrap().get(), 32);
        assert_eq!(serde_json::from_str::<StockShards>("4").unwrap().get(), 4);
        assert!(serde_json::from_str::<StockShards>("0").is_err());
    }

    #[test]
    fn a_line_holds_from_the_first_shard_from_its_start_that_holds_all_of_it() {
        let stock = shards(&[5, 1, 5, 5]);
        let four = StockShards::new(4).unwrap();
        assert_eq!(
            plan_takes(q(3), &stock, four, 1),
            Some(vec![ShardTake { shard: 2, quantity: q(3) }])
        );
        assert_eq!(
            plan_takes(q(3), &stock, four, 7),
            Some(vec![ShardTake { shard: 3, quantity: q(3) }])
        );
    }

    #[test]
    fn takes_all_from_shard_zero_are_recorded_as_none() {
        assert!(recorded_takes(vec![ShardTake { shard: 0, quantity: q(2) }]).is_empty());
        let elsewhere = vec![ShardTake { shard: 0, quantity: q(2) }, ShardTake { shard: 3, quantity: q(1) }];
        assert_eq!(recorded_takes(elsewhere.clone()), elsewhere);
    }

    #[test]
    fn a_line_no_single_shard_holds_takes_from_several_fullest_first() {
        let stock = shards(&[2, 4, 1, 0]);
        let takes = plan_takes(q(6), &stock, StockShards::new(4).unwrap(), 0).unwrap();
        assert_eq!(
            takes,
            vec![ShardTake { shard: 1, quantity: q(4) }, ShardTake { shard: 0, quantity: q(2) }]
        );
        assert_eq!(plan_takes(q(8), &stock, StockShards::new(4).unwrap(), 0), None);
    }

    #[test]
    fn draining_shards_are_never_held_from() {
        let stock = shards(&[0, 0, 9]);
        assert_eq!(plan_takes(q(1), &stock, StockShards::new(2).unwrap(), 0), None);
    }

    #[test]
    fn giving_back_returns_the_last_takes_first_and_keeps_the_rest() {
        let takes = [ShardTake { shard: 3, quantity: q(2) }, ShardTake { shard: 5, quantity: q(3) }];
        let (kept, returned) = give_back(&takes, 4);
        assert_eq!(kept, vec![ShardTake { shard: 3, quantity: q(1) }]);
        assert_eq!(
            returned,
            vec![ShardTake { shard: 5, quantity: q(3) }, ShardTake { shard: 3, quantity: q(1) }]
        );
        let (kept, returned) = give_back(&takes, 5);
        assert!(kept.is_empty());
        assert_eq!(returned.iter().map(|take| take.quantity.get()).sum::<u32>(), 5);
    }

    #[test]
    fn merged_takes_add_up_per_shard() {
        let merged = merge_takes([
            ShardTake { shard: 1, quantity: q(2) },
            ShardTake { shard: 4, quantity: q(1) },
            ShardTake { shard: 1, quantity: q(3) },
        ]);
        assert_eq!(
            merged,
            vec![ShardTake { shard: 1, quantity: q(5) }, ShardTake { shard: 4, quantity: q(1) }]
        );
    }

    #[test]
    fn rebalancing_evens_the_active_shards_and_empties_the_draining_ones_without_changing_the_sum() {
        let stock = shards(&[10, 0, 3, 0, 7]);
        let moves = rebalance(&stock, StockShards::new(4).unwrap());
        assert_eq!(moves.iter().map(|(_, delta)| delta).sum::<i64>(), 0);
        let mut after = stock.clone();
        for (shard, delta) in &moves {
            after[usize::from(*shard)].available += delta;
        }
        let active: Vec<i64> = after[..4].iter().map(|shard| shard.available).collect();
        assert_eq!(after[4].available, 0);
        assert!(active.iter().max().unwrap() - active.iter().min().unwrap() <= 1, "{active:?}");
        assert_eq!(active.iter().sum::<i64>(), 20);
    }

    #[test]
    fn setting_on_hand_spreads_the_free_units_and_keeps_every_hold() {
        let mut stock = shards(&[1, 1, 1, 1, 1]);
        stock[1].reserved = 2;
        stock[1].on_hand = 3;
        stock[4].reserved = 3;
        stock[4].on_hand = 4;
        let after = spread(23, &stock, StockShards::new(3).unwrap()).unwrap();
        assert_eq!(after.len(), 5, "shard 4 still holds units");
        assert_eq!(after.iter().map(|shard| shard.on_hand).sum::<i64>(), 23);
        assert_eq!(after.iter().map(|shard| shard.reserved).sum::<i64>(), 5);
        assert_eq!(after.iter().map(|shard| shard.available).collect::<Vec<_>>(), vec![6, 6, 6, 0, 0]);
        assert!(after.iter().all(|shard| shard.on_hand == shard.available + shard.reserved));
        assert_eq!(spread(4, &stock, StockShards::new(3).unwrap()), None);
        let shrunk = spread(10, &shards(&[1, 1, 1, 1]), StockShards::ONE).unwrap();
        assert_eq!(shrunk.len(), 1, "shards holding nothing are dropped");
        assert_eq!(shrunk[0].available, 10);
    }

    #[test]
    fn even_shards_need_no_moves() {
        assert!(rebalance(&shards(&[3, 3, 2, 3]), StockShards::new(4).unwrap()).is_empty());
        assert!(rebalance(&shards(&[0; 16]), sixteen()).is_empty());
    }
}
