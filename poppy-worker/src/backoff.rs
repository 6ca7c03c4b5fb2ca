//! Retry delays.

use std::time::Duration;

use rand::Rng;

/// Exponential backoff with full jitter: a uniformly random delay in
/// `[0, min(max, base * 2^(failures - 1))]`, but never less than the
/// backend's `retry_after`.
pub fn backoff_delay(
    failures: u32,
    base: Duration,
    max: Duration,
    retry_after: Option<Duration>,
    rng: &mut impl Rng,
) -> Duration {
    let exponent = failures.saturating_sub(1).min(30);
    let ceiling = base.saturating_mul(1u32 << exponent).min(max);
    let ceiling_ms = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
    let jittered = Duration::from_millis(rng.random_range(0..=ceiling_ms));
    match retry_after {
        Some(hint) => jittered.max(hint),
        None => jittered,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn delay_stays_under_the_exponential_ceiling() {
        let mut rng = StdRng::seed_from_u64(7);
        let base = Duration::from_millis(100);
        let max = Duration::from_secs(10);
        for failures in 1..=12u32 {
            let ceiling = (base * 2u32.pow(failures - 1)).min(max);
            for _ in 0..200 {
                let d = backoff_delay(failures, base, max, None, &mut rng);
                assert!(d <= ceiling, "failure {failures}: {d:?} > {ceiling:?}");
            }
        }
    }

    #[test]
    fn delay_is_jittered_not_constant() {
        let mut rng = StdRng::seed_from_u64(1);
        let delays: std::collections::BTreeSet<_> = (0..50)
            .map(|_| {
                backoff_delay(
                    5,
                    Duration::from_millis(100),
                    Duration::from_secs(60),
                    None,
                    &mut rng,
                )
            })
            .collect();
        assert!(
            delays.len() > 10,
            "full jitter should spread delays, got {delays:?}"
        );
    }

    #[test]
    fn retry_after_is_a_floor() {
        let mut rng = StdRng::seed_from_u64(3);
        let hint = Duration::from_secs(7);
        for _ in 0..100 {
            let d = backoff_delay(
                1,
                Duration::from_millis(10),
                Duration::from_secs(1),
                Some(hint),
                &mut rng,
            );
            assert!(d >= hint);
        }
    }

    #[test]
    fn huge_failure_counts_do_not_overflow() {
        let mut rng = StdRng::seed_from_u64(9);
        let d = backoff_delay(
            u32::MAX,
            Duration::from_secs(1),
            Duration::from_secs(300),
            None,
            &mut rng,
        );
        assert!(d <= Duration::from_secs(300));
    }
}
