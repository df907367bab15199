//! The sliding-window-counter arithmetic every [`LimitStore`](super::LimitStore) shares.
//!
//! Time is cut into fixed windows aligned on the Unix epoch (so that every instance sharing a
//! store agrees on them). A key keeps two counts: the current window's and the previous one's.
//! The number of events "in the last window length" is estimated as
//! `current + previous × (length − elapsed) / length`, i.e. the previous window's events are
//! assumed spread evenly. All comparisons are exact integer arithmetic (scaled by the window
//! length), so decisions are deterministic under a manual clock.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The two counts a store keeps for one key, as seen from the window being asked about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WindowCounts {
    /// Events in the previous window.
    pub previous: u64,
    /// Events in the current window.
    pub current: u64,
}

/// What [`LimitStore::hit`](super::LimitStore::hit) answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    /// Whether the event was admitted (and counted).
    pub admitted: bool,
    /// The counts after the event when admitted, as they stand when not.
    pub counts: WindowCounts,
}

/// One moment seen through windows of one length: which window it falls in, and how far into
/// it. Built by the limiter from its clock and handed to the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlidingWindow {
    length_ms: u64,
    now_ms: u64,
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Milliseconds since the Unix epoch (0 before it).
pub(crate) fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, millis)
}

impl SlidingWindow {
    /// Windows of `length` (at least 1 ms) at the moment `now`.
    #[must_use]
    pub fn new(length: Duration, now: SystemTime) -> Self {
        Self {
            length_ms: millis(length).max(1),
            now_ms: unix_ms(now),
        }
    }

    /// The window length in milliseconds.
    #[must_use]
    pub fn length_ms(&self) -> u64 {
        self.length_ms
    }

    /// The moment, in milliseconds since the Unix epoch.
    #[must_use]
    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }

    /// The number of the current window (windows since the epoch).
    #[must_use]
    pub fn index(&self) -> u64 {
        self.now_ms / self.length_ms
    }

    /// Milliseconds since the current window began.
    #[must_use]
    pub fn elapsed_ms(&self) -> u64 {
        self.now_ms % self.length_ms
    }

    /// Counts stored while window `stored_index` was current, seen from this window: the same
    /// window keeps them (a store whose other clients' clocks run ahead keeps theirs too), the
    /// window just before becomes the previous one, older ones are forgotten.
    #[must_use]
    pub fn roll(&self, stored_index: u64, counts: WindowCounts) -> WindowCounts {
        let index = self.index();
        if stored_index >= index {
            counts
        } else if stored_index + 1 == index {
            WindowCounts {
                previous: counts.current,
                current: 0,
            }
        } else {
            WindowCounts::default()
        }
    }

    /// The estimate, scaled by the window length.
    fn weighted(&self, c: WindowCounts) -> u128 {
        let length = u128::from(self.length_ms);
        let remaining = length - u128::from(self.elapsed_ms());
        u128::from(c.current) * length + u128::from(c.previous) * remaining
    }

    /// Whether one more event keeps the estimate within `limit`.
    #[must_use]
    pub fn admits(&self, counts: WindowCounts, limit: u64) -> bool {
        let length = u128::from(self.length_ms);
        self.weighted(counts) + length <= u128::from(limit) * length
    }

    /// Whether the estimate has reached `threshold`.
    #[must_use]
    pub fn reaches(&self, counts: WindowCounts, threshold: u64) -> bool {
        self.weighted(counts) >= u128::from(threshold) * u128::from(self.length_ms)
    }

    /// How long until [`admits`](Self::admits) holds again, if nothing else is counted
    /// meanwhile (zero when it holds now; one window length for a limit of 0).
    #[must_use]
    pub fn retry_after(&self, counts: WindowCounts, limit: u64) -> Duration {
        if limit == 0 {
            return Duration::from_millis(self.length_ms);
        }
        if self.admits(counts, limit) {
            return Duration::ZERO;
        }
        let length = u128::from(self.length_ms);
        let elapsed = u128::from(self.elapsed_ms());
        let (current, previous, limit) = (
            u128::from(counts.current),
            u128::from(counts.previous),
            u128::from(limit),
        );
        // Later in this window, as the previous window's weight falls.
        if current < limit && previous > 0 {
            let slack = (limit - current - 1) * length / previous;
            if slack < length {
                let needed = length - slack;
                return Duration::from_millis(clamp_ms(needed.saturating_sub(elapsed)));
            }
        }
        // In the next window, where this window's count becomes the previous one.
        // (Nothing counted in this window: nothing weighs on the next.)
        let needed_next = ((limit - 1) * length)
            .checked_div(current)
            .map_or(0, |slack| length.saturating_sub(slack));
        Duration::from_millis(clamp_ms(length - elapsed + needed_next))
    }

    /// When counts stored now stop mattering (the end of the next window), in milliseconds
    /// since the epoch: a store may forget the key then.
    #[must_use]
    pub fn forget_at_ms(&self) -> u64 {
        self.index()
            .saturating_add(2)
            .saturating_mul(self.length_ms)
    }
}

fn clamp_ms(ms: u128) -> u64 {
    u64::try_from(ms).unwrap_or(u64::MAX)
}

/// A wait as `Retry-After` seconds: rounded up, at least 1.
pub(crate) fn retry_after_secs(wait: Duration) -> u32 {
    let secs = wait
        .as_secs()
        .saturating_add(u64::from(wait.subsec_nanos() > 0));
    u32::try_from(secs.max(1)).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn at(length_ms: u64, now_ms: u64) -> SlidingWindow {
        SlidingWindow::new(
            Duration::from_millis(length_ms),
            UNIX_EPOCH + Duration::from_millis(now_ms),
        )
    }

    fn counts(previous: u64, current: u64) -> WindowCounts {
        WindowCounts { previous, current }
    }

    #[test]
    fn a_fresh_window_admits_exactly_the_limit() {
        let w = at(60_000, 120_000);
        let mut c = WindowCounts::default();
        for _ in 0..5 {
            assert!(w.admits(c, 5));
            c.current += 1;
        }
        assert!(!w.admits(c, 5));
        assert!(w.reaches(c, 5));
        assert!(!w.reaches(counts(0, 4), 5));
    }

    #[test]
    fn rolling_moves_or_forgets_counts() {
        let w = at(1000, 5500);
        assert_eq!(w.index(), 5);
        assert_eq!(w.elapsed_ms(), 500);
        assert_eq!(w.roll(5, counts(1, 2)), counts(1, 2));
        assert_eq!(w.roll(6, counts(1, 2)), counts(1, 2));
        assert_eq!(w.roll(4, counts(1, 2)), counts(2, 0));
        assert_eq!(w.roll(3, counts(1, 2)), counts(0, 0));
        assert_eq!(w.forget_at_ms(), 7000);
    }

    #[test]
    fn the_previous_window_weighs_by_what_remains_of_it() {
        // Half-way through: 10 previous events weigh 5.
        let w = at(1000, 1500);
        assert!(w.reaches(counts(10, 0), 5));
        assert!(!w.reaches(counts(10, 0), 6));
        assert!(w.admits(counts(10, 0), 6));
        assert!(!w.admits(counts(10, 0), 5));
    }

    /// `retry_after` is the least wait after which `admits` holds, found by brute force.
    #[test]
    fn retry_after_is_the_least_wait_that_admits() {
        let length = 97;
        for limit in 0..6u64 {
            for previous in 0..8 {
                for current in 0..8 {
                    for elapsed in [0, 1, 30, 50, 96] {
                        let w = at(length, 10 * length + elapsed);
                        let c = counts(previous, current);
                        let wait = u64::try_from(w.retry_after(c, limit).as_millis()).unwrap();
                        if limit == 0 {
                            assert_eq!(wait, length);
                            continue;
                        }
                        let admits_after = |d: u64| {
                            let later = at(length, 10 * length + elapsed + d);
                            later.admits(later.roll(w.index(), c), limit)
                        };
                        assert!(
                            admits_after(wait),
                            "limit {limit} {c:?} elapsed {elapsed}: not admitted after {wait}"
                        );
                        if wait > 0 {
                            assert!(
                                !admits_after(wait - 1),
                                "limit {limit} {c:?} elapsed {elapsed}: admitted before {wait}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1000)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1001)), 2);
        assert_eq!(retry_after_secs(Duration::from_secs(900)), 900);
        assert_eq!(retry_after_secs(Duration::MAX), u32::MAX);
    }
}
