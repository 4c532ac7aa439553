//! The seed rounds' markdown table, in the published table's shape, with the published
//! numbers beside ours, prefork evloop `--db evented` in a column of its own, and
//! pgbench's time for the same transactions below.
//!
//! The published figures are total times for 10 users × 1000 requests. A run of that
//! load shows times and rates on both sides; a scaled-down run (`--quick`: 10×100) shows
//! rates only beside the published ones, since its times measure a tenth of the work.

use std::fmt::Write as _;

use super::table::{errors, spread, status_text, table_head, table_row};
use crate::cli::Config;
use crate::model::{CellResult, Round, SeedLoad, System, Variant};
use crate::summary::Summary;
use crate::targets::{self, Published};

/// Appends the seed rounds' table and its notes.
pub fn markdown(out: &mut String, results: &[CellResult], cfg: &Config) {
    let s = cfg.seed;
    let _ = writeln!(
        out,
        "## Seed rounds: {} users × {} form POSTs ({}), a new connection per request\n",
        s.users,
        s.loops,
        s.label()
    );
    table_head(out, &head(s));
    for round in Round::ALL {
        table_row(out, &row(results, round, s));
    }
    let _ = writeln!(out, "\n{}\n", note(s));
    if let Some(line) = pgbench_line(results) {
        let _ = writeln!(out, "{line}\n");
    }
}

/// Our columns: each server, prefork evloop twice (`--db sync`, then `--db evented`).
const COLUMNS: [(System, bool); 6] = [
    (System::PreforkEvloop, false),
    (System::PreforkEvloop, true),
    (System::PreforkThreads, false),
    (System::Express, false),
    (System::Django, false),
    (System::Axum, false),
];

fn column_title(system: System, evented: bool) -> String {
    if evented {
        format!("{} --db evented", system.title())
    } else {
        system.title().to_string()
    }
}

/// Whether `r` is a `--db evented` prefork cell.
fn is_evented(r: &CellResult) -> bool {
    r.cell.prefork().is_some_and(|p| p.db.is_evented())
}

/// pgbench at the seed load: the same INSERT as users × loops transactions over `users`
/// kept connections, no HTTP — the time the database itself takes.
fn pgbench_line(results: &[CellResult]) -> Option<String> {
    let r = results
        .iter()
        .find(|r| r.cell.is_seed() && r.cell.variant == Variant::Pgbench)?;
    let (users, loops) = (r.runs.last()?.users, r.runs.last()?.loops);
    let text = match status_text(r) {
        Some(t) => t,
        None => {
            let s = Summary::of(r)?;
            format!("{:.2} s ({:.0} transactions/s)", s.elapsed_s, s.rps)
        }
    };
    Some(format!(
        "pgbench at this load (`pgbench -M prepared -c {users} -t {loops}`, the same \
         prepared INSERT, one per transaction, {users} connections kept, no HTTP; time from \
         start to exit): {text}."
    ))
}

/// Column heads, each naming its load: ours `prefork evloop (10×100)`, the published
/// `published Express (PM2) (10×1000)`.
fn head(load: SeedLoad) -> Vec<String> {
    let (ours, theirs) = (load.label(), published().load().label());
    let mut head = vec!["round".to_string()];
    head.extend(
        COLUMNS
            .iter()
            .map(|&(s, ev)| format!("{} ({ours})", column_title(s, ev))),
    );
    head.extend([
        format!("published Express (PM2) ({theirs})"),
        format!("published Django (Gunicorn) ({theirs})"),
    ]);
    head
}

fn row(results: &[CellResult], round: Round, load: SeedLoad) -> Vec<String> {
    let mut row = vec![round.title().to_string()];
    for (system, evented) in COLUMNS {
        let found = results.iter().find(|r| {
            r.cell.is_seed()
                && r.cell.system() == system
                && is_evented(r) == evented
                && Round::of(&r.cell.variant) == Some(round)
        });
        row.push(found.map_or("—".into(), |r| seed_text(r, load)));
    }
    let p = published().row(round);
    let full = published().is_published_load(load);
    row.push(published_text(p.and_then(|p| p.express_s), full));
    row.push(published_text(p.and_then(|p| p.django_s), full));
    row
}

fn note(load: SeedLoad) -> String {
    let mut note = String::from(
        "Time = loadgen's total test time (first request to last response); req/s = \
         answered requests ÷ time. Published: the experiment's times for 10,000 POSTs (its \
         client: 10 Python threads, `requests` without a session); rates marked ≈ are \
         10,000 ÷ time (round 1's Express rate is printed there as 227 req/s).",
    );
    if !published().is_published_load(load) {
        let _ = write!(
            note,
            " This run's load is {} ({} requests), not the published {}: its times are \
             not comparable with the published ones, so only rates stand side by side.",
            load.label(),
            load.users * load.loops,
            published().load().label()
        );
    }
    let _ = write!(
        note,
        " PM2 `-i -1` = CPUs − 1 = {} worker(s) here.",
        cpus_minus_one()
    );
    note
}

fn cpus_minus_one() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .saturating_sub(1)
        .max(1)
}

/// `3.21 s (3115 req/s)` on the published load, `3115 req/s (0.32 s)` on another (the
/// rate first: only it compares), with the spread of repeated runs and any errors.
fn seed_text(r: &CellResult, load: SeedLoad) -> String {
    if let Some(s) = status_text(r) {
        return s;
    }
    let s = Summary::of(r).expect("an ok cell has runs");
    let (time, rate) = (
        format!("{:.2} s", s.elapsed_s),
        format!("{:.0} req/s{}", s.rps, spread(&s)),
    );
    if published().is_published_load(load) {
        format!("{time} ({rate}){}", errors(&s))
    } else {
        format!("{rate} ({time}){}", errors(&s))
    }
}

/// `36 s (≈278 req/s)` beside a run of the published load; `≈278 req/s` beside any other.
fn published_text(secs: Option<f64>, full: bool) -> String {
    match secs {
        None => "—".into(),
        Some(t) if full => format!("{t:.0} s (≈{:.0} req/s)", published().requests() / t),
        Some(t) => format!("≈{:.0} req/s", published().requests() / t),
    }
}

/// The original experiment's figures (`benches/targets.toml`).
fn published() -> &'static Published {
    &targets::get().published
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn table(args: &[&str]) -> String {
        let mut all = vec!["prefork-bench"];
        all.extend(args);
        let cfg = Config::from_cli(crate::cli::Cli::parse_from(all)).unwrap();
        let mut out = String::new();
        markdown(&mut out, &[], &cfg);
        out
    }

    /// Published times come with the rate they imply, and alone only as a rate.
    #[test]
    fn published_cells() {
        assert_eq!(published_text(Some(50.0), true), "50 s (≈200 req/s)");
        assert_eq!(published_text(Some(50.0), false), "≈200 req/s");
        assert_eq!(published_text(None, false), "—");
    }

    /// `--quick`'s table labels its 10×100 load and sets no published time beside it.
    #[test]
    fn quick_table_compares_rates_only() {
        let out = table(&["--quick"]);
        assert!(
            out.contains("## Seed rounds: 10 users × 100 form POSTs (10×100)"),
            "{out}"
        );
        assert!(out.contains("| prefork evloop (10×100) |"), "{out}");
        assert!(
            out.contains("| published Express (PM2) (10×1000) |"),
            "{out}"
        );
        assert!(out.contains("| 2: 2 workers |"), "{out}");
        assert!(out.contains("| ≈213 req/s | ≈154 req/s |"), "{out}");
        assert!(
            !out.contains("47 s"),
            "a published time beside a 10×100 run:\n{out}"
        );
        assert!(
            out.contains("This run's load is 10×100 (1000 requests)"),
            "{out}"
        );
    }

    /// The full run's table keeps the published times, labelled 10×1000 on both sides.
    #[test]
    fn full_table_shows_published_times() {
        let out = table(&[]);
        assert!(out.contains("| prefork evloop (10×1000) |"), "{out}");
        assert!(
            out.contains("| prefork evloop --db evented (10×1000) |"),
            "{out}"
        );
        assert!(
            out.contains("| 47 s (≈213 req/s) | 65 s (≈154 req/s) |"),
            "{out}"
        );
        assert!(!out.contains("This run's load"), "{out}");
    }
}
