//! Reference peer for bin/bench, written the way the axum community writes such an
//! endpoint: `POST /api/tasks/` with a form-urlencoded or JSON `title` and
//! `description`, one `INSERT … RETURNING` per request through a deadpool-postgres
//! pool, `201` with the row as JSON and a `Location` header.
//!
//! Environment: `PORT` (3000), `HOST` (127.0.0.1), `DATABASE_URL` (a libpq
//! `host=… dbname=…` string or a `postgres://` URL; unset: the `PG*` variables),
//! `POOL_SIZE` (16 connections), and tokio's own `TOKIO_WORKER_THREADS` (default: one
//! runtime worker per CPU).

mod config;
mod db;
mod error;
mod form_or_json;
mod tasks;

use std::net::SocketAddr;

use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;

use crate::config::Config;

#[tokio::main]
async fn main() {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("axum peer: {e}");
            std::process::exit(2);
        }
    };
    let pool = match db::pool(&config) {
        Ok(pool) => pool,
        Err(e) => {
            eprintln!("axum peer: cannot build the connection pool: {e}");
            std::process::exit(2);
        }
    };
    let app = Router::new()
        .route("/api/tasks", post(tasks::create))
        .route("/api/tasks/", post(tasks::create))
        .route("/health", get(health))
        .fallback(not_found)
        .with_state(pool);

    let addr = SocketAddr::new(config.host, config.port);
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("axum peer: cannot listen on {addr}: {e}");
            std::process::exit(1);
        }
    };
    let bound = listener.local_addr().unwrap_or(addr);
    println!(
        "axum peer pid {} listening on http://{bound} (pool {}, {} runtime workers)",
        std::process::id(),
        config.pool_size,
        tokio::runtime::Handle::current().metrics().num_workers(),
    );
    if let Err(e) = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown())
        .await
    {
        eprintln!("axum peer: server error: {e}");
        std::process::exit(1);
    }
}

#[derive(Serialize)]
struct Status {
    status: &'static str,
}

/// `GET /health`: no database work.
async fn health() -> Json<Status> {
    Json(Status { status: "ok" })
}

async fn not_found() -> error::ApiError {
    error::ApiError::NotFound
}

/// Resolves on SIGTERM or Ctrl-C.
async fn shutdown() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("install the SIGTERM handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
