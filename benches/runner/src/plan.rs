//! The bench's matrix as data: one [`Spec`] per cell — which run mode, which load model,
//! which route, which part of the report, in which runs (`--quick` or full) — in run
//! order. A measurement two parts of the report share (same run mode, load and route)
//! runs once, under the first.
//!
//! Two stages: every cell of a fixed run mode first, then each system's saturation
//! cells at its best run mode, which only the first stage's results tell: the best
//! seed-round mode, or for the axum peer (one process, whose knob is its pool size) its
//! best pool size at the saturation load.

use crate::cli::Config;
use crate::model::{
    Accept, Cell, CellResult, Db, Load, Mode, Prefork, Route, Section, Status, System, Variant,
    AXUM_POOL, DEFAULT_BATCH, EVENTED_CONNS,
};
use crate::summary::Summary;
use Mode::{Evloop, Threads};
use Runs::{Always, Full, Quick};

/// In which benches a spec is planned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Runs {
    /// Full and `--quick`.
    Always,
    /// Only without `--quick`.
    Full,
    /// Only with `--quick`.
    Quick,
}

/// The run mode a spec measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pick {
    /// This one.
    Fixed(Variant),
    /// The system's best run mode, as [`best_variant`] picks it (second stage).
    Best(System),
}

/// The client model of a spec; its numbers come from the configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Model {
    /// Connection per request, `--users` × `--loops`.
    Seed,
    /// `--connections` keep-alive connections for about `--duration`.
    Saturation,
}

/// One cell of the matrix.
#[derive(Clone, Copy, Debug)]
pub struct Spec {
    /// The report section it is planned for.
    pub section: Section,
    /// The run mode.
    pub pick: Pick,
    /// The client model.
    pub model: Model,
    /// Direct or through nginx.
    pub route: Route,
    /// Full bench, `--quick`, or both.
    pub runs: Runs,
}

const fn spec(section: Section, variant: Variant, model: Model, runs: Runs) -> Spec {
    Spec {
        section,
        pick: Pick::Fixed(variant),
        model,
        route: Route::Direct,
        runs,
    }
}

/// prefork at `workers` × `threads` with `batch` and `accept`.
const fn pf(mode: Mode, workers: u32, threads: Option<u32>, batch: u32, accept: Accept) -> Variant {
    Variant::Prefork(Prefork {
        mode,
        workers,
        threads,
        batch,
        accept,
        db: Db::Sync,
        access_log: false,
    })
}

/// prefork evloop `--db evented --db-conns conns` at `workers` with `batch`.
const fn ev(workers: u32, conns: u32, batch: u32) -> Variant {
    Variant::Prefork(Prefork {
        batch,
        ..Prefork::evented(workers, conns)
    })
}

/// A published round's prefork run mode.
const fn plain(mode: Mode, workers: u32) -> Variant {
    Variant::Prefork(Prefork::plain(mode, workers))
}

const fn seed(variant: Variant, runs: Runs) -> Spec {
    spec(Section::Rounds, variant, Model::Seed, runs)
}

const fn best(system: System, route: Route) -> Spec {
    Spec {
        section: Section::Rounds,
        pick: Pick::Best(system),
        model: Model::Saturation,
        route,
        runs: Runs::Always,
    }
}

/// Workers of the accept comparison: more than the 2 cores, so an uneven spread shows
/// (`--quick`: 2, which the other sections measure already for reuseport).
pub fn accept_workers(quick: bool) -> u32 {
    if quick {
        2
    } else {
        4
    }
}

/// The whole matrix, in run order.
///
/// - The published seed rounds (`--quick`: round 2, two workers each), prefork evloop
///   `--db evented` (its default connections and batch) at 1 and 2 workers beside them,
///   and pgbench at the seed load (`-c users -t loops`: the time the database takes for
///   the same transactions with no HTTP and no connection per request).
/// - The accept comparison under the seed load.
/// - The pgbench ceiling, then prefork `--batch 1` vs group commit at the saturation
///   load. Evloop: one worker (the biggest batches) and one per core. Threads: the
///   default request threads (2 × CPUs) per worker, and 32 per worker — 64 PostgreSQL
///   connections, one per client as pgbench has, which is what one commit per request
///   needs to share WAL flushes. Evloop `--db evented` at 2 workers: `--batch 1` with
///   4, 8 and 16 connections per worker (the report keeps the best), and group commit at
///   its default connections. `--quick` keeps the best guess for each batch and db.
/// - The accept comparison under the saturation load.
/// - The HTTP ceilings beside group commit at one worker per core.
/// - The access log's cost: prefork `--app hello` and the task endpoint (evloop; full
///   runs also threads), 2 workers, without and with `--access-log FILE`. The bench runs
///   each pair alternately ([`access_log_partner`]), so the "without" cell — the ceiling
///   or group-commit cell, when those run — is measured once, beside its partner.
/// - The axum peer (one INSERT, one commit per request) beside them, at pool sizes 8, 16
///   (its default, the seed rounds' and `--quick`'s) and 32.
/// - Each system's saturation at its best run mode, direct and through nginx; prefork's
///   also through nginx over a Unix socket.
pub const MATRIX: &[Spec] = &[
    seed(plain(Evloop, 1), Full),
    seed(plain(Evloop, 2), Always),
    seed(plain(Evloop, 3), Full),
    seed(plain(Evloop, 9), Full),
    seed(plain(Threads, 1), Full),
    seed(plain(Threads, 2), Always),
    seed(plain(Threads, 3), Full),
    seed(plain(Threads, 9), Full),
    seed(ev(1, EVENTED_CONNS, DEFAULT_BATCH), Full),
    seed(ev(2, EVENTED_CONNS, DEFAULT_BATCH), Full),
    seed(Variant::Pgbench, Always),
    seed(Variant::Pm2Fork, Full),
    seed(Variant::Pm2Cluster { instances: 2 }, Always),
    seed(Variant::Pm2Cluster { instances: -1 }, Full),
    seed(Variant::GunicornSync { workers: 1 }, Full),
    seed(Variant::GunicornSync { workers: 2 }, Always),
    seed(Variant::GunicornSync { workers: 3 }, Full),
    seed(Variant::GunicornSync { workers: 9 }, Full),
    seed(gevent(1000, 9), Full),
    seed(gevent(500, 4), Full),
    seed(gevent(1000, 1), Full),
    seed(axum(AXUM_POOL), Always),
    spec(Section::Accept, plain(Evloop, 4), Model::Seed, Full),
    spec(Section::Accept, shared(4), Model::Seed, Full),
    spec(Section::Accept, plain(Evloop, 2), Model::Seed, Quick),
    spec(Section::Accept, shared(2), Model::Seed, Quick),
    group(Variant::Pgbench, Always),
    group(pf(Evloop, 2, None, 1, Accept::Reuseport), Full),
    group(plain(Evloop, 2), Full),
    group(pf(Evloop, 1, None, 1, Accept::Reuseport), Full),
    group(plain(Evloop, 1), Full),
    group(pf(Threads, 2, None, 1, Accept::Reuseport), Full),
    group(plain(Threads, 2), Full),
    group(pf(Threads, 2, Some(32), 1, Accept::Reuseport), Always),
    group(
        pf(Threads, 2, Some(32), DEFAULT_BATCH, Accept::Reuseport),
        Full,
    ),
    group(ev(2, 4, 1), Full),
    group(ev(2, 8, 1), Full),
    group(ev(2, 16, 1), Always),
    group(ev(2, EVENTED_CONNS, DEFAULT_BATCH), Always),
    group(plain(Evloop, 2), Quick),
    group(axum(8), Full),
    group(axum(AXUM_POOL), Always),
    group(axum(32), Full),
    spec(Section::Accept, plain(Evloop, 4), Model::Saturation, Full),
    spec(Section::Accept, shared(4), Model::Saturation, Full),
    spec(Section::Accept, plain(Evloop, 2), Model::Saturation, Quick),
    spec(Section::Accept, shared(2), Model::Saturation, Quick),
    ceiling(hello(Evloop)),
    ceiling(hello(Threads)),
    ceiling(Variant::NginxReturn),
    ceiling(plain(Evloop, 2)),
    access_log(hello(Evloop), Always),
    access_log(logged(hello(Evloop)), Always),
    access_log(plain(Evloop, 2), Always),
    access_log(logged(plain(Evloop, 2)), Always),
    access_log(hello(Threads), Full),
    access_log(logged(hello(Threads)), Full),
    access_log(plain(Threads, 2), Full),
    access_log(logged(plain(Threads, 2)), Full),
    best(System::PreforkEvloop, Route::Direct),
    best(System::PreforkEvloop, Route::Nginx),
    best(System::PreforkEvloop, Route::NginxUnix),
    best(System::PreforkThreads, Route::Direct),
    best(System::PreforkThreads, Route::Nginx),
    best(System::PreforkThreads, Route::NginxUnix),
    best(System::Express, Route::Direct),
    best(System::Express, Route::Nginx),
    best(System::Django, Route::Direct),
    best(System::Django, Route::Nginx),
    best(System::Axum, Route::Direct),
    best(System::Axum, Route::Nginx),
];

const fn axum(pool: u32) -> Variant {
    Variant::Axum { pool }
}

const fn gevent(connections: u32, workers: u32) -> Variant {
    Variant::GunicornGevent {
        workers,
        connections,
    }
}

const fn shared(workers: u32) -> Variant {
    pf(Evloop, workers, None, DEFAULT_BATCH, Accept::Shared)
}

const fn group(variant: Variant, runs: Runs) -> Spec {
    spec(Section::GroupCommit, variant, Model::Saturation, runs)
}

/// prefork `--app hello`, one worker per core of the 2-core machine.
const fn hello(mode: Mode) -> Variant {
    Variant::Hello {
        mode,
        workers: 2,
        access_log: false,
    }
}

const fn ceiling(variant: Variant) -> Spec {
    spec(Section::Ceilings, variant, Model::Saturation, Always)
}

const fn access_log(variant: Variant, runs: Runs) -> Spec {
    spec(Section::AccessLog, variant, Model::Saturation, runs)
}

/// The prefork run mode `variant` with `--access-log FILE`.
const fn logged(variant: Variant) -> Variant {
    match variant.with_access_log() {
        Some(v) => v,
        None => panic!("only prefork keeps an access log"),
    }
}

impl Spec {
    /// Whether the configuration plans this spec (`--quick`, `--no-nginx`).
    fn wanted(&self, cfg: &Config) -> bool {
        let runs = match self.runs {
            Always => true,
            Full => !cfg.quick,
            Quick => cfg.quick,
        };
        let nginx = self.route != Route::Direct || self.pick == Pick::Fixed(Variant::NginxReturn);
        runs && (cfg.nginx || !nginx)
    }

    /// The cell, its run mode chosen by `best` for a [`Pick::Best`].
    fn cell(&self, cfg: &Config, best: &dyn Fn(System) -> Variant) -> Cell {
        let variant = match self.pick {
            Pick::Fixed(v) => v,
            Pick::Best(system) => best(system),
        };
        Cell {
            variant,
            load: match self.model {
                Model::Seed => Load::Seed(cfg.seed),
                Model::Saturation => Load::Saturation(cfg.saturation),
            },
            route: self.route,
            section: self.section,
        }
    }
}

/// The cells of fixed run modes, as the configuration wants them.
pub fn first_stage(cfg: &Config) -> Vec<Cell> {
    MATRIX
        .iter()
        .filter(|s| matches!(s.pick, Pick::Fixed(_)) && s.wanted(cfg))
        .map(|s| s.cell(cfg, &quick_variant))
        .collect()
}

/// Each system's saturation cells at its best run mode (`best`).
pub fn second_stage(cfg: &Config, best: &dyn Fn(System) -> Variant) -> Vec<Cell> {
    MATRIX
        .iter()
        .filter(|s| matches!(s.pick, Pick::Best(_)) && s.wanted(cfg))
        .map(|s| s.cell(cfg, best))
        .collect()
}

/// The fixed cells planned for `section` (selected by `--only` or not).
pub fn section_cells(cfg: &Config, section: Section) -> Vec<Cell> {
    first_stage(cfg)
        .into_iter()
        .filter(|c| c.section == section)
        .collect()
}

/// The results of `section`'s planned cells that ran, in plan order.
pub fn ran_in_section<'r>(
    cfg: &Config,
    section: Section,
    results: &'r [CellResult],
) -> Vec<&'r CellResult> {
    section_cells(cfg, section)
        .iter()
        .filter_map(|c| results.iter().find(|r| r.cell.same_measurement(c)))
        .collect()
}

/// The cells of `cells` that `--only` selects, each measurement once, in the order the
/// bench runs them: an access-log partner ([`access_log_partner`]) right after the cell
/// it pairs with.
pub fn planned(cfg: &Config, cells: Vec<Cell>) -> Vec<Cell> {
    let mut out: Vec<Cell> = Vec::new();
    for c in cells {
        if !cfg.filter.selects(c.system(), &c.tags()) {
            continue;
        }
        for c in std::iter::once(c).chain(access_log_partner(cfg, &c)) {
            if !out.iter().any(|o| o.same_measurement(&c)) {
                out.push(c);
            }
        }
    }
    out
}

/// The access-log section's cell that pairs with `cell` — the same run mode, load and
/// route with `--access-log FILE` — when `cell` keeps no log and the configuration plans
/// and selects that partner. The bench runs such a pair alternately, run by run, so each
/// ratio with ÷ without is of two runs made back to back.
pub fn access_log_partner(cfg: &Config, cell: &Cell) -> Option<Cell> {
    if cell.variant.keeps_access_log() {
        return None;
    }
    let logged = Cell {
        variant: cell.variant.with_access_log()?,
        ..*cell
    };
    section_cells(cfg, Section::AccessLog)
        .into_iter()
        .find(|c| c.same_measurement(&logged))
        .filter(|c| cfg.filter.selects(c.system(), &c.tags()))
}

/// The experiment's round 2 (two workers each; the axum peer at its default pool): the
/// saturation choice when none of the cells that pick the system's best mode ran.
pub fn quick_variant(system: System) -> Variant {
    match system {
        System::Axum => axum(AXUM_POOL),
        System::PreforkEvloop => plain(Evloop, 2),
        System::PreforkThreads => plain(Threads, 2),
        System::Express => Variant::Pm2Cluster { instances: 2 },
        System::Django => Variant::GunicornSync { workers: 2 },
        System::Pgbench => Variant::Pgbench,
        System::Nginx => Variant::NginxReturn,
    }
}

/// The system's best run mode: its published-round seed cell with the highest median
/// rate, or for the axum peer its direct saturation cell (pool sizes, in the group-commit
/// section) with the highest median rate — its one process leaves no worker count to
/// vary, and 10 seed users cannot tell pool sizes apart. Round 2's run mode (axum's
/// default pool) when none of those ran (`--only saturation`); `--quick` runs it anyway.
pub fn best_variant(results: &[CellResult], system: System) -> Variant {
    results
        .iter()
        .filter(|r| r.cell.system() == system && r.status == Status::Ok)
        .filter(|r| picks_best(&r.cell))
        .filter_map(|r| Some((Summary::median_rps(r)?, r.cell.variant)))
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map_or_else(|| quick_variant(system), |(_, v)| v)
}

/// Whether `cell` is one of those its system's best run mode is chosen from.
fn picks_best(cell: &Cell) -> bool {
    match cell.system() {
        System::Axum => {
            !cell.is_seed() && cell.route == Route::Direct && cell.section == Section::GroupCommit
        }
        _ => cell.is_seed() && cell.section == Section::Rounds,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Round, Tag};

    fn plan(cfg: &Config) -> Vec<String> {
        let cells = first_stage(cfg)
            .into_iter()
            .chain(second_stage(cfg, &quick_variant))
            .collect();
        planned(cfg, cells).iter().map(Cell::key).collect()
    }

    fn keys(cells: &[Cell]) -> Vec<String> {
        cells.iter().map(Cell::key).collect()
    }

    /// `--quick` covers the acceptance rows, each measurement once, peers and nginx included.
    #[test]
    fn quick_plan() {
        assert_eq!(
            plan(&Config::parsed(&["--quick"])),
            [
                "seed-evloop-2",
                "seed-threads-2",
                "seed-pgbench",
                "seed-pm2-cluster-2",
                "seed-sync-2",
                "seed-axum-pool16",
                "seed-evloop-2-shared",
                "sat-direct-pgbench",
                "sat-direct-threads-2-t32-b1",
                "sat-direct-evloop-2-ev16-b1",
                "sat-direct-evloop-2-ev4",
                "sat-direct-evloop-2",
                "sat-direct-evloop-2-alog",
                "sat-direct-axum-pool16",
                "sat-direct-evloop-2-shared",
                "sat-direct-hello-evloop-2",
                "sat-direct-hello-evloop-2-alog",
                "sat-direct-hello-threads-2",
                "sat-direct-nginx-return-200",
                "sat-nginx-evloop-2",
                "sat-nginx-unix-evloop-2",
                "sat-direct-threads-2",
                "sat-nginx-threads-2",
                "sat-nginx-unix-threads-2",
                "sat-direct-pm2-cluster-2",
                "sat-nginx-pm2-cluster-2",
                "sat-direct-sync-2",
                "sat-nginx-sync-2",
                "sat-nginx-axum-pool16",
            ]
        );
        assert_eq!(
            plan(&Config::parsed(&[
                "--quick",
                "--no-nginx",
                "--only",
                "axum"
            ])),
            ["seed-axum-pool16", "sat-direct-axum-pool16"]
        );
    }

    /// The full plan: 18 published seed cells and axum's, evented's two and pgbench's,
    /// the accept pairs, the ceiling, twelve prefork group-commit rows and axum's three
    /// pool sizes, the HTTP ceilings, four cells with an access log and the per-system
    /// saturation cells, shared cells once; `--no-nginx` drops nginx's cells.
    #[test]
    fn full_plan() {
        let keys = plan(&Config::parsed(&["--no-nginx"]));
        assert_eq!(keys.len(), 22 + 2 + 1 + 12 + 3 + 2 + 2 + 2 + 4);
        assert_eq!(
            keys[8..13],
            [
                "seed-evloop-1-ev4",
                "seed-evloop-2-ev4",
                "seed-pgbench",
                "seed-pm2-fork",
                "seed-pm2-cluster-2"
            ]
        );
        assert_eq!(
            keys[22..25],
            [
                "seed-evloop-4",
                "seed-evloop-4-shared",
                "sat-direct-pgbench"
            ]
        );
        assert!(!keys.iter().any(|k| k.contains("nginx")));
        assert_eq!(
            plan(&Config::parsed(&["--only", "accept"])),
            [
                "seed-evloop-4",
                "seed-evloop-4-shared",
                "sat-direct-evloop-4",
                "sat-direct-evloop-4-shared",
            ]
        );
        assert_eq!(
            plan(&Config::parsed(&["--only", "ceilings"])),
            [
                "sat-direct-hello-evloop-2",
                "sat-direct-hello-threads-2",
                "sat-direct-nginx-return-200",
                "sat-direct-evloop-2",
            ]
        );
    }

    /// The full matrix has the experiment's 18 seed cells, axum's and evented's two, each
    /// on a published row, and pgbench's; `--quick` keeps round 2, axum's one process
    /// (round 1) and pgbench.
    #[test]
    fn seed_matrix() {
        let seeds = |cfg: &Config| -> Vec<Variant> {
            section_cells(cfg, Section::Rounds)
                .iter()
                .map(|c| c.variant)
                .collect()
        };
        let all = seeds(&Config::parsed(&[]));
        assert_eq!(all.len(), 4 + 4 + 2 + 1 + 3 + 7 + 1);
        assert!(all
            .iter()
            .all(|v| (Round::of(v).is_some()) != (*v == Variant::Pgbench)));
        let quick = seeds(&Config::parsed(&["--quick"]));
        assert_eq!(quick.len(), 6);
        assert!(quick.iter().all(|v| Round::of(v)
            == match v.system() {
                System::Axum => Some(Round::One),
                System::Pgbench => None,
                _ => Some(Round::Two),
            }));
        assert!(System::ALL
            .iter()
            .all(|&s| quick.contains(&quick_variant(s))));
    }

    /// The full group-commit section tries evloop 2 and 1 and threads 2 (default and 32
    /// threads), each at batch 1 and 256, evented at batch 1 with 4, 8 and 16 connections
    /// and with group commit, and axum at pools 8, 16 and 32; `--quick` keeps one row of
    /// each batch and db and axum's default pool.
    #[test]
    fn group_commit() {
        let cells = section_cells(&Config::parsed(&[]), Section::GroupCommit);
        assert_eq!(
            keys(&cells),
            [
                "sat-direct-pgbench",
                "sat-direct-evloop-2-b1",
                "sat-direct-evloop-2",
                "sat-direct-evloop-1-b1",
                "sat-direct-evloop-1",
                "sat-direct-threads-2-b1",
                "sat-direct-threads-2",
                "sat-direct-threads-2-t32-b1",
                "sat-direct-threads-2-t32",
                "sat-direct-evloop-2-ev4-b1",
                "sat-direct-evloop-2-ev8-b1",
                "sat-direct-evloop-2-ev16-b1",
                "sat-direct-evloop-2-ev4",
                "sat-direct-axum-pool8",
                "sat-direct-axum-pool16",
                "sat-direct-axum-pool32",
            ]
        );
        assert!(cells
            .iter()
            .all(|c| c.tags() == [Tag::Saturation, Tag::Direct, Tag::GroupCommit]));
        assert_eq!(
            keys(&section_cells(
                &Config::parsed(&["--quick"]),
                Section::GroupCommit
            )),
            [
                "sat-direct-pgbench",
                "sat-direct-threads-2-t32-b1",
                "sat-direct-evloop-2-ev16-b1",
                "sat-direct-evloop-2-ev4",
                "sat-direct-evloop-2",
                "sat-direct-axum-pool16"
            ]
        );
    }

    /// The accept pairs differ only in the strategy; quick's reuseport cells are the
    /// published round 2 and the group-commit row, so they run once.
    #[test]
    fn accept_cells() {
        let full = section_cells(&Config::parsed(&[]), Section::Accept);
        assert_eq!(
            keys(&full),
            [
                "seed-evloop-4",
                "seed-evloop-4-shared",
                "sat-direct-evloop-4",
                "sat-direct-evloop-4-shared"
            ]
        );
        let [a, b] = [full[0].prefork().unwrap(), full[1].prefork().unwrap()];
        assert_eq!((a.workers, a.batch, a.accept), (4, 256, Accept::Reuseport));
        assert_eq!((b.workers, b.batch, b.accept), (4, 256, Accept::Shared));
        let quick_cfg = Config::parsed(&["--quick"]);
        let quick = section_cells(&quick_cfg, Section::Accept);
        assert_eq!(quick[3].tags(), [Tag::Saturation, Tag::Direct, Tag::Accept]);
        let group = section_cells(&quick_cfg, Section::GroupCommit);
        assert!(quick[2].same_measurement(&group[4]));
        let rounds = section_cells(&quick_cfg, Section::Rounds);
        assert!(quick[0].same_measurement(&rounds[0]));
        assert_eq!(accept_workers(true), 2);
    }

    /// The axum peer's best mode is its fastest pool size at the saturation load, whatever
    /// its seed cell did; its default pool when none ran.
    #[test]
    fn axum_best_pool() {
        let cfg = Config::parsed(&["--no-nginx"]);
        let results: Vec<CellResult> = first_stage(&cfg)
            .into_iter()
            .filter(|c| c.system() == System::Axum)
            .map(|cell| {
                let rps = match cell.variant {
                    _ if cell.is_seed() => 5000.0,
                    Variant::Axum { pool: 32 } => 900.0,
                    _ => 500.0,
                };
                CellResult {
                    cell,
                    status: Status::Ok,
                    note: None,
                    runs: vec![crate::model::RunRecord::sample(rps, 1.0, 1, 1)],
                }
            })
            .collect();
        assert_eq!(results.len(), 4);
        assert_eq!(best_variant(&results, System::Axum), axum(32));
        assert_eq!(best_variant(&[], System::Axum), axum(AXUM_POOL));
        let second = second_stage(&cfg, &|s| best_variant(&results, s));
        assert!(keys(&second).contains(&"sat-direct-axum-pool32".to_string()));
    }

    /// `--only access-log` plans the pairs, each "without" cell right before its partner,
    /// keys distinct; `--quick` keeps evloop's two pairs; only the partners keep a log;
    /// the "without" cells are the ceiling and group-commit measurements.
    #[test]
    fn access_log_pairs() {
        let full = plan(&Config::parsed(&["--only", "access-log"]));
        assert_eq!(
            full,
            [
                "sat-direct-hello-evloop-2",
                "sat-direct-hello-evloop-2-alog",
                "sat-direct-evloop-2",
                "sat-direct-evloop-2-alog",
                "sat-direct-hello-threads-2",
                "sat-direct-hello-threads-2-alog",
                "sat-direct-threads-2",
                "sat-direct-threads-2-alog",
            ]
        );
        let mut distinct = full.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), full.len());
        assert_eq!(
            plan(&Config::parsed(&["--quick", "--only", "alog"])),
            [
                "sat-direct-hello-evloop-2",
                "sat-direct-hello-evloop-2-alog",
                "sat-direct-evloop-2",
                "sat-direct-evloop-2-alog",
            ]
        );
        let cfg = Config::parsed(&[]);
        let cells = section_cells(&cfg, Section::AccessLog);
        assert!(cells
            .iter()
            .all(|c| c.tags() == [Tag::Saturation, Tag::Direct, Tag::AccessLog]));
        let logged: Vec<bool> = cells.iter().map(|c| c.variant.keeps_access_log()).collect();
        assert_eq!(logged, [false, true, false, true, false, true, false, true]);
        let ceilings = section_cells(&cfg, Section::Ceilings);
        assert!(cells[0].same_measurement(&ceilings[0]));
        let group = section_cells(&cfg, Section::GroupCommit);
        assert!(cells[6].same_measurement(&group[6]));
        // The ceiling's hello cell pairs with its partner, unless `--only` leaves it out.
        let partner = access_log_partner(&cfg, &ceilings[0]).unwrap();
        assert_eq!(
            (partner.key(), partner.section),
            ("sat-direct-hello-evloop-2-alog".into(), Section::AccessLog)
        );
        assert!(access_log_partner(&cfg, &partner).is_none());
        assert!(
            access_log_partner(&Config::parsed(&["--only", "ceilings"]), &ceilings[0]).is_none()
        );
        assert!(access_log_partner(&cfg, &ceilings[2]).is_none());
        assert_eq!(Tag::parse("access-log"), Some(Tag::AccessLog));
    }
}
