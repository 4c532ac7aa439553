//! When which fault happens: a seeded rotation through the chosen kinds, or the
//! `acceptance` preset. Times count from the start of the load.

use std::time::Duration;

use crate::kind::FaultKind;

/// The longest gap between faults when `--every` is not given.
const DEFAULT_EVERY: Duration = Duration::from_secs(1);

/// One fault to inject at a time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Planned {
    /// Offset from the start of the load.
    pub at: Duration,
    /// What to do.
    pub kind: FaultKind,
}

/// A small seeded generator (splitmix64): the same seed gives the same plan, victims
/// and stall lengths, so a run can be repeated.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0; the tiny modulo bias does not matter here).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// A duration uniformly in `low..high`.
    pub fn between(&mut self, low: Duration, high: Duration) -> Duration {
        let unit = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        low + (high - low).mul_f64(unit)
    }
}

/// The gap between faults: `every` if given, else one second, or less so that every
/// kind fits once with a quiet gap at each end of the run.
pub fn spacing(seconds: Duration, kinds: usize, every: Option<f64>) -> Duration {
    match every {
        Some(secs) => Duration::from_secs_f64(secs),
        None => DEFAULT_EVERY.min(seconds / (kinds as u32 + 1)),
    }
}

/// Faults at `every`, `2 × every`, … (none in the last half gap, so the last one's
/// recovery can be seen), taking the kinds in rounds, each round in a seeded order.
pub fn rotation(
    kinds: &[FaultKind],
    seconds: Duration,
    every: Duration,
    rng: &mut Rng,
) -> Vec<Planned> {
    let mut plan = Vec::new();
    if kinds.is_empty() || every.is_zero() {
        return plan;
    }
    let last = seconds.saturating_sub(every / 2);
    let mut round: Vec<FaultKind> = Vec::new();
    let mut at = every;
    while at < last {
        if round.is_empty() {
            round = shuffled(kinds, rng);
        }
        let kind = round.pop().expect("refilled above");
        plan.push(Planned { at, kind });
        at += every;
    }
    plan
}

/// Fisher–Yates.
fn shuffled(kinds: &[FaultKind], rng: &mut Rng) -> Vec<FaultKind> {
    let mut out = kinds.to_vec();
    for i in (1..out.len()).rev() {
        out.swap(i, rng.below(i + 1));
    }
    out
}

/// The reliability acceptance scenario: a worker SIGKILL at each whole second, one
/// SIGHUP half a second after the first third of the run, one PostgreSQL restart half a
/// second after the second third.
pub fn acceptance(seconds: Duration) -> Vec<Planned> {
    let half = Duration::from_millis(500);
    let whole = |d: Duration| Duration::from_secs(d.as_secs());
    let mut plan: Vec<Planned> = (1..)
        .map(Duration::from_secs)
        .take_while(|at| *at < seconds)
        .map(|at| Planned {
            at,
            kind: FaultKind::Kill,
        })
        .collect();
    for (at, kind) in [
        (whole(seconds / 3) + half, FaultKind::Hup),
        (whole(seconds * 2 / 3) + half, FaultKind::PgRestart),
    ] {
        if at < seconds {
            plan.push(Planned { at, kind });
        }
    }
    plan.sort_by_key(|p| p.at);
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each round holds every kind once; the same seed gives the same plan.
    #[test]
    fn rotation_rounds_and_seed() {
        let secs = Duration::from_secs(10);
        let every = spacing(secs, FaultKind::ALL.len(), None);
        assert_eq!(every, Duration::from_secs(1));
        let plan = rotation(&FaultKind::ALL, secs, every, &mut Rng::new(1));
        assert_eq!(plan.len(), 9, "{plan:?}");
        for kind in FaultKind::ALL {
            assert!(
                plan[..6].iter().any(|p| p.kind == kind),
                "{kind:?} in round 1"
            );
        }
        let again = rotation(&FaultKind::ALL, secs, every, &mut Rng::new(1));
        assert_eq!(plan, again);
    }

    /// A short run spaces the faults closer so every kind still happens once.
    #[test]
    fn short_run_fits_every_kind() {
        let kinds = [
            FaultKind::Kill,
            FaultKind::Hup,
            FaultKind::Ttin,
            FaultKind::Ttou,
        ];
        let secs = Duration::from_secs(4);
        let every = spacing(secs, kinds.len(), None);
        let plan = rotation(&kinds, secs, every, &mut Rng::new(9));
        assert_eq!(plan.len(), 4, "{plan:?}");
        assert!(plan.last().unwrap().at < secs);
    }

    /// The preset over 10 s: 9 kills, a HUP at 3.5 s, a restart at 6.5 s.
    #[test]
    fn acceptance_preset() {
        let plan = acceptance(Duration::from_secs(10));
        let count = |k| plan.iter().filter(|p| p.kind == k).count();
        assert_eq!((count(FaultKind::Kill), count(FaultKind::Hup)), (9, 1));
        assert_eq!(count(FaultKind::PgRestart), 1);
        let at = |k| plan.iter().find(|p| p.kind == k).unwrap().at;
        assert_eq!(at(FaultKind::Hup), Duration::from_millis(3500));
        assert_eq!(at(FaultKind::PgRestart), Duration::from_millis(6500));
        assert!(plan.windows(2).all(|w| w[0].at <= w[1].at));
    }

    /// `between` stays inside its bounds.
    #[test]
    fn between_bounds() {
        let mut rng = Rng::new(3);
        let (lo, hi) = (Duration::from_secs(1), Duration::from_secs(2));
        assert!((0..1000)
            .map(|_| rng.between(lo, hi))
            .all(|d| d >= lo && d < hi));
    }
}
