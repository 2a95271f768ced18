//! Where a request's time goes, for its `Server-Timing` header: waiting for storage (`db`),
//! for queues and the bus (`queue`), and everything else (`app`: parsing, the domain,
//! serialisation, the Lambda adapter). An SDK interceptor on each client adds every call's
//! duration and count to the request's tally, a task-local set up around the handler.

use std::cell::RefCell;
use std::future::Future;
use std::time::{Duration, Instant};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{BeforeSerializationInterceptorContextRef, FinalizerInterceptorContextRef};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};

/// What the calls of one request cost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub db: Duration,
    pub db_calls: u32,
    pub queue: Duration,
    pub queue_calls: u32,
}

tokio::task_local! {
    static TALLY: RefCell<Tally>;
}

/// Runs `work`, tallying the calls it makes.
pub async fn tallied<F: Future>(work: F) -> (F::Output, Tally) {
    TALLY
        .scope(RefCell::new(Tally::default()), async {
            let output = work.await;
            (output, TALLY.with(|tally| *tally.borrow()))
        })
        .await
}

/// `db;dur=3.1;desc="2 calls", queue;dur=0.0;desc="0 calls", app;dur=0.4` for a request that
/// took `total` in all (durations in milliseconds).
pub fn server_timing(tally: &Tally, total: Duration) -> String {
    let app = total.saturating_sub(tally.db + tally.queue);
    let ms = |duration: Duration| duration.as_secs_f64() * 1000.0;
    format!(
        "db;dur={:.3};desc=\"{} calls\", queue;dur={:.3};desc=\"{} calls\", app;dur={:.3}",
        ms(tally.db),
        tally.db_calls,
        ms(tally.queue),
        tally.queue_calls,
        ms(app)
    )
}

/// Which part of the tally a client's calls go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Db,
    Queue,
}

/// The interceptor that times each call (all its attempts) of one client.
#[derive(Debug, Clone, Copy)]
pub struct Stopwatch(pub Kind);

#[derive(Debug, Clone, Copy)]
struct Started(Instant);

impl Storable for Started {
    type Storer = StoreReplace<Self>;
}

impl Intercept for Stopwatch {
    fn name(&self) -> &'static str {
        "Stopwatch"
    }

    fn read_before_execution(&self, _context: &BeforeSerializationInterceptorContextRef<'_>, cfg: &mut ConfigBag) -> Result<(), BoxError> {
        cfg.interceptor_state().store_put(Started(Instant::now()));
        Ok(())
    }

    fn read_after_execution(
        &self,
        _context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(Started(started)) = cfg.load::<Started>().copied() {
            let spent = started.elapsed();
            // Outside a tallied request (a consumer, the runner) there is nothing to add to.
            let _ = TALLY.try_with(|tally| {
                let mut tally = tally.borrow_mut();
                match self.0 {
                    Kind::Db => {
                        tally.db += spent;
                        tally.db_calls += 1;
                    }
                    Kind::Queue => {
                        tally.queue += spent;
                        tally.queue_calls += 1;
                    }
                }
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_names_each_part_in_milliseconds_and_app_is_what_calls_did_not_take() {
        let tally = Tally {
            db: Duration::from_micros(3_100),
            db_calls: 2,
            queue: Duration::ZERO,
            queue_calls: 0,
        };
        assert_eq!(
            server_timing(&tally, Duration::from_micros(3_500)),
            "db;dur=3.100;desc=\"2 calls\", queue;dur=0.000;desc=\"0 calls\", app;dur=0.400"
        );
    }

    #[tokio::test]
    async fn a_tally_counts_only_what_its_own_request_added() {
        let ((), tally) = tallied(async {
            TALLY.with(|tally| tally.borrow_mut().db_calls += 1);
        })
        .await;
        assert_eq!(tally.db_calls, 1);
        let ((), other) = tallied(async {}).await;
        assert_eq!(other, Tally::default());
    }
}
