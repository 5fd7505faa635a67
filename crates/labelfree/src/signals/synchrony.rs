//! Synchrony at several time scales: how many other actions hit the same target close to each of
//! an account's actions, against what the target's own rate predicts. A campaign lands within
//! minutes, hours or days; a slow one within weeks. Busy targets expect more company, so their
//! organic traffic does not count as synchrony.

use super::{Actions, DAY, per_active_account};
use ringscope_graph::NO_TIME;

/// Window widths, in seconds: an hour, a day, a week.
const SCALES: [i64; 3] = [3_600, DAY, 7 * DAY];

/// Mean over an account's timed actions and over [`SCALES`] of
/// `ln((1 + others in the window) / (1 + others expected there))`, where a target with `n`
/// actions over a span `T` expects `(n - 1) * min(w, T) / T` others in a window of width `w`.
pub(crate) fn synchrony(actions: &Actions) -> Vec<Option<f64>> {
    per_active_account(actions, |acts| {
        let mut sum = 0.0;
        let mut n = 0usize;
        for a in acts.iter().filter(|a| a.time != NO_TIME) {
            let times = &actions.target_times[a.rel][a.target as usize];
            let others = (times.len() - 1) as f64;
            let span = (times[times.len() - 1] - times[0]) as f64;
            for w in SCALES {
                let lo = times.partition_point(|&t| t < a.time - w / 2);
                let hi = times.partition_point(|&t| t <= a.time + w / 2);
                let seen = (hi - lo - 1) as f64;
                let expected = if span > 0.0 {
                    others * (w as f64).min(span) / span
                } else {
                    others
                };
                sum += ((1.0 + seen) / (1.0 + expected)).ln();
                n += 1;
            }
        }
        (n > 0).then(|| sum / n as f64)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signals::tests::reviews;

    #[test]
    fn a_burst_on_a_quiet_target_is_synchronous_and_steady_traffic_is_not() {
        // Product 0: one review every 30 days for a year (accounts 0..12), then accounts 12..16
        // within ten minutes.
        let mut rows: Vec<(u32, u32, f32, i64)> = (0..12)
            .map(|i| (i, 0, 4.0, i64::from(i) * 30 * DAY))
            .collect();
        for i in 12..16 {
            rows.push((i, 0, 5.0, 400 * DAY + i64::from(i) * 120));
        }
        let s = synchrony(&Actions::of(&reviews(16, 1, &rows)));
        let steady = s[5].unwrap();
        let burst = s[13].unwrap();
        assert!(steady < 0.1, "steady traffic {steady}");
        assert!(burst > 1.0, "burst {burst}");
    }
}
