//! The summary of a run: what was sent, acknowledged and lost, the errors by kind,
//! each fault with its recovery time, the master's fate, and the verdict; printed as
//! markdown tables or as one JSON object.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use crate::cli::{Format, Settings};
use crate::clients::ClientLog;
use crate::faults::{FaultRecord, Outcome};
use crate::verify::Verdict;

/// How the run was set up.
#[derive(Debug, Serialize)]
pub struct Setup {
    /// Planned length of the load.
    pub seconds: f64,
    /// Client threads.
    pub clients: usize,
    /// prefork's `--mode`.
    pub mode: &'static str,
    /// The seed (repeat a run with `--seed`).
    pub seed: u64,
    /// How the faults were chosen.
    pub plan: String,
    /// Extra prefork flags.
    pub prefork_args: Vec<String>,
}

/// One fault and how long the service took to write again after it.
#[derive(Debug, Serialize)]
pub struct FaultRow {
    /// Its name (`kill`, `pg-restart`, …).
    pub kind: &'static str,
    /// When it began, seconds from the start of the load.
    pub at_s: f64,
    /// How long injecting it took (a restart or stall lasts; a signal does not), ms.
    pub took_ms: f64,
    /// From its end to the first 201 that arrived after it, ms; `None` if none did.
    pub recovery_ms: Option<f64>,
    /// Whether it was carried out.
    pub done: bool,
    /// Whom it hit, or why it was not done.
    pub detail: String,
}

/// The master at the end of the load.
#[derive(Debug, Serialize)]
pub struct Master {
    /// Its pid.
    pub pid: u32,
    /// Still running when the load ended.
    pub alive: bool,
    /// When it was seen dead, seconds from the start of the load.
    pub died_at_s: Option<f64>,
    /// Its exit status, if it died.
    pub exit: Option<String>,
    /// prefork's log file.
    pub log: String,
    /// The end of the log, if it died.
    pub log_tail: Option<String>,
}

/// Everything a run found.
#[derive(Debug, Serialize)]
pub struct Summary {
    /// No acknowledged write lost and the master alive.
    pub passed: bool,
    /// How the run was set up.
    pub setup: Setup,
    /// How long the load really lasted, s.
    pub load_seconds: f64,
    /// Requests sent (failed connects included).
    pub requests: u64,
    /// 201s received.
    pub acknowledged: u64,
    /// The database check.
    pub verdict: Verdict,
    /// Failed requests by kind.
    pub errors: BTreeMap<String, u64>,
    /// Every fault injected.
    pub faults: Vec<FaultRow>,
    /// Planned faults the run ended before.
    pub faults_not_run: usize,
    /// The master's fate.
    pub master: Master,
    /// Ctrl-C ended the run early.
    pub interrupted: bool,
}

impl Summary {
    /// Puts a run's parts together and decides the verdict.
    pub fn new(
        settings: &Settings,
        load: &ClientLog,
        outcome: &Outcome,
        verdict: Verdict,
        master: Master,
    ) -> Summary {
        Summary {
            passed: verdict.lost == 0 && master.alive,
            setup: Setup::of(settings),
            load_seconds: load.elapsed.as_secs_f64(),
            requests: load.requests,
            acknowledged: load.acks.len() as u64,
            verdict,
            errors: load.errors.iter().map(|(k, n)| (k.label(), *n)).collect(),
            faults: fault_rows(load, outcome),
            faults_not_run: outcome.not_run,
            master,
            interrupted: outcome.interrupted,
        }
    }

    /// The report in `format`.
    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Json => serde_json::to_string_pretty(self).expect("plain data serializes"),
            Format::Text => self.text(),
        }
    }

    fn text(&self) -> String {
        let verdict = if self.passed { "PASS" } else { "FAIL" };
        let mut out = format!("## prefork-chaos: {verdict}\n\n{}\n\n", self.setup_line());
        self.writes_table(&mut out);
        self.errors_table(&mut out);
        self.faults_table(&mut out);
        self.lost_table(&mut out);
        let _ = writeln!(out, "{}", self.master_line());
        out.push_str(&self.verdict_line());
        out
    }

    fn setup_line(&self) -> String {
        let s = &self.setup;
        let command: Vec<&str> = ["prefork", "--mode", s.mode]
            .into_iter()
            .chain(s.prefork_args.iter().map(String::as_str))
            .collect();
        let interrupted = if self.interrupted {
            " — interrupted"
        } else {
            ""
        };
        format!(
            "{:.1} s of load ({:.1} s planned), {} keep-alive clients, `{}`, {}, seed {}{interrupted}",
            self.load_seconds,
            s.seconds,
            s.clients,
            command.join(" "),
            s.plan,
            s.seed,
        )
    }

    fn writes_table(&self, out: &mut String) {
        let v = &self.verdict;
        let rows = [
            ("requests sent", self.requests),
            ("acknowledged (201)", self.acknowledged),
            ("confirmed in the database", v.confirmed),
            ("**lost** (201, not stored as acknowledged)", v.lost),
            (
                "stored without a 201 (answer lost, allowed)",
                v.stored_without_ack,
            ),
            ("rows in the table", v.rows),
        ];
        let _ = writeln!(out, "| writes | count |\n|---|---:|");
        for (name, n) in rows {
            let _ = writeln!(out, "| {name} | {n} |");
        }
        out.push('\n');
    }

    fn errors_table(&self, out: &mut String) {
        let _ = writeln!(out, "| failed requests | count |\n|---|---:|");
        if self.errors.is_empty() {
            let _ = writeln!(out, "| none | 0 |");
        }
        for (kind, n) in &self.errors {
            let _ = writeln!(out, "| {kind} | {n} |");
        }
        out.push('\n');
    }

    fn faults_table(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "| at s | fault | took ms | recovery ms | detail |\n|---:|---|---:|---:|---|"
        );
        for f in &self.faults {
            let recovery = f
                .recovery_ms
                .map_or("no 201 after".into(), |r| format!("{r:.1}"));
            let _ = writeln!(
                out,
                "| {:.2} | {} | {:.1} | {recovery} | {} |",
                f.at_s, f.kind, f.took_ms, f.detail
            );
        }
        if self.faults.is_empty() {
            let _ = writeln!(out, "| — | none | | | |");
        }
        if self.faults_not_run > 0 {
            let _ = writeln!(
                out,
                "\n{} planned faults not run: the run ended first.",
                self.faults_not_run
            );
        }
        out.push('\n');
    }

    fn lost_table(&self, out: &mut String) {
        if self.verdict.lost_examples.is_empty() {
            return;
        }
        let _ = writeln!(out, "| lost: id | title | reason |\n|---:|---|---|");
        for l in &self.verdict.lost_examples {
            let id = l.id.map_or("?".into(), |id| id.to_string());
            let _ = writeln!(out, "| {id} | {} | {} |", l.title, l.reason);
        }
        out.push('\n');
    }

    fn master_line(&self) -> String {
        let m = &self.master;
        if m.alive {
            return format!("master: alive at the end (pid {}); log: {}", m.pid, m.log);
        }
        let at = m
            .died_at_s
            .map_or(String::new(), |t| format!(" at {t:.2} s"));
        let exit = m.exit.as_deref().unwrap_or("unknown status");
        let tail = m.log_tail.as_deref().unwrap_or("");
        format!(
            "master: DEAD{at} ({exit}); last lines of {}:\n{tail}\n",
            m.log
        )
    }

    fn verdict_line(&self) -> String {
        if self.passed {
            return "PASS: every acknowledged write is stored as acknowledged, and the master is alive."
                .into();
        }
        let mut why = Vec::new();
        if self.verdict.lost > 0 {
            why.push(format!("acknowledged writes lost: {}", self.verdict.lost));
        }
        if !self.master.alive {
            why.push("the master died".into());
        }
        format!("FAIL: {}.", why.join("; "))
    }
}

impl Setup {
    fn of(settings: &Settings) -> Setup {
        Setup {
            seconds: settings.seconds.as_secs_f64(),
            clients: settings.clients,
            mode: settings.mode.name(),
            seed: settings.seed,
            plan: settings.plan_label.clone(),
            prefork_args: settings.prefork_args.clone(),
        }
    }
}

/// Each fault with the time to the first 201 after its end.
fn fault_rows(load: &ClientLog, outcome: &Outcome) -> Vec<FaultRow> {
    let times: Vec<Duration> = load.acks.iter().map(|a| a.at).collect();
    let row = |f: &FaultRecord| FaultRow {
        kind: f.kind.name(),
        at_s: f.start.as_secs_f64(),
        took_ms: ms(f.end - f.start),
        recovery_ms: recovery(f.end, &times).map(ms),
        done: f.done,
        detail: f.detail.clone(),
    };
    outcome.faults.iter().map(row).collect()
}

/// From `end` to the first time in `times` (sorted) at or after it.
pub fn recovery(end: Duration, times: &[Duration]) -> Option<Duration> {
    let first = times.partition_point(|t| *t < end);
    times.get(first).map(|t| *t - end)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Recovery is measured to the first 201 at or after the fault's end.
    #[test]
    fn recovery_to_next_ack() {
        let t = |ms| Duration::from_millis(ms);
        let times = [t(10), t(20), t(45)];
        assert_eq!(recovery(t(15), &times), Some(t(5)));
        assert_eq!(recovery(t(20), &times), Some(t(0)));
        assert_eq!(recovery(t(46), &times), None);
    }

    /// A lost write and a dead master both fail the run, and both are named.
    #[test]
    fn fail_names_every_reason() {
        let mut summary = Summary {
            passed: false,
            setup: Setup {
                seconds: 1.0,
                clients: 1,
                mode: "evloop",
                seed: 1,
                plan: "faults kill every 1.00 s".into(),
                prefork_args: vec!["--workers".into(), "3".into()],
            },
            load_seconds: 1.0,
            requests: 2,
            acknowledged: 2,
            verdict: Verdict {
                rows: 1,
                confirmed: 1,
                lost: 1,
                ..Verdict::default()
            },
            errors: BTreeMap::new(),
            faults: Vec::new(),
            faults_not_run: 0,
            master: Master {
                pid: 7,
                alive: false,
                died_at_s: Some(0.5),
                exit: Some("exit status: 3".into()),
                log: "prefork.log".into(),
                log_tail: None,
            },
            interrupted: false,
        };
        let text = summary.render(Format::Text);
        assert!(text.starts_with("## prefork-chaos: FAIL"), "{text}");
        assert!(
            text.contains("`prefork --mode evloop --workers 3`"),
            "{text}"
        );
        assert!(
            text.contains("master: DEAD at 0.50 s (exit status: 3)"),
            "{text}"
        );
        assert!(
            text.ends_with("FAIL: acknowledged writes lost: 1; the master died."),
            "{text}"
        );
        summary.passed = true;
        let json: serde_json::Value = serde_json::from_str(&summary.render(Format::Json)).unwrap();
        assert_eq!(json["verdict"]["lost"], 1);
    }
}
