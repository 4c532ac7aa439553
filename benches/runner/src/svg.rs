//! `results.svg`, written by hand: horizontal bars of req/s per system and run mode on a
//! log scale — Django's hundreds and prefork's thousands on one legible chart — with the
//! published rates in grey beside the peers' rounds, and the saturation rounds below.

use std::fmt::Write as _;

use crate::cli::Config;
use crate::machine::Machine;
use crate::model::{CellResult, Load, Round, Route, Status, System};
use crate::report::table::ceiling_title;
use crate::summary::Summary;
use crate::targets::{self, Published};

const WIDTH: f64 = 1000.0;
/// Bars start here; labels sit left of it.
const X0: f64 = 250.0;
/// Bars end at most here; value labels go right of the bar.
const X1: f64 = 880.0;
const ROW: f64 = 20.0;
const BAR: f64 = 14.0;
const PUBLISHED_GREY: &str = "#9ca3af";
/// The pgbench ceiling: neutral, not a system's colour.
const CEILING: &str = "#374151";

/// One line of a panel.
enum Row {
    /// A system's name above its bars.
    Heading(String, &'static str),
    /// A bar (or a status text when `value` is None).
    Bar {
        label: String,
        value: Option<f64>,
        text: String,
        color: &'static str,
    },
}

/// A titled block of rows sharing the x axis.
struct Panel {
    title: String,
    rows: Vec<Row>,
}

fn color(system: System) -> &'static str {
    match system {
        System::PreforkEvloop => "#2563eb",
        System::PreforkThreads => "#0891b2",
        System::Express => "#16a34a",
        System::Django => "#c2410c",
        System::Axum => "#9333ea",
        System::Pgbench | System::Nginx => CEILING,
    }
}

/// The chart of `results` as an SVG document.
pub fn chart(results: &[CellResult], machine: &Machine, cfg: &Config) -> String {
    let panels: Vec<Panel> = [seed_panel(results, cfg), saturation_panel(results, cfg)]
        .into_iter()
        .flatten()
        .collect();
    let values = panels.iter().flat_map(|p| &p.rows).filter_map(|r| match r {
        Row::Bar { value, .. } => *value,
        Row::Heading(..) => None,
    });
    let scale = Scale::fit(values);
    let mut body = String::new();
    let mut y = 70.0;
    for panel in &panels {
        y = draw_panel(&mut body, panel, &scale, y) + 24.0;
    }
    let height = y + 10.0;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">"#
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let title = "POST /api/tasks/ (one row per request): requests per second, log scale";
    text(
        &mut svg,
        20.0,
        28.0,
        "start",
        r#"font-size="17" font-weight="bold""#,
        title,
    );
    let sub = format!("{} · {}", machine.summary(), machine.date);
    text(&mut svg, 20.0, 48.0, "start", r##"fill="#4b5563""##, &sub);
    svg.push_str(&body);
    svg.push_str("</svg>\n");
    svg
}

fn seed_panel(results: &[CellResult], cfg: &Config) -> Option<Panel> {
    let seed: Vec<&CellResult> = results.iter().filter(|r| r.cell.is_seed()).collect();
    if seed.is_empty() {
        return None;
    }
    let mut rows = Vec::new();
    for system in System::ALL {
        let mine: Vec<&&CellResult> = seed.iter().filter(|r| r.cell.system() == system).collect();
        if mine.is_empty() {
            continue;
        }
        rows.push(Row::Heading(system.title().into(), color(system)));
        for r in mine {
            rows.push(bar(r, r.cell.variant.label(), color(system)));
            if let Some(secs) = published_secs(r) {
                let rate = published().requests() / secs;
                // Its time only beside times of the same load; rates always compare.
                let text = if published().is_published_load(cfg.seed) {
                    format!("{rate:.0} ({secs:.0} s)")
                } else {
                    format!("{rate:.0} ({})", published().load().label())
                };
                rows.push(Row::Bar {
                    label: "published".into(),
                    value: Some(rate),
                    text,
                    color: PUBLISHED_GREY,
                });
            }
        }
    }
    let title = format!(
        "Seed rounds, {} users × {} ({}): form POSTs, a new connection each, req/s (grey: published, {})",
        cfg.seed.users,
        cfg.seed.loops,
        cfg.seed.label(),
        published().load().label()
    );
    Some(Panel { title, rows })
}

fn published_secs(r: &CellResult) -> Option<f64> {
    let p = published().row(Round::of(&r.cell.variant)?)?;
    match r.cell.system() {
        System::Express => p.express_s,
        System::Django => p.django_s,
        _ => None,
    }
}

fn saturation_panel(results: &[CellResult], cfg: &Config) -> Option<Panel> {
    // The task endpoint's cells: the HTTP ceilings (no database) and the access log's
    // cost are the report's.
    let sat: Vec<&CellResult> = results
        .iter()
        .filter(|r| !r.cell.is_seed() && r.cell.variant.inserts())
        .filter(|r| !r.cell.variant.keeps_access_log())
        .collect();
    if sat.is_empty() {
        return None;
    }
    let mut rows = Vec::new();
    let c = cfg.saturation.connections;
    // The ceiling first: every other bar reads against it.
    for system in [System::Pgbench].into_iter().chain(System::ALL) {
        let mine: Vec<&&CellResult> = sat.iter().filter(|r| r.cell.system() == system).collect();
        if mine.is_empty() {
            continue;
        }
        let heading = match system {
            System::Pgbench => ceiling_title(c),
            _ => system.title().to_string(),
        };
        rows.push(Row::Heading(heading, color(system)));
        for r in mine {
            let label = match (system, r.cell.route) {
                (System::Pgbench, _) => "ceiling (tps)".to_string(),
                (_, Route::Direct) => r.cell.variant.label(),
                (_, route) => format!("{},{}", r.cell.variant.label(), route.via()),
            };
            rows.push(bar(r, label, color(system)));
        }
    }
    let title = format!(
        "Saturation: {c} keep-alive connections; prefork at --batch 1 and with group commit (dark grey: pgbench's ceiling)"
    );
    Some(Panel { title, rows })
}

fn bar(r: &CellResult, label: String, color: &'static str) -> Row {
    let summary = Summary::of(r).filter(|_| r.status == Status::Ok);
    let (value, text) = match (summary, r.status) {
        (Some(s), _) => {
            let time = match r.cell.load {
                Load::Seed(_) => format!(" ({:.1} s)", s.elapsed_s),
                Load::Saturation(_) => String::new(),
            };
            (Some(s.rps), format!("{:.0}{time}", s.rps))
        }
        (None, Status::Skipped) => (None, "skipped".into()),
        (None, _) => (None, "FAIL".into()),
    };
    Row::Bar {
        label,
        value,
        text,
        color,
    }
}

/// A log10 x axis from a 1-2-5 value below the smallest bar to one above the largest.
struct Scale {
    lo: f64,
    hi: f64,
}

/// The largest 1, 2 or 5 × 10^k not above `v`.
fn nice_floor(v: f64) -> f64 {
    let decade = 10f64.powf(v.log10().floor());
    [5.0, 2.0, 1.0]
        .into_iter()
        .map(|m| m * decade)
        .find(|&n| n <= v * 1.000_001)
        .unwrap_or(decade)
}

/// The smallest 1, 2 or 5 × 10^k not below `v`.
fn nice_ceil(v: f64) -> f64 {
    let decade = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * decade)
        .find(|&n| n >= v / 1.000_001)
        .unwrap_or(decade * 10.0)
}

impl Scale {
    fn fit(values: impl Iterator<Item = f64>) -> Scale {
        let (mut min, mut max) = (f64::INFINITY, 0.0f64);
        for v in values.filter(|v| *v > 0.0) {
            min = min.min(v);
            max = max.max(v);
        }
        if max == 0.0 {
            return Scale { lo: 1.0, hi: 1e4 };
        }
        let lo = nice_floor(min);
        let hi = nice_ceil(max).max(nice_ceil(lo * 1.5));
        Scale { lo, hi }
    }

    fn x(&self, v: f64) -> f64 {
        let f = (v.max(self.lo).log10() - self.lo.log10()) / (self.hi.log10() - self.lo.log10());
        X0 + f * (X1 - X0)
    }

    /// Grid values (1, 2 and 5 of every decade in range) and whether each is a decade.
    fn ticks(&self) -> Vec<(f64, bool)> {
        let mut out = Vec::new();
        let mut decade = 10f64.powf(self.lo.log10().floor());
        while decade <= self.hi * 1.000_001 {
            out.extend([1.0, 2.0, 5.0].map(|m| (decade * m, m == 1.0)));
            decade *= 10.0;
        }
        out.retain(|(v, _)| *v >= self.lo / 1.000_001 && *v <= self.hi * 1.000_001);
        out
    }
}

/// Draws a panel from `y`; returns the y below it.
fn draw_panel(out: &mut String, panel: &Panel, scale: &Scale, y: f64) -> f64 {
    text(
        out,
        20.0,
        y,
        "start",
        r#"font-size="14" font-weight="bold""#,
        &panel.title,
    );
    let top = y + 10.0;
    let bottom = top + ROW * panel.rows.len() as f64 + 4.0;
    for (v, major) in scale.ticks() {
        let x = scale.x(v);
        let (stroke, label) = if major {
            ("#d1d5db", r##"fill="#374151""##)
        } else {
            ("#eef0f3", r##"fill="#9ca3af" font-size="10""##)
        };
        let _ = writeln!(
            out,
            r#"<line x1="{x:.1}" y1="{top:.1}" x2="{x:.1}" y2="{bottom:.1}" stroke="{stroke}"/>"#
        );
        text(out, x, bottom + 14.0, "middle", label, &si(v));
    }
    let axis = r##"fill="#374151" font-style="italic""##;
    text(
        out,
        X0 - 16.0,
        bottom + 14.0,
        "end",
        axis,
        "req/s (log scale)",
    );
    for (i, row) in panel.rows.iter().enumerate() {
        draw_row(out, row, scale, top + ROW * i as f64);
    }
    bottom + 20.0
}

fn draw_row(out: &mut String, row: &Row, scale: &Scale, y: f64) {
    let mid = y + ROW / 2.0 + 4.0;
    match row {
        Row::Heading(name, color) => {
            let attrs = format!(r#"font-weight="bold" fill="{color}""#);
            text(out, 20.0, mid, "start", &attrs, name);
        }
        Row::Bar {
            label,
            value,
            text: value_text,
            color,
        } => {
            let muted = *color == PUBLISHED_GREY;
            let style = if muted {
                r##"fill="#6b7280" font-style="italic""##
            } else {
                ""
            };
            text(out, X0 - 8.0, mid, "end", style, label);
            let Some(v) = value else {
                text(
                    out,
                    X0 + 4.0,
                    mid,
                    "start",
                    r##"fill="#b91c1c" font-weight="bold""##,
                    value_text,
                );
                return;
            };
            let (x, top) = (scale.x(*v), y + (ROW - BAR) / 2.0);
            let _ = writeln!(
                out,
                r#"<rect x="{X0}" y="{top:.1}" width="{:.1}" height="{BAR}" fill="{color}" rx="2"/>"#,
                (x - X0).max(1.0)
            );
            text(out, x + 5.0, mid, "start", style, value_text);
        }
    }
}

fn text(out: &mut String, x: f64, y: f64, anchor: &str, attrs: &str, content: &str) {
    let _ = writeln!(
        out,
        r#"<text x="{x:.1}" y="{y:.1}" text-anchor="{anchor}" {attrs}>{}</text>"#,
        escape(content)
    );
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `10`, `100`, `1k`, `10k`, `1M`.
fn si(v: f64) -> String {
    match v {
        v if v >= 1e6 => format!("{:.0}M", v / 1e6),
        v if v >= 1e3 => format!("{:.0}k", v / 1e3),
        v => format!("{v:.0}"),
    }
}

/// The original experiment's figures (`benches/targets.toml`).
fn published() -> &'static Published {
    &targets::get().published
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The axis covers whole decades around the values, and maps them monotonically.
    #[test]
    fn log_scale() {
        let s = Scale::fit([98.0, 3200.0, 27000.0].into_iter());
        assert_eq!((s.lo, s.hi), (50.0, 50_000.0));
        assert_eq!(s.x(50.0), X0);
        assert!((s.x(50_000.0) - X1).abs() < 1e-9);
        assert!(s.x(98.0) < s.x(3200.0));
        let ticks: Vec<f64> = s.ticks().iter().map(|t| t.0).collect();
        assert_eq!(ticks.first(), Some(&50.0));
        assert_eq!(ticks.last(), Some(&50_000.0));
        let majors: Vec<f64> = s.ticks().iter().filter(|t| t.1).map(|t| t.0).collect();
        assert_eq!(majors, [100.0, 1000.0, 10_000.0]);
        assert_eq!((nice_floor(100.0), nice_ceil(100.0)), (100.0, 100.0));
        assert_eq!((nice_floor(1999.0), nice_ceil(2001.0)), (1000.0, 5000.0));
        assert_eq!(si(10_000.0), "10k");
    }

    /// Text is escaped for XML.
    #[test]
    fn escapes() {
        assert_eq!(escape("a<b & c>"), "a&lt;b &amp; c&gt;");
    }
}
