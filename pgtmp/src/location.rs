//! The default cluster directory, chosen at run time from who runs the program and
//! their environment (never from where it was built).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The cluster directory when root: a system location the `postgres` user can reach.
const ROOT_DIR: &str = "/var/lib/prefork/pg";
/// Below `$XDG_DATA_HOME` (or `~/.local/share`).
const APP_DIR: &str = "prefork";
/// The cluster directory inside the application's directory.
const CLUSTER_DIR: &str = "pg";
/// In the working directory, when there is no home directory to use.
const FALLBACK_DIR: &str = "prefork-data";

/// The cluster directory to use when none is given: as root `/var/lib/prefork/pg`;
/// otherwise `$XDG_DATA_HOME/prefork/pg`, else `$HOME/.local/share/prefork/pg`, else
/// `./prefork-data/pg` (relative to the working directory).
pub fn default_dir() -> PathBuf {
    choose(
        nix::unistd::geteuid().is_root(),
        std::env::var_os("XDG_DATA_HOME"),
        std::env::var_os("HOME"),
    )
}

/// [`default_dir`] for the given identity and environment.
fn choose(root: bool, xdg_data_home: Option<OsString>, home: Option<OsString>) -> PathBuf {
    if root {
        return PathBuf::from(ROOT_DIR);
    }
    // The XDG spec ignores relative values; so does this.
    let absolute = |value: Option<OsString>| value.map(PathBuf::from).filter(|p| p.is_absolute());
    let data_home = absolute(xdg_data_home)
        .or_else(|| absolute(home).map(|home| home.join(".local").join("share")));
    match data_home {
        Some(dir) => dir.join(APP_DIR).join(CLUSTER_DIR),
        None => Path::new(FALLBACK_DIR).join(CLUSTER_DIR),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(s: &str) -> Option<OsString> {
        Some(OsString::from(s))
    }

    /// XDG_DATA_HOME wins over HOME; relative or empty values are ignored.
    #[test]
    fn per_user_location() {
        assert_eq!(
            choose(false, os("/x/data"), os("/home/u")),
            Path::new("/x/data/prefork/pg")
        );
        assert_eq!(
            choose(false, None, os("/home/u")),
            Path::new("/home/u/.local/share/prefork/pg")
        );
        assert_eq!(
            choose(false, os("rel"), os("/home/u")),
            Path::new("/home/u/.local/share/prefork/pg")
        );
        assert_eq!(choose(false, os(""), os("")), Path::new("prefork-data/pg"));
        assert_eq!(choose(false, None, None), Path::new("prefork-data/pg"));
    }

    /// Root gets the system location whatever its environment says.
    #[test]
    fn root_location() {
        assert_eq!(
            choose(true, os("/x/data"), os("/root")),
            Path::new("/var/lib/prefork/pg")
        );
    }
}
