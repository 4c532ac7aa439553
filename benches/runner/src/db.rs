//! The bench's own connection to the private cluster: empty the table before a run,
//! count the rows after it.

use postgres::{Client, NoTls};

/// A failed database step.
#[derive(Debug, thiserror::Error)]
#[error("PostgreSQL ({what}): {source}")]
pub struct DbError {
    what: &'static str,
    source: postgres::Error,
}

/// One client connection, kept for the whole bench (idle between steps, so it holds no
/// lock the servers could wait on).
pub struct Db {
    client: Client,
}

impl Db {
    /// Connects with a libpq connection string.
    pub fn connect(url: &str) -> Result<Db, DbError> {
        let client = Client::connect(url, NoTls).map_err(|source| DbError {
            what: "connect",
            source,
        })?;
        Ok(Db { client })
    }

    /// `TRUNCATE task RESTART IDENTITY`: every cell starts from an empty table and id 1.
    pub fn truncate(&mut self) -> Result<(), DbError> {
        self.client
            .batch_execute("TRUNCATE task RESTART IDENTITY")
            .map_err(|source| DbError {
                what: "truncate",
                source,
            })
    }

    /// `SELECT count(*) FROM task`.
    pub fn count(&mut self) -> Result<u64, DbError> {
        let row = self
            .client
            .query_one("SELECT count(*) FROM task", &[])
            .map_err(|source| DbError {
                what: "count",
                source,
            })?;
        Ok(row.get::<_, i64>(0) as u64)
    }
}
