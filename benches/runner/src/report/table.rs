//! The report's building blocks: markdown table rows, a cell's status text, the
//! spread and errors of its runs, the ceiling row's title.

use std::fmt::Write as _;

use crate::model::{CellResult, Status};
use crate::summary::Summary;

/// `skipped: …` / `FAIL: …`, or None for a measured cell.
pub fn status_text(r: &CellResult) -> Option<String> {
    let note = || short(r.note.as_deref().unwrap_or(""));
    match r.status {
        Status::Ok if !r.runs.is_empty() => None,
        Status::Ok => Some("—".into()),
        Status::Skipped => Some(format!("skipped: {}", note())),
        Status::Fail => Some(format!("**FAIL**: {}", note())),
    }
}

/// `, 3010–3200`: the spread of repeated runs' rates (nothing for one run).
pub fn spread(s: &Summary) -> String {
    if s.runs < 2 {
        return String::new();
    }
    format!(", {:.0}–{:.0}", s.rps_min, s.rps_max)
}

/// ` ⚠ 3 errors`, or nothing.
pub fn errors(s: &Summary) -> String {
    if s.errors == 0 {
        return String::new();
    }
    format!(" ⚠ {} errors", s.errors)
}

/// The first line of a note, cut to fit a table cell, without `|`.
pub fn short(note: &str) -> String {
    let line = note.lines().next().unwrap_or("").replace('|', "/");
    if line.chars().count() <= 70 {
        return line;
    }
    let cut: String = line.chars().take(69).collect();
    format!("{cut}…")
}

/// The ceiling row's title: `pgbench (same INSERT, 64 clients) — ceiling`.
pub fn ceiling_title(clients: u64) -> String {
    format!("pgbench (same INSERT, {clients} clients) — ceiling")
}

/// A markdown table head and its rule.
pub fn table_head(out: &mut String, head: &[String]) {
    table_row(out, head);
    let rule: Vec<String> = head.iter().map(|_| "---".to_string()).collect();
    table_row(out, &rule);
}

/// A markdown table row.
pub fn table_row(out: &mut String, cells: &[String]) {
    let _ = writeln!(out, "| {} |", cells.join(" | "));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Long notes are cut to one line without table-breaking pipes.
    #[test]
    fn short_notes() {
        assert_eq!(short("a | b\nsecond line"), "a / b");
        let long = "x".repeat(100);
        assert_eq!(short(&long).chars().count(), 70);
    }
}
