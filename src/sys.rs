//! The OS boundary: the only `unsafe` code in the crate, kept small so it can be audited.
//!
//! Three calls here are `unsafe` because their soundness depends on the caller: `fork`
//! (a child of a multi-threaded process may only call async-signal-safe functions),
//! `mmap` (the mapping must be turned into Rust values correctly) and the raw
//! `setsockopt` that attaches a reuseport BPF program (pointers handed to the kernel),
//! plus `_exit`, taking ownership of descriptors inherited at exec (socket
//! activation's listeners) and handing listeners to a program we start (the binary
//! upgrade). Everything else is a thin, safe wrapper kept here so that the raw
//! process-level operations the master relies on are found in one place.
// `unsafe` is denied crate-wide; this module is the documented exception.
#![allow(unsafe_code)]

use std::io;
use std::num::NonZeroUsize;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use nix::libc;

use nix::sched::CpuSet;
use nix::sys::mman::{mmap_anonymous, MapFlags, ProtFlags};
use nix::sys::signal::{sigprocmask, SigSet, SigmaskHow, Signal};
use nix::unistd::{ForkResult, Pid};

/// Takes ownership of descriptors `first..first + count`, which the process that
/// started us left open for us (socket activation passes listening sockets that way).
/// Sound because it runs at most once per process: only this function makes owners
/// for inherited descriptors, and a second call is refused. A descriptor that is not
/// open is an error (`EBADF`), not an owner.
pub fn take_inherited_descriptors(first: RawFd, count: usize) -> io::Result<Vec<OwnedFd>> {
    static TAKEN: AtomicBool = AtomicBool::new(false);
    if TAKEN.swap(true, Ordering::SeqCst) {
        return Err(io::Error::other("inherited descriptors were taken already"));
    }
    (first..first + count as RawFd)
        .map(|fd| {
            nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_GETFD)?;
            // SAFETY: `fd` is open (F_GETFD succeeded) and was inherited at exec; nothing
            // in this process owns it, since this function is its only taker and runs
            // once (`TAKEN`).
            Ok(unsafe { OwnedFd::from_raw_fd(fd) })
        })
        .collect()
}

/// Starts `command` with `listeners` as its descriptors `first`, `first + 1`, … (open
/// across the exec, as socket activation passes them); every other descriptor keeps
/// its close-on-exec flag. The parent's own descriptors are untouched.
pub fn spawn_with_listeners(
    command: &mut std::process::Command,
    first: RawFd,
    listeners: &[RawFd],
) -> io::Result<std::process::Child> {
    use std::os::unix::process::CommandExt;
    let above = first + listeners.len() as RawFd;
    // Close-on-exec copies above the target range, so moving one down never lands on
    // another that is still to be moved.
    let copies = listeners
        .iter()
        .map(|&fd| {
            let copy = nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_DUPFD_CLOEXEC(above))?;
            // SAFETY: `copy` is a descriptor fcntl just created; nothing else owns it.
            Ok(unsafe { OwnedFd::from_raw_fd(copy) })
        })
        .collect::<io::Result<Vec<OwnedFd>>>()?;
    let raw: Vec<RawFd> = copies.iter().map(AsRawFd::as_raw_fd).collect();
    // SAFETY: the closure runs in the forked child before exec; it only calls dup2
    // (async-signal-safe) on descriptors opened before the fork, and reads a Vec that
    // was allocated before it. dup2 onto the target clears its close-on-exec flag.
    unsafe {
        command.pre_exec(move || {
            for (i, &fd) in raw.iter().enumerate() {
                if libc::dup2(fd, first + i as RawFd) < 0 {
                    return Err(io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    let child = command.spawn();
    drop(copies);
    child
}

/// Forks the calling process.
///
/// Only the master calls this, and the master never starts a thread (by design), so the
/// child is an ordinary single-threaded copy that may allocate, lock and run anything.
pub fn fork() -> nix::Result<ForkResult> {
    // SAFETY: fork(2) is only unsound in a multi-threaded process (another thread may
    // hold a lock, e.g. the allocator's, that the child could never release). The
    // master is single-threaded by design; nothing in it spawns threads.
    unsafe { nix::unistd::fork() }
}

/// Maps `count` zeroed `AtomicU64`s in memory shared with every child forked later.
///
/// The mapping is never unmapped: the master maps it once before the first fork and
/// it lives as long as the process (the kernel unmaps it at exit), hence `'static`.
pub fn shared_atomics(count: usize) -> nix::Result<&'static [AtomicU64]> {
    let bytes = count.max(1) * std::mem::size_of::<AtomicU64>();
    let length = NonZeroUsize::new(bytes).expect("at least one cell");
    let prot = ProtFlags::PROT_READ | ProtFlags::PROT_WRITE;
    // SAFETY: an anonymous mapping with no address hint cannot alias any existing
    // Rust object; mmap(2) returns a fresh, page-aligned region or an error.
    let ptr = unsafe { mmap_anonymous(None, length, prot, MapFlags::MAP_SHARED)? };
    // SAFETY: the region is `bytes` long, page-aligned (so aligned for AtomicU64),
    // zero-filled by the kernel (zero is a valid AtomicU64), and never unmapped, so
    // the `'static` lifetime holds. Atomics are the only way this memory is accessed,
    // which makes concurrent access from several processes well-defined.
    Ok(unsafe { std::slice::from_raw_parts(ptr.as_ptr().cast::<AtomicU64>(), count.max(1)) })
}

/// Blocks every blockable signal; returns the previous mask for [`restore_signal_mask`].
///
/// The master blocks signals around `fork` so that no handler of its own runs in the
/// child before the child has replaced the master's signal handling with its own.
pub fn block_all_signals() -> nix::Result<SigSet> {
    let mut old = SigSet::empty();
    sigprocmask(
        SigmaskHow::SIG_SETMASK,
        Some(&SigSet::all()),
        Some(&mut old),
    )?;
    Ok(old)
}

/// Restores a signal mask saved by [`block_all_signals`].
pub fn restore_signal_mask(mask: &SigSet) -> nix::Result<()> {
    sigprocmask(SigmaskHow::SIG_SETMASK, Some(mask), None)
}

/// Unblocks every signal (what a worker does once its own handlers are in place).
pub fn unblock_all_signals() -> nix::Result<()> {
    sigprocmask(SigmaskHow::SIG_UNBLOCK, Some(&SigSet::all()), None)
}

/// Asks the kernel to send `signal` to this process when its parent dies
/// (`PR_SET_PDEATHSIG`); a worker must not outlive its master.
pub fn set_parent_death_signal(signal: Signal) -> nix::Result<()> {
    nix::sys::prctl::set_pdeathsig(signal)
}

/// Ends the process at once with `code`: no atexit handlers, no stdio flush, no
/// destructors. For a forked child that must not run anything inherited from the parent.
pub fn exit_immediately(code: i32) -> ! {
    // SAFETY: _exit(2) is async-signal-safe and takes no pointers; it never returns.
    unsafe { nix::libc::_exit(code) }
}

/// One classic-BPF instruction (`struct sock_filter`).
pub type BpfInstruction = libc::sock_filter;

/// Attaches a classic-BPF program to the `SO_REUSEPORT` group `listener` belongs to
/// (`SO_ATTACH_REUSEPORT_CBPF`): for each new connection it returns the index, in the
/// group, of the socket that gets it (an index out of range: the kernel's hash decides).
/// The program replaces any earlier one and stays with the group, whichever socket it
/// was attached through.
pub fn attach_reuseport_program(
    listener: &impl AsFd,
    program: &[BpfInstruction],
) -> io::Result<()> {
    let len = u16::try_from(program.len()).map_err(|_| io::ErrorKind::InvalidInput)?;
    let fprog = libc::sock_fprog {
        len,
        filter: program.as_ptr().cast_mut(),
    };
    let size = std::mem::size_of::<libc::sock_fprog>() as libc::socklen_t;
    // SAFETY: setsockopt(2) reads `size` bytes at `&fprog`, and the kernel copies the
    // `len` instructions `filter` points to before returning; both outlive the call and
    // the kernel does not write through `filter`. The fd is valid while borrowed.
    let rc = unsafe {
        libc::setsockopt(
            listener.as_fd().as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ATTACH_REUSEPORT_CBPF,
            (&fprog as *const libc::sock_fprog).cast(),
            size,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Binds the calling process to the `(slot mod N)`-th of the N CPUs it may currently
/// run on (`sched_getaffinity`, so a `taskset` around the master is honoured); returns
/// that CPU. Called in a freshly forked worker, before it starts any thread, so every
/// thread it creates inherits the binding.
pub fn pin_to_slot_cpu(slot: usize) -> nix::Result<usize> {
    let me = Pid::from_raw(0);
    let allowed = nix::sched::sched_getaffinity(me)?;
    let cpus: Vec<usize> = (0..CpuSet::count())
        .filter(|&cpu| allowed.is_set(cpu).unwrap_or(false))
        .collect();
    let Some(&cpu) = cpus.get(slot % cpus.len().max(1)) else {
        return Err(nix::Error::EINVAL);
    };
    let mut only = CpuSet::new();
    only.set(cpu)?;
    nix::sched::sched_setaffinity(me, &only)?;
    Ok(cpu)
}

/// The parent's pid: a worker compares it with the master's pid right after setting
/// the death signal, to close the race where the master died before that call.
pub fn getppid() -> Pid {
    nix::unistd::getppid()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering;

    /// A fresh shared mapping reads as zeros and can be written through atomics.
    #[test]
    fn shared_atomics_start_zeroed() {
        let cells = shared_atomics(16).unwrap();
        assert_eq!(cells.len(), 16);
        assert!(cells.iter().all(|c| c.load(Ordering::Relaxed) == 0));
        cells[3].store(7, Ordering::Relaxed);
        assert_eq!(cells[3].load(Ordering::Relaxed), 7);
    }

    /// Pinning a thread of the test binary leaves it allowed on exactly one CPU.
    #[test]
    fn pin_to_slot_cpu_allows_one_cpu() {
        // A thread of its own: sched_setaffinity(0) binds only the calling thread.
        std::thread::spawn(|| {
            let cpu = pin_to_slot_cpu(1).unwrap();
            let now = nix::sched::sched_getaffinity(Pid::from_raw(0)).unwrap();
            let set: Vec<usize> = (0..CpuSet::count())
                .filter(|&c| now.is_set(c).unwrap())
                .collect();
            assert_eq!(set, vec![cpu]);
        })
        .join()
        .unwrap();
    }

    /// Blocking then restoring the mask leaves the original mask in place.
    #[test]
    fn block_and_restore_signal_mask() {
        let old = block_all_signals().unwrap();
        let mut now = SigSet::empty();
        sigprocmask(SigmaskHow::SIG_BLOCK, None, Some(&mut now)).unwrap();
        assert!(now.contains(Signal::SIGTERM));
        restore_signal_mask(&old).unwrap();
        sigprocmask(SigmaskHow::SIG_BLOCK, None, Some(&mut now)).unwrap();
        assert_eq!(now.contains(Signal::SIGTERM), old.contains(Signal::SIGTERM));
    }
}
