//! The markdown printed on stdout: the seed rounds in the published table's shape with
//! the published numbers beside ours, the saturation rounds, the group-commit, HTTP
//! ceilings and accept comparisons, the access log's cost, one commit per request against
//! pgbench, the acceptance verdicts, and every cell in detail.
//!
//! - [`table`]: rows, status texts and other building blocks of every table.
//! - [`seed`], [`saturation`], [`sections`], [`one_commit`], [`ceilings`],
//!   [`access_log`], [`details`]: one part each.

use std::fmt::Write as _;

use crate::cli::Config;
use crate::machine::Machine;
use crate::model::CellResult;
use crate::verdict;

pub mod access_log;
pub mod ceilings;
pub mod details;
pub mod one_commit;
pub mod saturation;
pub mod sections;
pub mod seed;
pub mod table;

/// The whole markdown report.
pub fn markdown(results: &[CellResult], machine: &Machine, cfg: &Config) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# prefork bench, {}\n", machine.date);
    let _ = writeln!(out, "Machine: {}.\n", machine.summary());
    let _ = writeln!(out, "prefork knobs: {}.\n", cfg.knobs.describe());
    if results.iter().any(|r| r.cell.is_seed()) {
        seed::markdown(&mut out, results, cfg);
    }
    if results.iter().any(|r| !r.cell.is_seed()) {
        saturation::markdown(&mut out, results, cfg);
        saturation::unix_socket_markdown(&mut out, results);
    }
    sections::group_commit_table(&mut out, results, cfg);
    one_commit::markdown(&mut out, results, cfg);
    ceilings::markdown(&mut out, results, cfg);
    access_log::markdown(&mut out, results, cfg);
    sections::accept_table(&mut out, results, cfg);
    sections::verdict_lines(&mut out, &verdict::verdicts(results, cfg));
    details::markdown(&mut out, results);
    out
}
