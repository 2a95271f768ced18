//! Hands out order numbers from blocks this instance claimed (see `domain::numbering`).

use chrono::{DateTime, NaiveDate, Utc};
use rand::Rng;

use crate::domain::numbering::{block_range, OrderNumber, NUMBER_SHARDS};
use crate::ports::{NumberBlocks, StoreError};

struct Block {
    day: NaiveDate,
    next: u64,
    last: u64,
}

/// One per instance: numbers of the current block, one at a time.
pub struct NumberAllocator {
    prefix: String,
    block: tokio::sync::Mutex<Option<Block>>,
}

impl NumberAllocator {
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
            block: tokio::sync::Mutex::new(None),
        }
    }

    /// The next number for an order placed `now`: from the current block, or the first of a
    /// block claimed now (once every `BLOCK_SIZE` orders, and when the UTC day turns).
    pub async fn next(&self, store: &dyn NumberBlocks, now: DateTime<Utc>) -> Result<OrderNumber, StoreError> {
        let day = now.date_naive();
        let mut current = self.block.lock().await;
        if let Some(block) = current.as_mut().filter(|block| block.day == day && block.next <= block.last) {
            let sequence = block.next;
            block.next += 1;
            return Ok(OrderNumber::new(&self.prefix, day, sequence));
        }
        let shard = rand::rng().random_range(0..NUMBER_SHARDS);
        let claimed = store.claim_number_block(day, shard).await?;
        let range = block_range(shard, claimed);
        *current = Some(Block {
            day,
            next: range.start() + 1,
            last: *range.end(),
        });
        Ok(OrderNumber::new(&self.prefix, day, *range.start()))
    }
}
