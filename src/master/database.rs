//! Which database the workers use, checked once before the first fork. After that
//! the master never connects: an outage is the workers' business (503 and reconnect).

use pgtmp::Cluster;

use crate::config::Config;
use crate::tasks::db::{mask_password, Db, DbError, DbTarget};

use super::error::MasterError;

/// `--database-url` if given, else the private cluster in `--data-dir` (see
/// [`Config::data_dir`]), started (or reused) now and kept by the master until it exits.
pub(super) fn resolve(config: &Config) -> Result<(DbTarget, Option<Cluster>), MasterError> {
    let target = |url| DbTarget {
        url,
        deadline: config.db_timeout,
    };
    if let Some(url) = &config.database_url {
        return Ok((target(url.clone()), None));
    }
    let cluster =
        Cluster::ensure(&config.data_dir).map_err(|e| MasterError::Database(Box::new(e)))?;
    Ok((target(cluster.url()), Some(cluster)))
}

/// The start-up check: connects once and prepares the statements, so that a wrong URL,
/// a server that is not running, refused credentials, or a missing database or table
/// stop the server before it says it is listening, with the fix in the message.
pub(super) fn check(target: &DbTarget) -> Result<(), MasterError> {
    let refused = |error: DbError| MasterError::DatabaseCheck {
        url: mask_password(&target.url),
        hint: hint(&error),
        error,
    };
    Db::open(target).map(drop).map_err(refused)
}

/// The start-up error for a database the workers could not use.
pub(super) fn refused(target: &DbTarget, error: DbError) -> MasterError {
    MasterError::DatabaseCheck {
        url: mask_password(&target.url),
        hint: hint(&error),
        error,
    }
}

/// `--init-db`: applies `schema.sql` to the configured database (the private cluster
/// gets it when it is prepared) and says so.
pub(super) fn init(config: &Config) -> Result<(), MasterError> {
    let (target, _cluster) = resolve(config)?;
    let url = mask_password(&target.url);
    Db::apply_schema(&target).map_err(|error| MasterError::DatabaseCheck {
        url: url.clone(),
        hint: hint(&error),
        error,
    })?;
    crate::say!("prefork: schema.sql applied to {url}");
    Ok(())
}

/// What to do about a failed start-up check.
fn hint(err: &DbError) -> &'static str {
    match err {
        DbError::Unavailable(_) => {
            "is PostgreSQL running and is this its address? (omit --database-url to use a private cluster)"
        }
        DbError::Refused(_) => {
            "check --database-url: its syntax, user, password and database name (create a missing database with `createdb NAME`, then run prefork --init-db)"
        }
        DbError::SchemaMissing(_) => {
            "apply the schema: prefork --init-db --database-url URL (or psql URL -f schema.sql)"
        }
        DbError::Query(_) => "the database answered with an error; see above",
    }
}
