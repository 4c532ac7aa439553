//! The connection pool and the one statement the peer runs.

use std::time::Duration;

use chrono::{DateTime, Utc};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use serde::Serialize;
use tokio_postgres::NoTls;

use crate::config::Config;

/// The row the `INSERT` returns, as the `201` body shows it.
#[derive(Serialize)]
pub struct Task {
    pub id: i64,
    pub title: String,
    pub description: String,
    pub created_at: DateTime<Utc>,
}

const INSERT: &str = "INSERT INTO task (title, description) VALUES ($1, $2) \
                      RETURNING id, title, description, created_at";

/// A pool of at most `POOL_SIZE` connections, opened on first use.
pub fn pool(config: &Config) -> Result<Pool, deadpool_postgres::BuildError> {
    let mut pg = config.database.clone();
    // A database that does not answer is a 503 within seconds, not a hung request.
    pg.connect_timeout(Duration::from_secs(5));
    let manager = Manager::from_config(
        pg,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager).max_size(config.pool_size).build()
}

/// Inserts one task with a statement prepared once per connection.
pub async fn insert(
    client: &deadpool_postgres::Client,
    title: &str,
    description: &str,
) -> Result<Task, tokio_postgres::Error> {
    let statement = client.prepare_cached(INSERT).await?;
    let row = client
        .query_one(&statement, &[&title, &description])
        .await?;
    Ok(Task {
        id: row.try_get(0)?,
        title: row.try_get(1)?,
        description: row.try_get(2)?,
        created_at: row.try_get(3)?,
    })
}
