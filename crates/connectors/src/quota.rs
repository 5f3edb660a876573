//! Pacing vendor calls under a vendor's unit budget (Gmail: 15,000 units per user per minute, a
//! `messages.get` costing 5). One token bucket per budget holder, filled at the budget's rate and
//! holding at most a minute's worth. A call spends its units up front; when the bucket is short it
//! still reserves them (the bucket goes negative) and waits until they would have been refilled, so
//! concurrent callers queue in arrival order instead of all retrying at once. The limiter is per
//! process: several ferry processes sharing one account each keep their own count.

use ferry_model::connector::QuotaDef;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Monotonic time for the limiter, injected so tests control it.
pub trait QuotaClock: Send + Sync {
    /// Time elapsed since an arbitrary fixed start.
    fn elapsed(&self) -> Duration;
}

/// The real monotonic clock.
#[derive(Debug)]
pub struct MonotonicClock {
    start: Instant,
}

impl Default for MonotonicClock {
    fn default() -> Self {
        MonotonicClock {
            start: Instant::now(),
        }
    }
}

impl QuotaClock for MonotonicClock {
    fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }
}

/// What a call must do before it may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaDecision {
    /// Wait this long (often zero), then send; the units are spent.
    Wait(Duration),
    /// The wait would be longer than the budget allows; nothing was spent. Retry after this long.
    Refused(Duration),
}

/// Millionths of a unit, so refills over a few nanoseconds are not lost to rounding.
const MICRO: i128 = 1_000_000;
/// A minute in nanoseconds.
const MINUTE_NANOS: i128 = 60_000_000_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// Micro-units available now; negative when callers are already queued.
    available: i128,
    updated: Duration,
}

/// An operator's changes to connectors' budgets: `gmail=30000` paces Gmail calls under 30,000
/// units a minute, `gmail=off` not at all (an emulator has no quota to protect).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QuotaOverrides(BTreeMap<String, Option<u32>>);

impl QuotaOverrides {
    /// Parses `KEY=UNITS` or `KEY=off` items.
    pub fn parse<S: AsRef<str>>(items: &[S]) -> Result<QuotaOverrides, String> {
        let mut overrides = BTreeMap::new();
        for item in items
            .iter()
            .map(AsRef::as_ref)
            .map(str::trim)
            .filter(|i| !i.is_empty())
        {
            let Some((key, value)) = item.split_once('=') else {
                return Err(format!(
                    "vendor quota {item:?} is not of the form CONNECTOR=UNITS or CONNECTOR=off"
                ));
            };
            let units = match value.trim() {
                "off" => None,
                number => Some(number.parse::<u32>().ok().filter(|n| *n > 0).ok_or_else(|| {
                    format!("vendor quota {item:?}: {number:?} is not a positive number of units per minute or off")
                })?),
            };
            overrides.insert(key.trim().to_owned(), units);
        }
        Ok(QuotaOverrides(overrides))
    }
}

/// Unit budgets by holder (e.g. `gmail:ada@example.com`). Cheap to clone.
#[derive(Clone)]
pub struct QuotaLimiter {
    clock: Arc<dyn QuotaClock>,
    buckets: Arc<Mutex<HashMap<String, Bucket>>>,
    overrides: Arc<QuotaOverrides>,
}

impl Default for QuotaLimiter {
    fn default() -> Self {
        QuotaLimiter::new(Arc::new(MonotonicClock::default()))
    }
}

impl QuotaLimiter {
    pub fn new(clock: Arc<dyn QuotaClock>) -> Self {
        QuotaLimiter {
            clock,
            buckets: Arc::new(Mutex::new(HashMap::new())),
            overrides: Arc::default(),
        }
    }

    pub fn with_overrides(mut self, overrides: QuotaOverrides) -> Self {
        self.overrides = Arc::new(overrides);
        self
    }

    /// The budget a connector's calls are paced under: its own, or the operator's override.
    pub fn budget<'d>(
        &self,
        connector: &str,
        own: Option<&'d QuotaDef>,
    ) -> Option<Cow<'d, QuotaDef>> {
        match self.overrides.0.get(connector) {
            None => own.map(Cow::Borrowed),
            Some(None) => None,
            Some(Some(units)) => {
                let mut quota = own.cloned().unwrap_or(QuotaDef {
                    units_per_minute: *units,
                    per: Default::default(),
                    max_wait_seconds: 30,
                });
                quota.units_per_minute = *units;
                Some(Cow::Owned(quota))
            }
        }
    }

    /// Spends `cost` units of `holder`'s budget, or says why not.
    pub fn reserve(&self, holder: &str, cost: u32, quota: &QuotaDef) -> QuotaDecision {
        let per_minute = i128::from(quota.units_per_minute.max(1));
        let capacity = per_minute * MICRO;
        let now = self.clock.elapsed();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let bucket = buckets.entry(holder.to_owned()).or_insert(Bucket {
            available: capacity,
            updated: now,
        });
        let elapsed = now.saturating_sub(bucket.updated).as_nanos() as i128;
        let refilled = elapsed * per_minute * MICRO / MINUTE_NANOS;
        bucket.available = (bucket.available + refilled).min(capacity);
        bucket.updated = now;
        let cost = i128::from(cost) * MICRO;
        let shortfall = cost - bucket.available;
        let wait = if shortfall > 0 {
            let divisor = per_minute * MICRO;
            let nanos = (shortfall * MINUTE_NANOS + divisor - 1) / divisor;
            Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
        } else {
            Duration::ZERO
        };
        if wait > Duration::from_secs(quota.max_wait_seconds) {
            return QuotaDecision::Refused(wait);
        }
        bucket.available -= cost;
        QuotaDecision::Wait(wait)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_model::connector::QuotaScope;

    #[derive(Default)]
    struct FakeClock(Mutex<Duration>);

    impl FakeClock {
        fn advance(&self, by: Duration) {
            *self.0.lock().unwrap() += by;
        }
    }

    impl QuotaClock for FakeClock {
        fn elapsed(&self) -> Duration {
            *self.0.lock().unwrap()
        }
    }

    fn gmail() -> QuotaDef {
        QuotaDef {
            units_per_minute: 15_000,
            per: QuotaScope::Account,
            max_wait_seconds: 30,
        }
    }

    #[test]
    fn a_minutes_budget_goes_at_once_then_calls_are_paced_at_the_refill_rate() {
        let clock = Arc::new(FakeClock::default());
        let limiter = QuotaLimiter::new(clock.clone());
        // 3,000 messages.get at 5 units each spend the whole minute without waiting.
        for _ in 0..3_000 {
            assert_eq!(
                limiter.reserve("gmail:ada", 5, &gmail()),
                QuotaDecision::Wait(Duration::ZERO)
            );
        }
        // The next ones queue: 250 units come back per second, so each get waits 20 ms more.
        assert_eq!(
            limiter.reserve("gmail:ada", 5, &gmail()),
            QuotaDecision::Wait(Duration::from_millis(20))
        );
        assert_eq!(
            limiter.reserve("gmail:ada", 5, &gmail()),
            QuotaDecision::Wait(Duration::from_millis(40))
        );
        // Another account has its own budget.
        assert_eq!(
            limiter.reserve("gmail:grace", 5, &gmail()),
            QuotaDecision::Wait(Duration::ZERO)
        );
        // Time refills what was queued and more.
        clock.advance(Duration::from_secs(1));
        assert_eq!(
            limiter.reserve("gmail:ada", 100, &gmail()),
            QuotaDecision::Wait(Duration::ZERO)
        );
    }

    #[test]
    fn operators_may_change_or_lift_a_connectors_budget() {
        let overrides = QuotaOverrides::parse(&["gmail=off", " acme = 600 "]).unwrap();
        let limiter = QuotaLimiter::default().with_overrides(overrides);
        assert!(limiter.budget("gmail", Some(&gmail())).is_none());
        assert_eq!(
            limiter
                .budget("acme", Some(&gmail()))
                .unwrap()
                .units_per_minute,
            600
        );
        assert_eq!(limiter.budget("acme", None).unwrap().units_per_minute, 600);
        assert_eq!(
            limiter
                .budget("other", Some(&gmail()))
                .unwrap()
                .units_per_minute,
            15_000
        );
        assert!(
            QuotaOverrides::parse(&["gmail"])
                .unwrap_err()
                .contains("CONNECTOR=UNITS")
        );
        assert!(
            QuotaOverrides::parse(&["gmail=0"])
                .unwrap_err()
                .contains("positive")
        );
    }

    #[test]
    fn a_wait_longer_than_allowed_is_refused_without_spending() {
        let clock = Arc::new(FakeClock::default());
        let limiter = QuotaLimiter::new(clock.clone());
        let small = QuotaDef {
            units_per_minute: 60,
            per: QuotaScope::Instance,
            max_wait_seconds: 5,
        };
        assert_eq!(
            limiter.reserve("i:1", 60, &small),
            QuotaDecision::Wait(Duration::ZERO)
        );
        // 10 more units need 10 s at one unit per second: over the 5 s allowed.
        assert_eq!(
            limiter.reserve("i:1", 10, &small),
            QuotaDecision::Refused(Duration::from_secs(10))
        );
        // The refusal spent nothing: 3 units are still only 3 s away.
        assert_eq!(
            limiter.reserve("i:1", 3, &small),
            QuotaDecision::Wait(Duration::from_secs(3))
        );
        clock.advance(Duration::from_secs(120));
        assert_eq!(
            limiter.reserve("i:1", 60, &small),
            QuotaDecision::Wait(Duration::ZERO)
        );
    }
}
