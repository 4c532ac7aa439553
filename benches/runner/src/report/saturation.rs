//! The saturation rounds' table: each system at its best run mode (`plan::best_variant`),
//! direct and through nginx, with the pgbench ceiling below.

use std::fmt::Write as _;

use super::table::{ceiling_title, errors, spread, status_text, table_head, table_row};
use crate::cli::Config;
use crate::model::{CellResult, Route, System};
use crate::plan::best_variant;
use crate::summary::Summary;

/// Appends the saturation table and its notes.
pub fn markdown(out: &mut String, results: &[CellResult], cfg: &Config) {
    let s = cfg.saturation;
    let _ = writeln!(
        out,
        "## Saturation: {} keep-alive connections, about {} s per run, each system at its best seed-round mode (axum: its best pool size)\n",
        s.connections,
        s.duration.as_secs_f64()
    );
    let head = [
        "system",
        "run mode",
        "direct req/s",
        "p50 ms",
        "p99 ms",
        "via nginx req/s",
        "p50 ms",
        "p99 ms",
    ];
    table_head(out, &head.map(String::from));
    for system in System::ALL {
        let best = best_variant(results, system);
        let find = |route| {
            results
                .iter()
                .find(|r| !r.cell.is_seed() && r.cell.variant == best && r.cell.route == route)
        };
        let (direct, nginx) = (find(Route::Direct), find(Route::Nginx));
        let Some(any) = direct.or(nginx) else {
            continue;
        };
        let mut row = vec![system.title().to_string(), any.cell.variant.label()];
        row.extend(saturation_cols(direct));
        row.extend(saturation_cols(nginx));
        table_row(out, &row);
    }
    if let Some(r) = results
        .iter()
        .find(|r| !r.cell.is_seed() && r.cell.system() == System::Pgbench)
    {
        let mut row = vec![ceiling_title(s.connections), r.cell.variant.label()];
        row.extend(saturation_cols(Some(r)));
        row.extend(saturation_cols(None));
        table_row(out, &row);
    }
    let _ = writeln!(
        out,
        "\nThe pgbench row is the database's own ceiling for this load: the same \
         `INSERT … RETURNING`, prepared, one per transaction, from {} clients on the same \
         private cluster, no HTTP; its rate is pgbench's tps without connection time, its \
         latency that of a 10% sample, and its rows are checked against its transactions.",
        s.connections
    );
    let _ = writeln!(
        out,
        "\nEach run's length is sized from its warm-up rate (loops = rate × duration ÷ \
         connections), so every request is counted and the row count is checked exactly. \
         Gunicorn's sync worker closes each connection despite keep-alive.\n"
    );
}

/// Appends the comparison of nginx's two ways to reach prefork on the same host — TCP on
/// loopback and a Unix socket — when the bench measured the second.
pub fn unix_socket_markdown(out: &mut String, results: &[CellResult]) {
    let through = |system, route| {
        let best = best_variant(results, system);
        results
            .iter()
            .find(|r| !r.cell.is_seed() && r.cell.variant == best && r.cell.route == route)
    };
    let systems = [System::PreforkEvloop, System::PreforkThreads];
    if systems
        .iter()
        .all(|&s| through(s, Route::NginxUnix).is_none())
    {
        return;
    }
    let _ = writeln!(
        out,
        "## Through nginx: upstream over loopback TCP vs a Unix socket (prefork `--bind unix:PATH`)\n"
    );
    let head = [
        "system",
        "run mode",
        "nginx → TCP req/s",
        "p99 ms",
        "nginx → Unix socket req/s",
        "p99 ms",
        "Unix ÷ TCP",
    ];
    table_head(out, &head.map(String::from));
    for system in systems {
        let (tcp, unix) = (
            through(system, Route::Nginx),
            through(system, Route::NginxUnix),
        );
        let Some(any) = unix.or(tcp) else {
            continue;
        };
        let [tcp_rps, _, tcp_p99] = saturation_cols(tcp);
        let [unix_rps, _, unix_p99] = saturation_cols(unix);
        let ratio = match (tcp.and_then(Summary::of), unix.and_then(Summary::of)) {
            (Some(t), Some(u)) if t.rps > 0.0 => format!("{:.2}×", u.rps / t.rps),
            _ => "—".to_string(),
        };
        let mode = any.cell.variant.label();
        let row = [
            system.title().to_string(),
            mode,
            tcp_rps,
            tcp_p99,
            unix_rps,
            unix_p99,
            ratio,
        ];
        table_row(out, &row);
    }
    let _ = writeln!(
        out,
        "\nSame nginx.conf, same keep-alive to the upstream; only its `server` line differs. \
         Every run's rows are checked against its 201s.\n"
    );
}

fn saturation_cols(r: Option<&CellResult>) -> [String; 3] {
    let Some(r) = r else {
        return ["—".into(), "—".into(), "—".into()];
    };
    if let Some(text) = status_text(r) {
        return [text, String::new(), String::new()];
    }
    let s = Summary::of(r).expect("an ok cell has runs");
    [
        format!("{:.0}{}{}", s.rps, spread(&s), errors(&s)),
        format!("{:.2}", s.p50_ms),
        format!("{:.2}", s.p99_ms),
    ]
}
