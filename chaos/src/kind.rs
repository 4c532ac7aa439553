//! The kinds of fault the tool can inject (plain names, used by the command line, the
//! schedule and the injector).

use clap::ValueEnum;

/// One kind of fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FaultKind {
    /// SIGKILL a random worker (the master should respawn it).
    Kill,
    /// SIGHUP the master (rolling reload of every worker).
    Hup,
    /// SIGTTIN the master (one worker more).
    Ttin,
    /// SIGTTOU the master (one worker less, never below one).
    Ttou,
    /// Restart PostgreSQL (fast shutdown: every connection dropped).
    PgRestart,
    /// SIGSTOP PostgreSQL's postmaster and backends for 1–2 s, then SIGCONT.
    PgStall,
}

impl FaultKind {
    /// Every kind, in the order `--help` lists them.
    pub const ALL: [FaultKind; 6] = [
        FaultKind::Kill,
        FaultKind::Hup,
        FaultKind::Ttin,
        FaultKind::Ttou,
        FaultKind::PgRestart,
        FaultKind::PgStall,
    ];

    /// The name on the command line and in the report.
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Kill => "kill",
            FaultKind::Hup => "hup",
            FaultKind::Ttin => "ttin",
            FaultKind::Ttou => "ttou",
            FaultKind::PgRestart => "pg-restart",
            FaultKind::PgStall => "pg-stall",
        }
    }
}
