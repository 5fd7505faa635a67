//! The tail probabilities the null models need, in log10 so that tiny p-values stay exact.

const LN_10: f64 = std::f64::consts::LN_10;

/// `ln(k!)`: exact sums up to 256, Stirling's series beyond (error below 1e-10).
pub fn ln_factorial(k: u64) -> f64 {
    if k < 256 {
        return (2..=k).map(|j| (j as f64).ln()).sum();
    }
    let n = k as f64;
    n * n.ln() - n + 0.5 * (2.0 * std::f64::consts::PI * n).ln() + 1.0 / (12.0 * n)
        - 1.0 / (360.0 * n.powi(3))
}

/// `log10 P(X >= k)` for `X ~ Poisson(lambda)`.
pub fn poisson_tail_log10(lambda: f64, k: u64) -> f64 {
    if k == 0 {
        return 0.0;
    }
    if lambda.is_nan() || lambda <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if k as f64 <= lambda {
        // The tail is at least about a half here; the complement is accurate enough.
        let mut term = (-lambda).exp();
        let mut cdf = term;
        for j in 1..k {
            term *= lambda / j as f64;
            cdf += term;
        }
        return (1.0 - cdf).clamp(f64::MIN_POSITIVE, 1.0).log10();
    }
    // Sum the tail from its largest term, P(X = k), as a ratio series.
    let ln_first = -lambda + k as f64 * lambda.ln() - ln_factorial(k);
    let (mut sum, mut term, mut j) = (1.0f64, 1.0f64, k);
    loop {
        j += 1;
        term *= lambda / j as f64;
        sum += term;
        if term < 1e-16 * sum {
            break;
        }
    }
    ((ln_first + sum.ln()) / LN_10).min(0.0)
}

/// `P(X >= k)` for `X ~ Binomial(n, p)`, for the small `k` the detectors use.
pub fn binomial_at_least(n: u64, p: f64, k: u64) -> f64 {
    if k == 0 {
        return 1.0;
    }
    if k > n || p <= 0.0 {
        return 0.0;
    }
    if p >= 1.0 {
        return 1.0;
    }
    // 1 - P(X < k), each term from the last: C(n, j+1) p^(j+1) q^(n-j-1).
    let q = 1.0 - p;
    let mut term = q.powf(n as f64);
    let mut below = term;
    for j in 0..k - 1 {
        term *= (n - j) as f64 / (j + 1) as f64 * p / q;
        below += term;
    }
    (1.0 - below).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tails_match_direct_sums() {
        let direct = |lambda: f64, k: u64| {
            let mut cdf = 0.0;
            for j in 0..k {
                cdf += (-lambda + j as f64 * lambda.ln() - ln_factorial(j)).exp();
            }
            1.0 - cdf
        };
        for (lambda, k) in [(0.5, 1), (0.5, 3), (2.0, 2), (2.0, 7), (10.0, 25), (3.0, 1)] {
            let want = direct(lambda, k).log10();
            let got = poisson_tail_log10(lambda, k);
            assert!(
                (got - want).abs() < 1e-9,
                "λ {lambda}, k {k}: {got} vs {want}"
            );
        }
        // Far in the tail, where 1 - cdf underflows: P(X >= 60 | 1) = e^-1 / 60! (1 + ...).
        let far = poisson_tail_log10(1.0, 60);
        let first = (-1.0 - ln_factorial(60)) / LN_10;
        assert!(far > first && far < first + 0.01, "{far} vs {first}");
        assert_eq!(poisson_tail_log10(0.0, 1), f64::NEG_INFINITY);
        assert_eq!(poisson_tail_log10(5.0, 0), 0.0);
        assert!((ln_factorial(300) - (1..=300).map(|j| (j as f64).ln()).sum::<f64>()).abs() < 1e-8);
    }

    #[test]
    fn binomial_tails() {
        assert!((binomial_at_least(3, 0.5, 1) - 0.875).abs() < 1e-12);
        assert!((binomial_at_least(3, 0.5, 2) - 0.5).abs() < 1e-12);
        assert!(
            (binomial_at_least(4, 0.1, 2) - (1.0 - 0.9f64.powi(4) - 4.0 * 0.1 * 0.9f64.powi(3)))
                .abs()
                < 1e-12
        );
        assert_eq!(binomial_at_least(1, 0.3, 2), 0.0);
        assert_eq!(binomial_at_least(5, 0.0, 1), 0.0);
    }
}
