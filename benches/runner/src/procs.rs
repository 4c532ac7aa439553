//! Process trees from `/proc`: who descends from a server's pid, their summed resident
//! memory (sampled every ~100 ms for the peak) and their CPU time over a run.
//!
//! A tree is walked by parent pid, not by process group: PM2's fork mode starts the app
//! in its own session (peers/README.md), yet it is the server's work and memory.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::model::Usage;

/// Clock ticks per second of `/proc/<pid>/stat` times. USER_HZ is part of Linux's
/// userspace ABI and 100 on every architecture we run on (sysconf(_SC_CLK_TCK)).
const USER_HZ: f64 = 100.0;
/// How often the sampler looks at the trees' memory.
const SAMPLE_EVERY: Duration = Duration::from_millis(100);

/// One line of `/proc/<pid>/stat`, the fields we use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stat {
    /// Process id.
    pub pid: u32,
    /// Parent process id.
    pub ppid: u32,
    /// State letter (`R`, `S`, `Z`…).
    pub state: char,
    /// utime + stime + cutime + cstime: its own CPU time and that of its reaped children,
    /// so work of a child that exited during a run still counts (in its parent).
    pub ticks: u64,
}

/// Parses `/proc/<pid>/stat` text; the command name may hold spaces and parentheses.
pub fn parse_stat(text: &str) -> Option<Stat> {
    let pid = text.split_whitespace().next()?.parse().ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state(3) ppid(4) … utime(14) stime(15) cutime(16) cstime(17).
    let field = |n: usize| -> Option<u64> { fields.get(n - 3)?.parse().ok() };
    Some(Stat {
        pid,
        ppid: field(4)? as u32,
        state: fields.first()?.chars().next()?,
        ticks: field(14)? + field(15)? + field(16)? + field(17)?,
    })
}

/// Every process now (those that vanish while being read are skipped).
pub fn all() -> Vec<Stat> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(stat)
        .collect()
}

/// The stat of one process, if it exists.
pub fn stat(pid: u32) -> Option<Stat> {
    parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// `root` and all its living descendants (zombies excluded), root first.
pub fn tree(root: u32) -> Vec<Stat> {
    tree_of(&all(), root)
}

fn tree_of(procs: &[Stat], root: u32) -> Vec<Stat> {
    let mut children: HashMap<u32, Vec<&Stat>> = HashMap::new();
    let mut by_pid = HashMap::new();
    for p in procs {
        children.entry(p.ppid).or_default().push(p);
        by_pid.insert(p.pid, p);
    }
    let mut out = Vec::new();
    let mut queue: Vec<&Stat> = by_pid.get(&root).copied().into_iter().collect();
    while let Some(p) = queue.pop() {
        if p.state != 'Z' {
            out.push(*p);
        }
        queue.extend(children.get(&p.pid).into_iter().flatten());
    }
    out
}

/// A `kB` field of `/proc/<pid>/{file}` (`VmRSS` of `status`, `Pss` of `smaps_rollup`).
fn kib_field(pid: u32, file: &str, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/{file}")).ok()?;
    let line = text.lines().find(|l| l.starts_with(key))?;
    line[key.len()..].split_whitespace().next()?.parse().ok()
}

/// Summed resident set size of the processes (KiB). Shared pages count once per process,
/// as `ps` shows them: an upper bound for forked workers.
#[cfg(test)]
pub fn rss_kib(procs: &[Stat]) -> u64 {
    rss_each(procs).iter().map(|&(_, kib)| kib).sum()
}

/// Each process's resident set size (KiB), those that vanished left out.
fn rss_each(procs: &[Stat]) -> Vec<(u32, u64)> {
    procs
        .iter()
        .filter_map(|p| Some((p.pid, kib_field(p.pid, "status", "VmRSS:")?)))
        .collect()
}

/// Summed proportional set size (KiB): shared pages split between their sharers.
pub fn pss_kib(procs: &[Stat]) -> u64 {
    procs
        .iter()
        .filter_map(|p| kib_field(p.pid, "smaps_rollup", "Pss:"))
        .sum()
}

fn cpu_ticks(procs: &[Stat]) -> u64 {
    procs.iter().map(|p| p.ticks).sum()
}

/// Samples named process trees on a thread until [`Sampler::finish`].
pub struct Sampler {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<BTreeMap<String, Usage>>,
}

impl Sampler {
    /// Starts sampling the trees rooted at `roots` (name, pid); CPU time counts from now.
    pub fn start(roots: Vec<(String, u32)>) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let procs = all();
        let start: Vec<u64> = roots
            .iter()
            .map(|(_, pid)| cpu_ticks(&tree_of(&procs, *pid)))
            .collect();
        let handle = std::thread::spawn(move || sample(&roots, &start, &flag));
        Sampler { stop, handle }
    }

    /// Stops sampling; returns each tree's usage since [`Sampler::start`].
    pub fn finish(self) -> BTreeMap<String, Usage> {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().unwrap_or_default()
    }
}

/// Peaks seen so far of one tree.
#[derive(Default)]
struct Peaks {
    /// Of the summed RSS.
    tree: u64,
    /// Of any one process below the root.
    worker: u64,
}

impl Peaks {
    fn observe(&mut self, procs: &[Stat], root: u32) {
        let each = rss_each(&tree_of(procs, root));
        self.tree = self.tree.max(each.iter().map(|&(_, kib)| kib).sum());
        let workers = each.iter().filter(|&&(pid, _)| pid != root);
        self.worker = self
            .worker
            .max(workers.map(|&(_, kib)| kib).max().unwrap_or(0));
    }
}

fn sample(roots: &[(String, u32)], start: &[u64], stop: &AtomicBool) -> BTreeMap<String, Usage> {
    let mut peaks: Vec<Peaks> = roots.iter().map(|_| Peaks::default()).collect();
    loop {
        let done = stop.load(Ordering::Relaxed);
        let procs = all();
        for (peak, (_, pid)) in peaks.iter_mut().zip(roots) {
            peak.observe(&procs, *pid);
        }
        if done {
            return roots
                .iter()
                .zip(peaks.iter().zip(start))
                .map(|((name, pid), (peak, &ticks0))| {
                    let tree = tree_of(&procs, *pid);
                    let usage = Usage {
                        peak_rss_kib: peak.tree,
                        worker_peak_rss_kib: peak.worker,
                        pss_end_kib: pss_kib(&tree),
                        cpu_s: cpu_ticks(&tree).saturating_sub(ticks0) as f64 / USER_HZ,
                        processes: tree.len(),
                    };
                    (name.clone(), usage)
                })
                .collect();
        }
        std::thread::sleep(SAMPLE_EVERY);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stat line whose command name holds spaces and a parenthesis still parses.
    #[test]
    fn stat_with_odd_name() {
        let line = "4242 (node (pm2) x) S 4200 4242 4242 0 -1 4194560 1 0 0 0 \
                    150 25 7 3 20 0 11 0 100 1000 200 18446744073709551615";
        let s = parse_stat(line).unwrap();
        assert_eq!((s.pid, s.ppid, s.state, s.ticks), (4242, 4200, 'S', 185));
    }

    /// A tree holds the root and its descendants but neither strangers nor zombies.
    #[test]
    fn tree_by_parent() {
        let p = |pid, ppid, state| Stat {
            pid,
            ppid,
            state,
            ticks: 1,
        };
        let procs = [
            p(1, 0, 'S'),
            p(10, 1, 'S'),
            p(11, 10, 'S'),
            p(12, 11, 'R'),
            p(13, 10, 'Z'),
            p(20, 1, 'S'),
        ];
        let mut pids: Vec<u32> = tree_of(&procs, 10).iter().map(|s| s.pid).collect();
        pids.sort();
        assert_eq!(pids, [10, 11, 12]);
        assert!(tree_of(&procs, 99).is_empty());
    }

    /// This test process's own tree has memory and a readable stat.
    #[test]
    fn own_process() {
        let me = std::process::id();
        let tree = tree(me);
        assert_eq!(tree.first().map(|s| s.pid), Some(me));
        assert!(rss_kib(&tree) > 0);
        let sampler = Sampler::start(vec![("me".into(), me)]);
        let usage = sampler.finish();
        assert!(usage["me"].peak_rss_kib > 0);
    }

    /// A worker's peak is that of one process below the root, never the root's own.
    #[test]
    fn worker_peak() {
        let me = std::process::id();
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let procs = all();
        let mut peaks = Peaks::default();
        peaks.observe(&procs, me);
        let _ = child.kill();
        let _ = child.wait();
        let mine = rss_kib(&[stat(me).unwrap()]);
        assert!(
            peaks.worker > 0 && peaks.worker < mine,
            "{} vs {mine}",
            peaks.worker
        );
        assert!(peaks.tree >= peaks.worker);
    }
}
