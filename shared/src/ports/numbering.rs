//! The counters order numbers come from.

use async_trait::async_trait;

use super::StoreError;

/// The counters order numbers are claimed from, a block at a time.
#[async_trait]
pub trait NumberBlocks: Send + Sync {
    /// Claims the next block of order numbers of `day` from counter `shard`: answers how many
    /// blocks that counter has handed out, this one included (1 for its first).
    async fn claim_number_block(&self, day: chrono::NaiveDate, shard: u32) -> Result<u64, StoreError>;
}
