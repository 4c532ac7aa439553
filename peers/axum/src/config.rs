//! The peer's settings, from the environment (as the other peers take theirs).

use std::net::IpAddr;
use std::str::FromStr;

/// What the environment asks for.
pub struct Config {
    /// `HOST`: the address to bind.
    pub host: IpAddr,
    /// `PORT`: the TCP port (0: any free one).
    pub port: u16,
    /// `DATABASE_URL`, or one built from the `PG*` variables.
    pub database: tokio_postgres::Config,
    /// `POOL_SIZE`: most PostgreSQL connections the pool opens.
    pub pool_size: usize,
}

/// Connections in the pool when `POOL_SIZE` is unset.
const DEFAULT_POOL_SIZE: usize = 16;

impl Config {
    /// Reads `HOST`, `PORT`, `DATABASE_URL` (or `PGHOST`, `PGPORT`, `PGUSER`,
    /// `PGPASSWORD`, `PGDATABASE`) and `POOL_SIZE`.
    pub fn from_env() -> Result<Config, String> {
        let host = parsed("HOST", "127.0.0.1")?;
        let port = parsed("PORT", "3000")?;
        let pool_size = parsed("POOL_SIZE", &DEFAULT_POOL_SIZE.to_string())?;
        if pool_size == 0 {
            return Err("POOL_SIZE must be at least 1".into());
        }
        Ok(Config {
            host,
            port,
            database: database()?,
            pool_size,
        })
    }
}

/// The variable `name` parsed, or `default` when it is unset or empty.
fn parsed<T: FromStr>(name: &str, default: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    let value = std::env::var(name).ok().filter(|v| !v.is_empty());
    let value = value.as_deref().unwrap_or(default);
    value
        .parse()
        .map_err(|e| format!("{name}={value:?} is not valid: {e}"))
}

/// `DATABASE_URL` when set; otherwise libpq's `PG*` variables, which tokio-postgres
/// does not read by itself.
fn database() -> Result<tokio_postgres::Config, String> {
    if let Some(url) = std::env::var("DATABASE_URL").ok().filter(|v| !v.is_empty()) {
        return url.parse().map_err(|e| {
            format!("DATABASE_URL is neither a libpq string nor a postgres:// URL: {e}")
        });
    }
    let mut config = tokio_postgres::Config::new();
    let var = |name| std::env::var(name).ok().filter(|v: &String| !v.is_empty());
    config.host(var("PGHOST").as_deref().unwrap_or("localhost"));
    config.port(parsed("PGPORT", "5432")?);
    config.user(var("PGUSER").as_deref().unwrap_or("postgres"));
    config.dbname(var("PGDATABASE").as_deref().unwrap_or("postgres"));
    if let Some(password) = var("PGPASSWORD") {
        config.password(password);
    }
    Ok(config)
}
