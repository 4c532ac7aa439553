//! The HTTP ceilings table: at the saturation load, prefork `--app hello` (a fixed 200,
//! no database) in both modes and nginx answering its own `return 200`, beside prefork's
//! group commit — how close durable writes come to the machine's no-I/O limit.

use std::fmt::Write as _;

use super::table::{errors, spread, status_text, table_head, table_row};
use crate::cli::Config;
use crate::model::{CellResult, Section, Variant};
use crate::plan;
use crate::summary::Summary;

/// Appends the table and its note, when any of its cells ran.
pub fn markdown(out: &mut String, results: &[CellResult], cfg: &Config) {
    let found = plan::ran_in_section(cfg, Section::Ceilings, results);
    if found.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "## HTTP ceilings: {} keep-alive connections, no I/O beside group commit\n",
        cfg.saturation.connections
    );
    let head = ["row", "run mode", "req/s", "× nginx", "p50 ms", "p99 ms"];
    table_head(out, &head.map(String::from));
    let nginx_rps = found
        .iter()
        .find(|r| r.cell.variant == Variant::NginxReturn)
        .and_then(|r| Summary::of(r))
        .map(|s| s.rps);
    for r in found {
        table_row(out, &row(r, nginx_rps));
    }
    let _ = writeln!(
        out,
        "\n`--app hello`: prefork answering a fixed small 200 on every path, no database. \
         nginx: its own `return 200 \"ok\"`, no upstream. Both are this machine's HTTP \
         ceiling at this load (same loadgen, same keep-alive connections, `GET`). The \
         group-commit row is the task endpoint: one durable row per `201`. `× nginx`: the \
         row's rate ÷ nginx's.\n"
    );
}

/// The row's title: what it measures.
fn title(r: &CellResult) -> String {
    let system = r.cell.system().title();
    match r.cell.variant {
        Variant::Hello { .. } => format!("{system} `--app hello` (no database)"),
        Variant::NginxReturn => "nginx `return 200` (no upstream)".to_string(),
        _ => format!("{system} group commit (one durable row per request)"),
    }
}

fn row(r: &CellResult, nginx_rps: Option<f64>) -> Vec<String> {
    let mut row = vec![title(r), r.cell.variant.label()];
    let Some(s) = Summary::of(r) else {
        row.push(status_text(r).unwrap_or_default());
        row.extend(std::iter::repeat_n(String::new(), 3));
        return row;
    };
    let flag = status_text(r).map_or(String::new(), |t| format!(" {t}"));
    row.extend([
        format!("{:.0}{}{}{flag}", s.rps, spread(&s), errors(&s)),
        nginx_rps.map_or("—".into(), |n| format!("{:.2}×", s.rps / n)),
        format!("{:.2}", s.p50_ms),
        format!("{:.2}", s.p99_ms),
    ]);
    row
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Load, Mode, Prefork, Route, RunRecord, Status};
    use clap::Parser;

    /// Hello and nginx rows read against nginx's rate; group commit's measured cell is
    /// found whatever section ran it.
    #[test]
    fn table() {
        let cfg =
            Config::from_cli(crate::cli::Cli::parse_from(["prefork-bench", "--quick"])).unwrap();
        let result = |variant, section, rps| CellResult {
            cell: crate::model::Cell {
                variant,
                load: Load::Saturation(cfg.saturation),
                route: Route::Direct,
                section,
            },
            status: Status::Ok,
            note: None,
            runs: vec![RunRecord::sample(rps, 1.0, 0, 0)],
        };
        let hello = Variant::Hello {
            mode: Mode::Evloop,
            workers: 2,
            access_log: false,
        };
        let grouped = Variant::Prefork(Prefork::plain(Mode::Evloop, 2));
        let results = [
            result(grouped, Section::GroupCommit, 20_000.0),
            result(hello, Section::Ceilings, 60_000.0),
            result(Variant::NginxReturn, Section::Ceilings, 80_000.0),
        ];
        let mut out = String::new();
        markdown(&mut out, &results, &cfg);
        assert!(out.contains("## HTTP ceilings: 64 keep-alive"), "{out}");
        assert!(
            out.contains("| prefork evloop `--app hello` (no database) | 2 workers, --app hello | 60000 | 0.75× |"),
            "{out}"
        );
        assert!(out.contains("| 80000 | 1.00× |"), "{out}");
        assert!(
            out.contains("group commit (one durable row per request) | 2 workers, batch 256 | 20000 | 0.25× |"),
            "{out}"
        );
        let mut none = String::new();
        markdown(&mut none, &results[..1], &cfg);
        assert!(none.contains("| 20000 | — |"), "{none}");
    }
}
