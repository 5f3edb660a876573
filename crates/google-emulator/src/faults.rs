//! Injected failures for the Gmail API of one account: the next N calls fail or are slow.

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// A failure to inject into an account's next Gmail API calls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Fault {
    /// Answer with this HTTP status and Gmail's error body for it (429 → `rateLimitExceeded`,
    /// 403 → `userRateLimitExceeded`, 500 → `backendError`, 503 → `UNAVAILABLE`), with a
    /// `Retry-After` header when given.
    Status {
        status: u16,
        retry_after_secs: Option<u64>,
        times: u32,
    },
    /// Sleep this long before answering normally.
    Delay { millis: u64, times: u32 },
}

/// One call's share of a fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FaultHit {
    Status {
        status: u16,
        retry_after_secs: Option<u64>,
    },
    Delay {
        millis: u64,
    },
}

/// The faults waiting for one account's calls, applied in the order they were injected.
#[derive(Debug, Default)]
pub(crate) struct FaultQueue {
    armed: AtomicBool,
    queue: Mutex<VecDeque<Fault>>,
}

impl FaultQueue {
    pub(crate) fn push(&self, fault: Fault) {
        let times = match &fault {
            Fault::Status { times, .. } | Fault::Delay { times, .. } => *times,
        };
        if times == 0 {
            return;
        }
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        q.push_back(fault);
        self.armed.store(true, Ordering::Release);
    }

    pub(crate) fn clear(&self) {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        q.clear();
        self.armed.store(false, Ordering::Release);
    }

    /// Takes one call's worth of the first pending fault, if any.
    pub(crate) fn take(&self) -> Option<FaultHit> {
        if !self.armed.load(Ordering::Acquire) {
            return None;
        }
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        let front = q.front_mut()?;
        let (hit, left) = match front {
            Fault::Status {
                status,
                retry_after_secs,
                times,
            } => {
                *times -= 1;
                (
                    FaultHit::Status {
                        status: *status,
                        retry_after_secs: *retry_after_secs,
                    },
                    *times,
                )
            }
            Fault::Delay { millis, times } => {
                *times -= 1;
                (FaultHit::Delay { millis: *millis }, *times)
            }
        };
        if left == 0 {
            q.pop_front();
        }
        if q.is_empty() {
            self.armed.store(false, Ordering::Release);
        }
        Some(hit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_are_consumed_in_order() {
        let q = FaultQueue::default();
        assert_eq!(q.take(), None);
        q.push(Fault::Status {
            status: 429,
            retry_after_secs: Some(2),
            times: 2,
        });
        q.push(Fault::Delay {
            millis: 5,
            times: 1,
        });
        assert!(matches!(
            q.take(),
            Some(FaultHit::Status { status: 429, .. })
        ));
        assert!(matches!(
            q.take(),
            Some(FaultHit::Status { status: 429, .. })
        ));
        assert_eq!(q.take(), Some(FaultHit::Delay { millis: 5 }));
        assert_eq!(q.take(), None);
    }
}
