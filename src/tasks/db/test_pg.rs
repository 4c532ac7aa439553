//! Where the crate's unit tests put their private clusters.

use std::path::{Path, PathBuf};

/// `target/pg` of this checkout: the tests' own tree (the server itself never derives a
/// directory from where it was built). Clusters there share one template.
pub(crate) fn base_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("pg")
}
