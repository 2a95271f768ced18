//! A per-instance circuit breaker on storage. After `failures` requests in a row that storage
//! failed (503 after the SDK's retries), the breaker opens: requests are answered 503 with
//! `Retry-After` at once, instead of each waiting through the SDK's retries and timeouts and
//! adding load to a struggling table. After `cooldown` one request is let through as a probe
//! (half-open): if storage answers, the breaker closes; if not, it opens again.

use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerSettings {
    /// Storage failures in a row that open the breaker.
    pub failures: u32,
    /// How long it stays open before a probe is let through.
    pub cooldown: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed {
        failures: u32,
    },
    Open {
        until: Instant,
    },
    /// One probe is out; everyone else is turned away until it answers.
    HalfOpen,
}

/// What a request found out about storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Storage answered (whatever the business answer was).
    Answered,
    /// Storage stayed unavailable through the SDK's retries.
    Failed,
    /// The request ended before it reached storage (bad input, no access).
    Untested,
}

/// Whether a request may go to storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Admitted,
    /// Turned away: try again after this long.
    Refused {
        retry_after: Duration,
    },
}

#[derive(Debug)]
pub struct Breaker {
    settings: BreakerSettings,
    state: Mutex<State>,
}

impl Breaker {
    pub fn new(settings: BreakerSettings) -> Self {
        Self {
            settings,
            state: Mutex::new(State::Closed { failures: 0 }),
        }
    }

    pub fn admit(&self, now: Instant) -> Admission {
        let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match *state {
            State::Closed { .. } => Admission::Admitted,
            State::Open { until } if now >= until => {
                tracing::info!("storage breaker half-open: probing");
                *state = State::HalfOpen;
                Admission::Admitted
            }
            State::Open { until } => Admission::Refused { retry_after: until - now },
            State::HalfOpen => Admission::Refused {
                retry_after: self.settings.cooldown,
            },
        }
    }

    /// What an admitted request found out about storage.
    pub fn record(&self, outcome: Outcome, now: Instant) {
        let storage_answered = match outcome {
            Outcome::Answered => true,
            Outcome::Failed => false,
            Outcome::Untested => {
                // A probe that never reached storage proves nothing: the next request probes.
                let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                if *state == State::HalfOpen {
                    *state = State::Open { until: now };
                }
                return;
            }
        };
        let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        *state = match (*state, storage_answered) {
            (_, true) => {
                if !matches!(*state, State::Closed { .. }) {
                    tracing::info!("storage breaker closed");
                }
                State::Closed { failures: 0 }
            }
            (State::Closed { failures }, false) if failures + 1 < self.settings.failures => State::Closed { failures: failures + 1 },
            (State::Open { until }, false) => State::Open { until },
            (_, false) => {
                tracing::warn!(cooldown_ms = self.settings.cooldown.as_millis() as u64, "storage breaker open");
                crate::metrics::count("StorageBreakerOpened", 1, &[]);
                State::Open {
                    until: now + self.settings.cooldown,
                }
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker() -> Breaker {
        Breaker::new(BreakerSettings {
            failures: 3,
            cooldown: Duration::from_secs(10),
        })
    }

    #[test]
    fn it_opens_after_the_failures_in_a_row_and_a_success_between_resets_the_count() {
        let breaker = breaker();
        let now = Instant::now();
        for answered in [false, false, true, false, false] {
            assert_eq!(breaker.admit(now), Admission::Admitted);
            breaker.record(if answered { Outcome::Answered } else { Outcome::Failed }, now);
        }
        assert_eq!(breaker.admit(now), Admission::Admitted, "two in a row since the success");
        breaker.record(Outcome::Failed, now);
        assert_eq!(
            breaker.admit(now + Duration::from_secs(4)),
            Admission::Refused {
                retry_after: Duration::from_secs(6)
            }
        );
    }

    #[test]
    fn after_the_cooldown_one_probe_goes_through_and_its_answer_closes_or_reopens() {
        let breaker = breaker();
        let start = Instant::now();
        for _ in 0..3 {
            breaker.record(Outcome::Failed, start);
        }
        let later = start + Duration::from_secs(10);
        assert_eq!(breaker.admit(later), Admission::Admitted, "a probe");
        breaker.record(Outcome::Untested, later);
        assert_eq!(
            breaker.admit(later),
            Admission::Admitted,
            "a probe that proved nothing is followed by another"
        );
        assert!(
            matches!(breaker.admit(later), Admission::Refused { .. }),
            "only one probe at a time"
        );
        breaker.record(Outcome::Failed, later);
        assert!(
            matches!(breaker.admit(later + Duration::from_secs(1)), Admission::Refused { .. }),
            "open again"
        );
        let again = later + Duration::from_secs(10);
        assert_eq!(breaker.admit(again), Admission::Admitted);
        breaker.record(Outcome::Answered, again);
        assert_eq!(breaker.admit(again), Admission::Admitted);
        assert_eq!(breaker.admit(again), Admission::Admitted, "closed: everyone goes through");
    }
}
