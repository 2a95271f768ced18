//! Capped exponential backoff with full jitter, for what the AWS SDK does not retry itself:
//! transactions cancelled by a concurrent one, and keys a batch read left unprocessed. The SDK
//! retries throttling, 5xx and timeouts (configured once, in `adapters::aws`): retrying those
//! here too would multiply the attempts and outlast the client's patience.

use std::future::Future;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries in all, the first included.
    pub attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 4,
            base_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(400),
        }
    }
}

impl RetryPolicy {
    /// Tries again at once: for a write that lost to another writer, which reads again and has
    /// nothing to wait for.
    pub const IMMEDIATE: Self = Self {
        attempts: 1,
        base_delay: Duration::ZERO,
        max_delay: Duration::ZERO,
    };

    /// The longest wait before try `attempt` (1-based: the wait before the second try is 1).
    fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.saturating_sub(1)).unwrap_or(u32::MAX);
        self.base_delay.saturating_mul(factor).min(self.max_delay)
    }

    /// Waits before try `attempt + 1`: a random time up to the capped exponential ceiling.
    pub async fn back_off(&self, attempt: u32) {
        let ceiling = u64::try_from(self.ceiling(attempt).as_millis()).unwrap_or(u64::MAX);
        if ceiling == 0 {
            return;
        }
        let wait = rand::random_range(0..=ceiling);
        tracing::warn!(attempt, wait_ms = wait, "retrying after a passing failure");
        tokio::time::sleep(Duration::from_millis(wait)).await;
    }

    /// Runs `round` until it settles (`Some`), fails, or `rounds` run out (`None`), backing off
    /// between rounds: for a read-decide-write that another writer may win (a cart, an invoice
    /// number), each round reading again.
    pub async fn rounds<T, E, F, Fut>(&self, rounds: u32, mut round: F) -> Result<Option<T>, E>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Option<T>, E>>,
    {
        for attempt in 1..=rounds {
            if attempt > 1 {
                self.back_off(attempt - 1).await;
            }
            if let Some(done) = round().await? {
                return Ok(Some(done));
            }
        }
        Ok(None)
    }

    /// Runs `step` on what is left (entries a batch call did not take) until nothing is, or the
    /// tries run out, backing off between tries: answers what is still left.
    pub async fn drain<T, E, F, Fut>(&self, mut left: Vec<T>, mut step: F) -> Result<Vec<T>, E>
    where
        F: FnMut(Vec<T>) -> Fut,
        Fut: Future<Output = Result<Vec<T>, E>>,
    {
        for attempt in 1..=self.attempts {
            if attempt > 1 {
                self.back_off(attempt - 1).await;
            }
            left = step(left).await?;
            if left.is_empty() {
                break;
            }
        }
        Ok(left)
    }

    /// Runs `call` until it succeeds, fails for good, or the tries run out; the last error wins.
    pub async fn run<T, E, F, Fut>(&self, worth_retrying: impl Fn(&E) -> bool, mut call: F) -> Result<T, E>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let mut attempt = 1;
        loop {
            match call().await {
                Err(err) if attempt < self.attempts && worth_retrying(&err) => {
                    self.back_off(attempt).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    #[test]
    fn waits_double_up_to_the_cap() {
        let policy = RetryPolicy::default();
        let ceilings: Vec<u128> = (1..=6).map(|n| policy.ceiling(n).as_millis()).collect();
        assert_eq!(ceilings, vec![20, 40, 80, 160, 320, 400]);
        assert_eq!(policy.ceiling(64), policy.max_delay);
    }

    #[tokio::test]
    async fn transient_errors_are_retried_until_the_attempts_run_out() {
        let policy = RetryPolicy {
            attempts: 3,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
        };
        let calls = Cell::new(0);
        let result: Result<(), &str> = policy
            .run(
                |_| true,
                || async {
                    calls.set(calls.get() + 1);
                    Err("busy")
                },
            )
            .await;
        assert_eq!(result, Err("busy"));
        assert_eq!(calls.get(), 3);
    }

    #[tokio::test]
    async fn permanent_errors_are_not_retried() {
        let policy = RetryPolicy::default();
        let calls = Cell::new(0);
        let result: Result<(), &str> = policy
            .run(
                |_| false,
                || async {
                    calls.set(calls.get() + 1);
                    Err("bad")
                },
            )
            .await;
        assert_eq!(result, Err("bad"));
        assert_eq!(calls.get(), 1);
    }
}
