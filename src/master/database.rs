//! Which database the workers use, checked once before the first fork. After that
//! the master never connects: an outage is the workers' business (503 and reconnect).

use crate::config::Config;
use crate::db::{Db, DbError, DbTarget};
use crate::pgtmp::{self, Cluster};

use super::MasterError;

/// `--database-url` if given, else the private cluster in [`pgtmp::default_dir`],
/// started (or reused) now and kept by the master until it exits.
pub(super) fn resolve(config: &Config) -> Result<(DbTarget, Option<Cluster>), MasterError> {
    let target = |url| DbTarget {
        url,
        deadline: config.db_timeout,
    };
    if let Some(url) = &config.database_url {
        return Ok((target(url.clone()), None));
    }
    let cluster =
        Cluster::ensure(pgtmp::default_dir()).map_err(|e| MasterError::Database(Box::new(e)))?;
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

/// What to do about a failed start-up check.
fn hint(err: &DbError) -> &'static str {
    match err {
        DbError::Unavailable(_) => {
            "is PostgreSQL running and is this its address? (omit --database-url to use a private cluster)"
        }
        DbError::Refused(_) => {
            "check the user, password and database name in --database-url; create a missing database with `createdb NAME`, then apply schema.sql"
        }
        DbError::SchemaMissing(_) => "apply the schema: psql \"$DATABASE_URL\" -f schema.sql",
        DbError::Query(_) => "the database answered with an error; see above",
    }
}

/// The connection string with its password, if any, replaced by `***` (for logs).
/// Handles URLs (`postgres://user:secret@host/db`) and key=value strings
/// (`host=/tmp password=secret`).
pub fn mask_password(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => format!("{scheme}://{}", mask_userinfo(rest)),
        None => url
            .split(' ')
            .map(|word| match word.split_once('=') {
                Some((key, _)) if key.trim() == "password" => format!("{key}=***"),
                _ => word.to_string(),
            })
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// Masks the password in `user:secret@host/path`; the authority ends at the first `/`
/// or `?`, and a literal `@` in a password must be percent-encoded, so the last `@`
/// before it ends the user info.
fn mask_userinfo(rest: &str) -> String {
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return rest.to_string();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{user}:***@{host}{tail}"),
        None => rest.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A URL keeps everything but its password.
    #[test]
    fn url_password_is_masked() {
        assert_eq!(
            mask_password("postgres://app:s3cr%40t@db:5432/prefork?sslmode=disable"),
            "postgres://app:***@db:5432/prefork?sslmode=disable"
        );
    }

    /// URLs without a password, and socket paths, are left alone.
    #[test]
    fn url_without_password_unchanged() {
        for url in [
            "postgres://app@db/prefork",
            "postgresql:///prefork?host=/tmp/pg",
        ] {
            assert_eq!(mask_password(url), url);
        }
    }

    /// A key=value string has its password value masked.
    #[test]
    fn keyword_password_is_masked() {
        assert_eq!(
            mask_password("host=/tmp dbname=prefork password=hunter2 user=app"),
            "host=/tmp dbname=prefork password=*** user=app"
        );
        assert_eq!(
            mask_password("host=/tmp dbname=prefork"),
            "host=/tmp dbname=prefork"
        );
    }
}
