//! What the workers serve, prepared before the first fork: the built-in service
//! `--app` names, with what it needs from the master (the task service's database,
//! resolved and checked now; the private cluster, kept until the master exits).

use crate::config::{AppKind, Config, DbMode};
use crate::hello::Hello;
use crate::tasks::{EventedTaskService, TaskService};
use crate::worker::App;
use pgtmp::Cluster;

use super::database;
use super::error::MasterError;
use crate::tasks::db::mask_password;

/// A service ready to fork, and the private cluster the master keeps for it.
pub(super) struct Prepared {
    /// The service, type-erased.
    pub app: App,
    /// The private cluster, if one was started or reused for the service.
    pub cluster: Option<Cluster>,
}

impl Prepared {
    /// A service that needs nothing from the master.
    pub(super) fn without_cluster(app: App) -> Prepared {
        Prepared { app, cluster: None }
    }
}

/// The built-in service of `config.app`.
pub(super) fn prepare(config: &Config) -> Result<Prepared, MasterError> {
    match config.app {
        AppKind::Hello => Ok(Prepared::without_cluster(App::new(Hello))),
        AppKind::Tasks => {
            let (target, cluster) = database::resolve(config)?;
            crate::say!("prefork: using database {}", mask_password(&target.url));
            database::check(&target)?;
            let app = match config.db {
                DbMode::Sync => App::new(TaskService::new(target)),
                DbMode::Evented => App::new(
                    EventedTaskService::new(target.clone(), config.db_conns, config.batch)
                        .map_err(|error| database::refused(&target, error))?,
                ),
            };
            Ok(Prepared { app, cluster })
        }
    }
}
