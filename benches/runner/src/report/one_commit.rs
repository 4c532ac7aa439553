//! The one-commit-per-request table: each server committing every request by itself
//! (prefork at `--batch 1`, `--db sync` and `--db evented`; the peers always do) beside
//! pgbench running the same INSERT, at the saturation load and at the seed load. It
//! measures nothing of its own: each row is the best cell of its kind that other parts
//! of the bench ran.

use std::fmt::Write as _;

use super::table::{status_text, table_head, table_row};
use crate::cli::Config;
use crate::model::{CellResult, Section};
use crate::picks::{best_saturation, best_seed, Best, Kind};

/// Appends the table and its note, when pgbench or any of its rows ran.
pub fn markdown(out: &mut String, results: &[CellResult], cfg: &Config) {
    let sat = |k: Kind| best_saturation(results, |r| k.one_commit(r));
    let seed = |k: Kind| best_seed(results, |r| k.has(r) && r.cell.section == Section::Rounds);
    let (sat_ceiling, seed_ceiling) = (sat(Kind::Pgbench), seed(Kind::Pgbench));
    let rows: Vec<(Kind, Option<Best>, Option<Best>)> = Kind::SERVERS
        .iter()
        .map(|&k| (k, sat(k), seed(k)))
        .filter(|(_, a, b)| a.is_some() || b.is_some())
        .collect();
    // Without a row of a prefork kind there is nothing this table adds.
    if !rows.iter().any(|(k, a, _)| {
        matches!(
            k,
            Kind::EvloopSync | Kind::EvloopEvented | Kind::ThreadsSync
        ) && a.is_some()
    }) {
        return;
    }
    let (c, load) = (cfg.saturation.connections, cfg.seed.label());
    let _ = writeln!(
        out,
        "## One commit per request: {c} keep-alive connections and the seed load ({load}), against pgbench\n"
    );
    let head = [
        "row".to_string(),
        format!("{c} keep-alive: run mode"),
        "req/s".into(),
        "× pgbench".into(),
        "p99 ms".into(),
        format!("seed {load}: run mode"),
        "time".into(),
        "req/s".into(),
        "× pgbench".into(),
    ];
    table_head(out, &head);
    table_row(
        out,
        &row(Kind::Pgbench, sat_ceiling, seed_ceiling, None, None),
    );
    let (sat_c, seed_c) = (
        sat_ceiling.map(|(_, s)| s.rps),
        seed_ceiling.map(|(_, s)| s.rps),
    );
    for (k, a, b) in rows {
        table_row(out, &row(k, a, b, sat_c, seed_c));
    }
    let _ = writeln!(
        out,
        "\nEach row is the best cell of its kind the bench ran, not a run of its own. \
         {c} keep-alive: prefork at `--batch 1` (evented: its best `--db-conns`; threads: \
         its best thread count), axum at its best pool size, Express and Django at their \
         best seed-round mode; `× pgbench` = the row's rate ÷ pgbench's tps with {c} \
         clients. Seed load: each kind's fastest seed-round cell, a new connection per request; \
         prefork's seed cells run its default `--batch`, which under {} users commits at \
         most that many rows together; pgbench's row is `-c {} -t {}` (the same \
         transactions over kept connections, no HTTP), timed from start to exit; `× \
         pgbench` = the row's rate ÷ pgbench's.\n",
        cfg.seed.users, cfg.seed.users, cfg.seed.loops
    );
}

fn row(
    kind: Kind,
    sat: Option<Best>,
    seed: Option<Best>,
    sat_ceiling: Option<f64>,
    seed_ceiling: Option<f64>,
) -> Vec<String> {
    let mut row = vec![kind.title().to_string()];
    let times = |c: Option<f64>, rps: f64| c.map_or("—".into(), |c| format!("{:.2}×", rps / c));
    match sat {
        Some((r, s)) => row.extend([
            r.cell.variant.label(),
            with_flag(r, format!("{:.0}", s.rps)),
            times(sat_ceiling, s.rps),
            format!("{:.2}", s.p99_ms),
        ]),
        None => row.extend(["—".into(), "—".into(), "—".into(), "—".into()]),
    }
    match seed {
        Some((r, s)) => row.extend([
            r.cell.variant.label(),
            format!("{:.2} s", s.elapsed_s),
            with_flag(r, format!("{:.0}", s.rps)),
            times(seed_ceiling, s.rps),
        ]),
        None => row.extend(["—".into(), "—".into(), "—".into(), "—".into()]),
    }
    row
}

/// The figure, with the cell's status when it is not a clean pass.
fn with_flag(r: &CellResult, figure: String) -> String {
    match status_text(r) {
        Some(t) => format!("{figure} {t}"),
        None => figure,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Cell, Mode, Prefork, Section, Variant};
    use clap::Parser;

    fn result(variant: Variant, seed: bool, rps: f64, secs: f64) -> CellResult {
        CellResult::sample(variant, seed, rps, secs)
    }

    fn prefork(p: Prefork, batch: u32) -> Variant {
        Variant::Prefork(Prefork { batch, ..p })
    }

    /// Rows take the best batch-1 cell of their kind against pgbench; group commit and
    /// slower connection counts stay out; the seed side is each kind's fastest seed cell.
    #[test]
    fn rows() {
        let results = vec![
            result(Variant::Pgbench, false, 10_000.0, 10.0),
            result(Variant::Pgbench, true, 10_000.0, 1.0),
            result(
                prefork(Prefork::plain(Mode::Evloop, 2), 1),
                false,
                5_000.0,
                10.0,
            ),
            result(
                prefork(Prefork::plain(Mode::Evloop, 2), 256),
                false,
                30_000.0,
                10.0,
            ),
            result(prefork(Prefork::evented(2, 4), 1), false, 8_000.0, 10.0),
            result(prefork(Prefork::evented(2, 16), 1), false, 9_000.0, 10.0),
            result(
                Variant::Prefork(Prefork::evented(2, 4)),
                true,
                8_000.0,
                1.25,
            ),
            // Faster, but the accept comparison's cell, not a seed round.
            CellResult {
                cell: Cell {
                    section: Section::Accept,
                    ..result(Variant::Prefork(Prefork::evented(4, 4)), true, 0.0, 0.0).cell
                },
                ..result(
                    Variant::Prefork(Prefork::evented(4, 4)),
                    true,
                    20_000.0,
                    0.5,
                )
            },
            result(Variant::Axum { pool: 32 }, false, 7_000.0, 10.0),
        ];
        let cfg =
            crate::cli::Config::from_cli(crate::cli::Cli::parse_from(["prefork-bench"])).unwrap();
        let mut out = String::new();
        markdown(&mut out, &results, &cfg);
        assert!(
            out.contains("## One commit per request: 64 keep-alive"),
            "{out}"
        );
        assert!(
            out.contains("| prefork evloop, --db sync | 2 workers, batch 1 | 5000 | 0.50× |"),
            "{out}"
        );
        assert!(
            out.contains(
                "| prefork evloop, --db evented | 2 workers, evented ×16, batch 1 | 9000 | 0.90× |"
            ),
            "{out}"
        );
        assert!(
            out.contains("| 2 workers, evented ×4, batch 256 | 1.25 s | 8000 | 0.80× |"),
            "{out}"
        );
        assert!(
            out.contains("| 1 process, pool 32 | 7000 | 0.70× |"),
            "{out}"
        );
        assert!(!out.contains("30000"), "{out}");
        let mut none = String::new();
        markdown(&mut none, &results[..2], &cfg);
        assert!(none.is_empty());
    }
}
