//! The access log (`--access-log FILE|-`): one line per response, in the Common Log
//! Format plus the request time in microseconds and the worker's number (the format is
//! in [`line`]).
//!
//! CONTRACT: the master opens the file once at start (a path it cannot open stops it
//! before anything is bound: exit 2) and every worker inherits that descriptor across
//! fork. A worker never makes a system call per request: lines go into its own buffer
//! ([`AccessLog::record`]), which is written with one `write(2)` when it reaches
//! [`FLUSH_AT`] bytes, when a line has waited [`FLUSH_EVERY`] (both worker modes ask
//! [`AccessLog::flush_if_due`] on every turn of their poll and wake for
//! [`AccessLog::next_flush`]) and when the worker exits. Lines are whole: the file is
//! opened with `O_APPEND`, so the workers' writes never interleave mid-line.
//!
//! `SIGUSR1` reopens the file by its path (for logrotate): the master first
//! ([`LogFile::reopen`], which creates the new file and, when it runs as root and the
//! workers do not, hands the file to the workers' user as nginx does), then every
//! worker ([`AccessLog::reopen`], after writing what it holds to the old file).

mod line;

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nix::unistd::Uid;

use crate::peer::Peer;

pub use line::{body_bytes, first_line as request_line, Entry};

/// A worker writes its buffered lines once they reach this many bytes.
pub const FLUSH_AT: usize = 64 * 1024;
/// …or once the oldest of them has waited this long.
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// Where the access log goes (`--access-log`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// `-`: the standard output.
    Stdout,
    /// A file, appended to (created with mode 0644 if missing); the path is absolute.
    File(PathBuf),
}

impl Target {
    /// `-` is the standard output, anything else a file (made absolute against the
    /// current directory, so a reopen finds it whatever the directory is then).
    pub fn parse(value: &str) -> io::Result<Target> {
        if value == "-" {
            return Ok(Target::Stdout);
        }
        Ok(Target::File(std::path::absolute(value)?))
    }

    /// Opens it for appending (the standard output: a duplicate of descriptor 1).
    pub fn open(&self) -> io::Result<File> {
        match self {
            Target::Stdout => Ok(File::from(io::stdout().as_fd().try_clone_to_owned()?)),
            Target::File(path) => OpenOptions::new()
                .append(true)
                .create(true)
                .mode(0o644)
                .open(path),
        }
    }

    /// Its path, if it is a file.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Target::Stdout => None,
            Target::File(path) => Some(path),
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Stdout => f.write_str("-"),
            Target::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// The access log cannot be opened (at start: the master stops, exit 2).
#[derive(Debug, thiserror::Error)]
#[error("cannot open the access log {target}: check that its directory exists and that prefork may write there (or use --access-log - for the standard output)")]
pub struct OpenError {
    /// The `--access-log`.
    pub target: Target,
    /// What the OS said.
    #[source]
    pub source: io::Error,
}

/// The master's side: the open file workers inherit.
#[derive(Debug)]
pub struct LogFile {
    target: Target,
    file: File,
}

impl LogFile {
    /// Opens `target` (at start: an error stops the master).
    pub fn open(target: Target) -> Result<LogFile, OpenError> {
        match target.open() {
            Ok(file) => Ok(LogFile { target, file }),
            Err(source) => Err(OpenError { target, source }),
        }
    }

    /// Where it writes.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// `SIGUSR1`: opens the path again (creating the file logrotate moved away), so
    /// that workers forked from now on inherit the new file. `workers`: the uid the
    /// workers run as; when it is not this process's, the file is handed to it so
    /// that they can open it too (nginx does the same). The standard output is kept.
    pub fn reopen(&mut self, workers: Option<Uid>) -> io::Result<()> {
        if self.target == Target::Stdout {
            return Ok(());
        }
        let file = self.target.open()?;
        if let Some(uid) = workers.filter(|uid| *uid != Uid::effective()) {
            if file.metadata()?.uid() != uid.as_raw() {
                std::os::unix::fs::fchown(&file, Some(uid.as_raw()), None)?;
            }
        }
        self.file = file;
        Ok(())
    }

    /// A worker's handle on this file (its own descriptor), numbered `worker`.
    pub fn for_worker(&self, worker: usize) -> io::Result<AccessLog> {
        Ok(AccessLog::new(
            self.target.clone(),
            self.file.try_clone()?,
            worker,
        ))
    }
}

/// A worker's access log: a cheap handle (every connection holds one) on the
/// worker's one buffer; [`AccessLog::off`] logs nothing.
#[derive(Clone, Debug, Default)]
pub struct AccessLog {
    sink: Option<Arc<Sink>>,
}

/// The buffer and the file behind a worker's handles.
#[derive(Debug)]
struct Sink {
    target: Target,
    worker: usize,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    file: File,
    buf: Vec<u8>,
    /// When the buffer was last written out (the start of the current wait).
    flushed_at: Instant,
    /// The second `time` was formatted for.
    second: Option<u64>,
    /// The CLF timestamp of that second.
    time: [u8; 26],
    /// A write failed and it was said; cleared by the next write that works.
    failing: bool,
    /// The last peer seen, whose host field `host` holds (clients mostly come from few
    /// addresses: the field is formatted again only when the peer changes).
    host_of: Option<Peer>,
    host: Vec<u8>,
}

impl AccessLog {
    /// No access log.
    pub fn off() -> AccessLog {
        AccessLog::default()
    }

    /// A log writing to `file` (opened on `target`), for worker number `worker`.
    pub fn new(target: Target, file: File, worker: usize) -> AccessLog {
        let state = State {
            file,
            buf: Vec::with_capacity(FLUSH_AT + 4096),
            flushed_at: Instant::now(),
            second: None,
            time: [b' '; 26],
            failing: false,
            host_of: None,
            host: Vec::new(),
        };
        AccessLog {
            sink: Some(Arc::new(Sink {
                target,
                worker,
                state: Mutex::new(state),
            })),
        }
    }

    /// Whether lines are written at all (callers skip gathering an entry otherwise).
    pub fn is_on(&self) -> bool {
        self.sink.is_some()
    }

    /// Buffers the line for `entry`; writes the buffer once it is [`FLUSH_AT`] long.
    pub fn record(&self, entry: &Entry<'_>) {
        let Some(sink) = &self.sink else { return };
        let mut state = sink.lock();
        let secs = unix_seconds();
        if state.second != Some(secs) {
            state.time = line::clf_time(secs);
            state.second = Some(secs);
        }
        if state.host_of != Some(entry.peer) {
            line::write_host(&mut state.host, entry.peer);
            state.host_of = Some(entry.peer);
        }
        let State {
            buf, time, host, ..
        } = &mut *state;
        line::format(buf, entry, host, time.trim_ascii_end(), sink.worker);
        if state.buf.len() >= FLUSH_AT {
            state.write_out(&sink.target);
        }
    }

    /// When buffered lines are due to be written, if there are any.
    pub fn next_flush(&self) -> Option<Instant> {
        let sink = self.sink.as_ref()?;
        let state = sink.lock();
        (!state.buf.is_empty()).then(|| state.flushed_at + FLUSH_EVERY)
    }

    /// Writes the buffer if its lines have waited [`FLUSH_EVERY`].
    pub fn flush_if_due(&self, now: Instant) {
        let Some(sink) = &self.sink else { return };
        let mut state = sink.lock();
        if !state.buf.is_empty() && now >= state.flushed_at + FLUSH_EVERY {
            state.write_out(&sink.target);
        }
    }

    /// Writes the buffer now (the worker exits).
    pub fn flush(&self) {
        let Some(sink) = &self.sink else { return };
        sink.lock().write_out(&sink.target);
    }

    /// `SIGUSR1`: writes what is buffered to the current file, then opens the path
    /// again; on failure the current file is kept (and the error returned).
    pub fn reopen(&self) -> io::Result<()> {
        let Some(sink) = &self.sink else {
            return Ok(());
        };
        let mut state = sink.lock();
        state.write_out(&sink.target);
        if sink.target == Target::Stdout {
            return Ok(());
        }
        state.file = sink.target.open()?;
        Ok(())
    }

    /// What it writes to, if anything (for messages).
    pub fn target(&self) -> Option<&Target> {
        self.sink.as_ref().map(|sink| &sink.target)
    }
}

/// The wall clock's seconds since the Unix epoch, read from the kernel's coarse clock
/// (a few nanoseconds, no counter read: a second's resolution is all a line needs).
fn unix_seconds() -> u64 {
    match nix::time::clock_gettime(nix::time::ClockId::CLOCK_REALTIME_COARSE) {
        Ok(now) => u64::try_from(now.tv_sec()).unwrap_or(0),
        Err(_) => SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    }
}

impl Sink {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A thread that panicked while holding the lock left whole lines behind at worst.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl State {
    /// One `write_all` of the buffer (one `write(2)` unless the kernel takes less). On
    /// failure the lines are dropped — a full disk must not grow the worker's memory —
    /// and that is said once until writing works again.
    fn write_out(&mut self, target: &Target) {
        self.flushed_at = Instant::now();
        if self.buf.is_empty() {
            return;
        }
        match self.file.write_all(&self.buf) {
            Ok(()) => self.failing = false,
            Err(e) if !self.failing => {
                self.failing = true;
                crate::say!(
                    "prefork: worker pid {}: cannot write the access log {target}: {e}; \
                     its lines are dropped until writing works again",
                    std::process::id()
                );
            }
            Err(_) => {}
        }
        self.buf.clear();
    }
}

#[cfg(test)]
pub(crate) mod tests;
