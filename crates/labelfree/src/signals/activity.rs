//! Activity volume and burstiness: single-use accounts, accounts whose actions fall on one day,
//! and accounts active over a short span. Fake-review accounts are typically made for one job.

use super::{Act, Actions, DAY, known_times, per_active_account};

/// Fewer actions is more suspect: `-ln(actions)`.
pub(crate) fn low_activity(actions: &Actions) -> Vec<Option<f64>> {
    per_active_account(actions, |acts| Some(-(acts.len() as f64).ln()))
}

/// The share of an account's timed actions that fall on its busiest UTC day.
pub(crate) fn peak_day_share(actions: &Actions) -> Vec<Option<f64>> {
    per_active_account(actions, |acts| {
        let days: Vec<i64> = known_times(acts)
            .iter()
            .map(|t| t.div_euclid(DAY))
            .collect();
        let mut best = 0;
        let mut run = 0;
        for (i, d) in days.iter().enumerate() {
            run = if i > 0 && days[i - 1] == *d {
                run + 1
            } else {
                1
            };
            best = best.max(run);
        }
        (!days.is_empty()).then(|| best as f64 / days.len() as f64)
    })
}

/// A shorter activity span is more suspect: minus the days from first to last timed action.
pub(crate) fn short_span(actions: &Actions) -> Vec<Option<f64>> {
    per_active_account(actions, |acts: &[Act]| {
        let t = known_times(acts);
        Some(-((t.last()? - t.first()?) as f64 / DAY as f64))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signals::tests::reviews;

    #[test]
    fn volume_day_peak_and_span() {
        // a: three reviews on one day; b: two reviews ten days apart; c: nothing.
        let g = reviews(
            3,
            3,
            &[
                (0, 0, 5.0, 0),
                (0, 1, 5.0, 3600),
                (0, 2, 5.0, 7200),
                (1, 0, 3.0, 0),
                (1, 1, 4.0, 10 * DAY),
            ],
        );
        let actions = Actions::of(&g);
        let low = low_activity(&actions);
        assert_eq!(low[0], Some(-(3f64.ln())));
        assert_eq!(low[1], Some(-(2f64.ln())));
        assert_eq!(low[2], None);
        let peak = peak_day_share(&actions);
        assert_eq!((peak[0], peak[1]), (Some(1.0), Some(0.5)));
        let span = short_span(&actions);
        assert_eq!(span[0], Some(-(7200.0 / DAY as f64)));
        assert_eq!(span[1], Some(-10.0));
    }
}
