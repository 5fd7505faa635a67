//! Within-input normalisation: a value's place in a reference distribution, kept as a fixed
//! number of quantiles so that a fitted model stays small and scores new graphs (or one
//! account's subgraph) on the scale of the graph it was fitted on.

/// Quantiles kept per distribution.
const POINTS: usize = 1025;

/// The empirical distribution of one signal, as evenly spaced quantiles.
#[derive(Clone, Debug, PartialEq)]
pub struct Ecdf {
    /// Quantiles at ranks 0, 1/(n-1), ..., 1 of the fitted values, ascending.
    pub quantiles: Vec<f64>,
}

impl Ecdf {
    /// The distribution of the finite `values`, or none when they are all equal (a constant
    /// carries no signal) or there are none.
    pub fn fit(values: impl Iterator<Item = f64>) -> Option<Ecdf> {
        let mut v: Vec<f64> = values.filter(|x| x.is_finite()).collect();
        v.sort_unstable_by(f64::total_cmp);
        let (&lo, &hi) = (v.first()?, v.last()?);
        if lo == hi {
            return None;
        }
        let points = POINTS.min(v.len());
        let quantiles = (0..points)
            .map(|i| v[i * (v.len() - 1) / (points - 1)])
            .collect();
        Some(Ecdf { quantiles })
    }

    /// The share of the fitted distribution below `x`, counting ties as half: the mid-rank, so
    /// a value shared by most of the input sits in the middle of its tie, not at an end.
    pub fn rank(&self, x: f64) -> f64 {
        let q = &self.quantiles;
        let below = q.partition_point(|&v| v < x);
        let not_above = q.partition_point(|&v| v <= x);
        (below + not_above) as f64 / (2 * q.len()) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_are_mid_ranks_in_zero_one() {
        let e = Ecdf::fit([1.0, 2.0, 3.0, 4.0].into_iter()).unwrap();
        assert_eq!(e.rank(0.0), 0.0);
        assert_eq!(e.rank(5.0), 1.0);
        assert_eq!(e.rank(2.0), 0.375);
        // A tie holding three quarters of the mass ranks at its middle.
        let tied = Ecdf::fit([1.0, 1.0, 1.0, 9.0].into_iter()).unwrap();
        assert_eq!(tied.rank(1.0), 0.375);
        assert_eq!(tied.rank(9.0), 0.875);
    }

    #[test]
    fn constants_and_nothing_carry_no_signal() {
        assert!(Ecdf::fit([2.0, 2.0].into_iter()).is_none());
        assert!(Ecdf::fit([f64::NAN].into_iter()).is_none());
        assert!(Ecdf::fit(std::iter::empty()).is_none());
    }

    #[test]
    fn large_inputs_keep_a_fixed_sketch_with_the_extremes() {
        let e = Ecdf::fit((0..100_000).map(f64::from)).unwrap();
        assert_eq!(e.quantiles.len(), POINTS);
        assert_eq!(e.quantiles[0], 0.0);
        assert_eq!(*e.quantiles.last().unwrap(), 99_999.0);
        assert!((e.rank(25_000.0) - 0.25).abs() < 2e-3);
    }
}
