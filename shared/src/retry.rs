//! Capped exponential backoff with full jitter, for transient failures only.

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
    /// The longest wait before try `attempt` (1-based: the wait before the second try is 1).
    fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.saturating_sub(1)).unwrap_or(u32::MAX);
        self.base_delay.saturating_mul(factor).min(self.max_delay)
    }

    /// Runs `call` until it succeeds, fails for good, or the tries run out; the last error wins.
    pub async fn run<T, E, F, Fut>(&self, is_transient: impl Fn(&E) -> bool, mut call: F) -> Result<T, E>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let mut attempt = 1;
        loop {
            match call().await {
                Err(err) if attempt < self.attempts && is_transient(&err) => {
                    let ceiling = self.ceiling(attempt).as_millis() as u64;
                    let wait = rand::random_range(0..=ceiling);
                    tracing::warn!(attempt, wait_ms = wait, "transient failure, retrying");
                    tokio::time::sleep(Duration::from_millis(wait)).await;
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
