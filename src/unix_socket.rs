//! Unix-socket listeners (`--bind unix:PATH`): binding with the mode and owner the
//! operator asked for, a stale socket file left by a dead server, and removing the file
//! at exit.
//!
//! The mode and owner are set between `bind` and `listen`: until `listen` nobody can
//! connect (`ECONNREFUSED`), so there is no moment where the socket is open to clients
//! under the umask's mode.

use std::fs;
use std::io::{self, ErrorKind};
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

use nix::unistd::{Gid, Group, Uid, User};
use socket2::{Domain, SockAddr, Socket, Type};

/// The default `--socket-mode`: owner and group may connect (nginx's account is put in
/// the group with `--socket-owner :GROUP`), nobody else.
pub const DEFAULT_MODE: u32 = 0o660;

/// `--socket-owner USER[:GROUP]`, resolved: who owns the socket file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Owner {
    /// The file's user, or unchanged.
    pub uid: Option<Uid>,
    /// The file's group, or unchanged.
    pub gid: Option<Gid>,
}

impl Owner {
    /// Parses `USER`, `USER:GROUP` or `:GROUP` (names or numeric ids); the error says
    /// which part is unknown.
    pub fn parse(value: &str) -> Result<Owner, String> {
        let (user, group) = match value.split_once(':') {
            Some((user, group)) => (user, Some(group)),
            None => (value, None),
        };
        let uid = match user {
            "" => None,
            name => Some(lookup_user(name)?),
        };
        let gid = match group {
            None | Some("") => None,
            Some(name) => Some(lookup_group(name)?),
        };
        if uid.is_none() && gid.is_none() {
            return Err("give USER, USER:GROUP or :GROUP".to_string());
        }
        Ok(Owner { uid, gid })
    }
}

fn lookup_user(name: &str) -> Result<Uid, String> {
    if let Ok(id) = name.parse::<u32>() {
        return Ok(Uid::from_raw(id));
    }
    match User::from_name(name) {
        Ok(Some(user)) => Ok(user.uid),
        Ok(None) => Err(format!("no such user {name:?}")),
        Err(e) => Err(format!("cannot look up user {name:?}: {e}")),
    }
}

fn lookup_group(name: &str) -> Result<Gid, String> {
    if let Ok(id) = name.parse::<u32>() {
        return Ok(Gid::from_raw(id));
    }
    match Group::from_name(name) {
        Ok(Some(group)) => Ok(group.gid),
        Ok(None) => Err(format!("no such group {name:?}")),
        Err(e) => Err(format!("cannot look up group {name:?}: {e}")),
    }
}

/// Parses `--socket-mode`: octal permission bits such as `660` or `0660`.
pub fn parse_mode(value: &str) -> Result<u32, String> {
    match u32::from_str_radix(value.trim_start_matches("0o"), 8) {
        Ok(mode) if mode <= 0o777 => Ok(mode),
        _ => Err(format!(
            "{value:?} is not a permission mode: give octal bits such as 660 or 0666"
        )),
    }
}

/// Binds a non-blocking, close-on-exec Unix stream listener at `path`, gives the file
/// `mode` and `owner`, then listens. A stale socket file (nobody accepts on it any more)
/// is replaced and said so; a live one, or anything at `path` that is not a socket, is
/// refused with an error saying what to do.
pub fn bind(
    path: &Path,
    backlog: i32,
    mode: u32,
    owner: Option<Owner>,
) -> io::Result<UnixListener> {
    clear_stale(path)?;
    let socket = Socket::new(Domain::UNIX, Type::STREAM, None)?;
    socket.set_nonblocking(true)?;
    socket.bind(&SockAddr::unix(path)?).map_err(|e| {
        let hint = match e.kind() {
            ErrorKind::NotFound => ": its directory does not exist",
            ErrorKind::PermissionDenied => ": no write permission on its directory",
            _ => "",
        };
        io::Error::new(
            e.kind(),
            format!("cannot bind {}: {e}{hint}", path.display()),
        )
    })?;
    let placed = || -> io::Result<()> {
        fs::set_permissions(path, fs::Permissions::from_mode(mode))?;
        if let Some(owner) = owner {
            std::os::unix::fs::chown(path, owner.uid.map(Uid::as_raw), owner.gid.map(Gid::as_raw))
                .map_err(|e| {
                    io::Error::new(
                        e.kind(),
                        format!("cannot give {} its owner: {e}", path.display()),
                    )
                })?;
        }
        socket.listen(backlog)
    };
    if let Err(e) = placed() {
        // Ours and never listened on: nobody else can be using it.
        let _ = fs::remove_file(path);
        return Err(e);
    }
    Ok(socket.into())
}

/// Makes room at `path`: nothing there, or a socket file nobody listens on (removed).
fn clear_stale(path: &Path) -> io::Result<()> {
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    if !meta.file_type().is_socket() {
        return Err(io::Error::new(
            ErrorKind::AlreadyExists,
            format!(
                "{} exists and is not a socket: prefork replaces only a stale socket file; \
                 remove it or choose another path",
                path.display()
            ),
        ));
    }
    match UnixStream::connect(path) {
        Ok(_) => Err(io::Error::new(
            ErrorKind::AddrInUse,
            format!(
                "{} is already served (another prefork instance, or another program, \
                 accepts on it): stop it or choose another path",
                path.display()
            ),
        )),
        Err(e) if e.kind() == ErrorKind::ConnectionRefused => {
            fs::remove_file(path)?;
            crate::say!(
                "prefork: removed the stale socket file {} (nobody accepted on it)",
                path.display()
            );
            Ok(())
        }
        Err(e) => Err(io::Error::new(
            e.kind(),
            format!("cannot tell whether {} is in use: {e}", path.display()),
        )),
    }
}

/// A socket file this process created (or took over), removed when dropped if the path
/// still names that same socket; [`SocketFile::keep`] leaves it for whoever serves on
/// it next (a binary upgrade's new master).
#[derive(Debug)]
pub struct SocketFile {
    path: PathBuf,
    /// Device and inode of the socket file when it was recorded.
    id: (u64, u64),
    keep: bool,
}

impl SocketFile {
    /// Records the socket file at `path` as this process's to remove.
    pub fn of(path: &Path) -> io::Result<SocketFile> {
        let meta = fs::symlink_metadata(path)?;
        Ok(SocketFile {
            path: path.to_path_buf(),
            id: (meta.dev(), meta.ino()),
            keep: false,
        })
    }

    /// Leaves the file in place when dropped.
    pub fn keep(&mut self) {
        self.keep = true;
    }
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        if self.keep {
            return;
        }
        let same =
            fs::symlink_metadata(&self.path).is_ok_and(|meta| (meta.dev(), meta.ino()) == self.id);
        if same {
            let _ = fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("prefork-unix-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir.join("s.sock")
    }

    /// The mode is the one asked for, whatever the umask; a client connects.
    #[test]
    fn binds_with_mode() {
        let path = scratch("mode");
        let listener = bind(&path, 16, 0o600, None).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let _client = UnixStream::connect(&path).unwrap();
        drop(listener);
        fs::remove_file(&path).unwrap();
    }

    /// A socket file nobody listens on is replaced; a live one and a regular file are
    /// refused, and the regular file is left alone.
    #[test]
    fn stale_replaced_live_and_regular_refused() {
        let path = scratch("stale");
        drop(bind(&path, 16, 0o600, None).unwrap()); // closed: the file stays, stale
        assert!(path.exists());
        let live = bind(&path, 16, 0o600, None).unwrap();
        let err = bind(&path, 16, 0o600, None).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AddrInUse, "{err}");
        drop(live);
        fs::remove_file(&path).unwrap();
        fs::write(&path, b"data").unwrap();
        let err = bind(&path, 16, 0o600, None).unwrap_err();
        assert!(err.to_string().contains("is not a socket"), "{err}");
        assert_eq!(fs::read(&path).unwrap(), b"data");
    }

    /// Dropping the record removes the file, unless kept or replaced by another socket.
    #[test]
    fn socket_file_removed_only_if_still_ours() {
        let path = scratch("file");
        let first = bind(&path, 16, 0o600, None).unwrap();
        drop(SocketFile::of(&path).unwrap());
        assert!(!path.exists());
        drop(first);
        let _second = bind(&path, 16, 0o600, None).unwrap();
        let mut kept = SocketFile::of(&path).unwrap();
        kept.keep();
        drop(kept);
        assert!(path.exists());
        let old = SocketFile::of(&path).unwrap();
        fs::remove_file(&path).unwrap();
        let _third = bind(&path, 16, 0o600, None).unwrap();
        drop(old); // another socket now: not ours to remove
        assert!(path.exists());
        fs::remove_file(&path).unwrap();
    }

    #[test]
    fn modes_and_owners_parse() {
        assert_eq!(parse_mode("660").unwrap(), 0o660);
        assert_eq!(parse_mode("0666").unwrap(), 0o666);
        assert!(parse_mode("999").is_err());
        assert!(parse_mode("1777").is_err());
        assert_eq!(
            Owner::parse("root:0").unwrap(),
            Owner {
                uid: Some(Uid::from_raw(0)),
                gid: Some(Gid::from_raw(0))
            }
        );
        assert_eq!(Owner::parse(":0").unwrap().uid, None);
        assert!(Owner::parse("no-such-user-here").is_err());
        assert!(Owner::parse(":").is_err());
    }
}
