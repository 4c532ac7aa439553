//! `results.json`: the machine, the configuration, the acceptance verdicts, the access
//! log's cost, every cell with its summary and runs, and the published numbers.

use serde_json::{json, Value};

use crate::cli::Config;
use crate::machine::Machine;
use crate::model::{CellResult, Load, Round, Status};
use crate::report;
use crate::summary::Summary;
use crate::targets;
use crate::verdict;

/// The whole document.
pub fn results_json(
    results: &[CellResult],
    machine: &Machine,
    cfg: &Config,
    interrupted: bool,
) -> Value {
    let cells: Vec<Value> = results.iter().map(cell_json).collect();
    let failed = results.iter().filter(|r| r.status == Status::Fail).count();
    let published = &targets::get().published;
    json!({
        "machine": machine,
        "config": {
            "quick": cfg.quick,
            "repeat": cfg.repeat,
            "seed": cfg.seed,
            "saturation": {
                "connections": cfg.saturation.connections,
                "duration_s": cfg.saturation.duration.as_secs_f64(),
                "warmup_s": cfg.saturation.warmup.as_secs_f64(),
            },
            "peers": cfg.peers,
            "nginx": cfg.nginx,
            "prefork_knobs": cfg.knobs,
        },
        "acceptance": verdict::verdicts(results, cfg),
        "access_log_cost": report::access_log::costs(cfg, results),
        "interrupted": interrupted,
        "failed_cells": failed,
        "cells": cells,
        "published": {
            "requests": published.requests(),
            "client": format!(
                "{} users × {}, new connection per request",
                published.users, published.loops
            ),
            "rows": published.rows,
        },
    })
}

fn cell_json(r: &CellResult) -> Value {
    let c = &r.cell;
    let (phase, load) = match c.load {
        Load::Seed(s) => ("seed", json!({"users": s.users, "loops": s.loops})),
        Load::Saturation(s) => (
            "saturation",
            json!({"connections": s.connections, "duration_s": s.duration.as_secs_f64()}),
        ),
    };
    json!({
        "key": c.key(),
        "system": c.system(),
        "system_title": c.system().title(),
        "variant": c.variant,
        "label": c.variant.label(),
        "phase": phase,
        "round": if c.is_seed() { Round::of(&c.variant) } else { None },
        "route": c.route,
        "section": c.section,
        "load": load,
        "status": r.status,
        "note": r.note,
        "summary": Summary::of(r),
        "runs": r.runs,
    })
}
