use std::time::Duration;

use super::*;
use crate::model::{
    Cell, Mode, Prefork, Route, RunRecord, SaturationLoad, Section, SeedLoad, Variant,
};

fn sat() -> SaturationLoad {
    SaturationLoad {
        connections: 64,
        duration: Duration::from_secs(10),
        warmup: Duration::from_secs(2),
    }
}

fn seed() -> SeedLoad {
    SeedLoad {
        users: 10,
        loops: 1000,
        warmup_loops: 50,
    }
}

/// A run of `rps` lasting `elapsed_s`, with `rows` rows for `created` 201s.
fn run(rps: f64, elapsed_s: f64, rows: u64, created: u64, worker_kib: u64) -> RunRecord {
    let mut run = RunRecord::sample(rps, elapsed_s, rows, created);
    run.server.worker_peak_rss_kib = worker_kib;
    run
}

fn result(variant: Variant, seed_load: bool, record: RunRecord) -> CellResult {
    let load = if seed_load {
        Load::Seed(seed())
    } else {
        Load::Saturation(sat())
    };
    CellResult {
        cell: Cell {
            variant,
            load,
            route: Route::Direct,
            section: Section::Rounds,
        },
        status: Status::Ok,
        note: None,
        runs: vec![record],
    }
}

fn prefork(mode: Mode, workers: u32, batch: u32) -> Variant {
    Variant::Prefork(Prefork {
        batch,
        ..Prefork::plain(mode, workers)
    })
}

/// A bench where every point passes except the Django ratio.
fn bench() -> Vec<CellResult> {
    vec![
        result(
            prefork(Mode::Evloop, 2, 64),
            true,
            run(9000.0, 1.1, 0, 0, 9 * 1024),
        ),
        result(
            prefork(Mode::Evloop, 9, 64),
            true,
            run(8000.0, 1.3, 0, 0, 12 * 1024),
        ),
        result(Variant::Pgbench, false, run(20_000.0, 10.0, 1, 1, 0)),
        result(
            prefork(Mode::Threads, 2, 1),
            false,
            run(13_000.0, 10.0, 5, 5, 0),
        ),
        result(
            prefork(Mode::Evloop, 2, 1),
            false,
            run(9_000.0, 10.0, 5, 5, 0),
        ),
        result(
            prefork(Mode::Evloop, 2, 64),
            false,
            run(45_000.0, 10.0, 7, 7, 0),
        ),
        result(
            Variant::Pm2Cluster { instances: 2 },
            false,
            run(3_400.0, 10.0, 1, 1, 0),
        ),
        result(
            Variant::GunicornSync { workers: 2 },
            false,
            run(500.0, 10.0, 1, 1, 0),
        ),
    ]
}

/// Each point takes the right best cell, ratio and bar.
#[test]
fn all_points() {
    let v = verdicts(&bench(), &Config::parsed(&[]));
    let words: Vec<&str> = v.iter().map(Verdict::word).collect();
    assert_eq!(
        words,
        [
            "pass", "pass", "pass", "FAIL", "pass", "pass", "n/a", "n/a", "n/a", "n/a", "n/a",
            "n/a"
        ]
    );
    assert_eq!(
        v[0].value,
        Some(0.65),
        "threads batch 1 is the best batch-1 row"
    );
    assert!(
        v[0].figure.contains("threads 2 workers, batch 1"),
        "{}",
        v[0].figure
    );
    assert_eq!(v[1].value, Some(2.25));
    assert!(v[1].figure.ends_with("7 rows = 7 201s"), "{}", v[1].figure);
    assert!((v[2].value.unwrap() - 45_000.0 / 3_400.0).abs() < 1e-9);
    assert_eq!(v[3].value, Some(90.0));
    assert_eq!(v[4].value, Some(1.1));
    assert_eq!(
        v[5].value,
        Some(12.0),
        "the largest worker of all seed cells"
    );
    assert!(v[5].threshold.contains("16 MiB"));
}

/// A row-count mismatch fails group commit even when fast enough.
#[test]
fn group_commit_needs_rows() {
    let mut results = bench();
    results[5].runs[0].rows = 6;
    let v = verdicts(&results, &Config::parsed(&[]));
    assert_eq!(v[1].pass, Some(false));
    assert!(v[1].figure.contains("6 rows ≠ 7 201s"));
}

/// Without peers or pgbench the ratios are not measured; a quick seed is not judged.
#[test]
fn missing_sides() {
    let results: Vec<CellResult> = bench()
        .into_iter()
        .filter(|r| !r.cell.system().is_peer() && r.cell.system() != System::Pgbench)
        .collect();
    let v = verdicts(&results, &Config::parsed(&["--quick"]));
    assert_eq!(v[0].pass, None);
    assert_eq!(v[0].figure, "the reference not measured");
    assert_eq!((v[2].pass, v[3].pass), (None, None));
    assert_eq!(v[4].pass, None, "10×100 is not the acceptance load");
    assert!(v[4].figure.contains("not the acceptance's 10×1000"));
    assert_eq!(v[5].pass, Some(true));
    assert!(verdicts(&[], &Config::parsed(&[]))
        .iter()
        .all(|v| v.pass.is_none()));
}

/// The bars come from the targets data: other bars, other verdicts.
#[test]
fn bars_are_data() {
    let shipped = targets::get().thresholds;
    let stricter = Thresholds {
        prefork_vs_django: 80.0,
        worker_rss_max_mib: 10.0,
        ..shipped
    };
    let v = verdicts_against(&bench(), &Config::parsed(&[]), &stricter);
    let words: Vec<&str> = v.iter().map(Verdict::word).collect();
    assert_eq!(words[..6], ["pass", "pass", "pass", "pass", "pass", "FAIL"]);
    assert_eq!(v[3].threshold, "≥ 80×");
    assert_eq!(v[5].threshold, "< 10 MiB");
}

fn evented(workers: u32, conns: u32, batch: u32) -> Variant {
    Variant::Prefork(Prefork {
        batch,
        ..Prefork::evented(workers, conns)
    })
}

/// The evented points: its best `--batch 1` connection count against pgbench and axum,
/// its group commit against pgbench and `--db sync`'s, its seed time against pgbench's,
/// and the largest worker of any evented cell; evented cells stay out of the sync points.
#[test]
fn evented_points() {
    let mut results = vec![
        result(Variant::Pgbench, false, run(20_000.0, 10.0, 1, 1, 0)),
        result(Variant::Pgbench, true, run(10_000.0, 1.0, 1, 1, 0)),
        result(
            Variant::Axum { pool: 32 },
            false,
            run(15_000.0, 10.0, 1, 1, 0),
        ),
        result(
            prefork(Mode::Evloop, 2, 256),
            false,
            run(40_000.0, 10.0, 7, 7, 0),
        ),
        result(evented(2, 4, 1), false, run(17_000.0, 10.0, 3, 3, 0)),
        result(
            evented(2, 16, 1),
            false,
            run(19_000.0, 10.0, 3, 3, 6 * 1024),
        ),
        result(
            evented(2, 4, 256),
            false,
            run(60_000.0, 10.0, 9, 9, 9 * 1024),
        ),
        result(evented(2, 4, 256), true, run(11_000.0, 0.9, 1, 1, 7 * 1024)),
    ];
    let v = verdicts(&results, &Config::parsed(&[]));
    let words: Vec<&str> = v[6..].iter().map(Verdict::word).collect();
    assert_eq!(words, ["pass", "pass", "pass", "pass", "pass", "FAIL"]);
    assert_eq!(v[6].value, Some(0.95), "K = 16 is the best batch-1 cell");
    assert!(
        v[6].figure.contains("evented ×16, batch 1"),
        "{}",
        v[6].figure
    );
    assert!((v[7].value.unwrap() - 19.0 / 15.0).abs() < 1e-9);
    assert_eq!(v[8].value, Some(3.0));
    assert!(v[8].figure.ends_with("9 rows = 9 201s"), "{}", v[8].figure);
    assert_eq!(v[9].value, Some(1.5));
    assert_eq!(v[10].value, Some(0.9));
    assert!(
        v[10].figure.contains("pgbench -c 10 -t 1000"),
        "{}",
        v[10].figure
    );
    assert_eq!(v[11].value, Some(9.0), "saturation cells count too");
    assert!(v[11].threshold.contains("8 MiB"));
    assert_eq!(
        v[0].figure, "our side not measured",
        "sync points skip evented cells"
    );
    assert_eq!(
        v[1].value,
        Some(2.0),
        "sync group commit is evloop's batch 256"
    );
    results.retain(|r| !(r.cell.is_seed() && r.cell.system() == System::Pgbench));
    assert_eq!(verdicts(&results, &Config::parsed(&[]))[10].pass, None);
}
