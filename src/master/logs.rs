//! The master's side of `--access-log` after start: `SIGUSR1` (reopen, then tell every
//! worker to).

use nix::sys::signal::Signal;

use super::Master;

impl Master {
    /// `USR1`: reopens the access log by its path (logrotate moved the old file away),
    /// handing a new file to the workers' user, then has every worker reopen it after
    /// writing what it buffered to the old one. A path that cannot be opened now keeps
    /// everyone on the old file.
    pub(super) fn reopen_logs(&mut self) {
        let Some(log) = &mut self.access_log else {
            crate::say!("prefork: master got SIGUSR1: there is no --access-log to reopen");
            return;
        };
        let workers = self.config.run_as.as_ref().map(|run_as| run_as.uid);
        match log.reopen(workers) {
            Ok(()) => {
                crate::say!(
                    "prefork: reopening the access log {} (SIGUSR1)",
                    log.target()
                );
                self.signal_workers(Signal::SIGUSR1);
            }
            Err(e) => crate::say!(
                "prefork: cannot reopen the access log {}: {e}; still writing to the old file",
                log.target()
            ),
        }
    }
}
