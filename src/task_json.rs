//! A stored task ([`crate::db::Task`]) in a JSON response: its fields handed to
//! [`crate::http::json::TaskJson`], so that `http` needs nothing from `db`.

use crate::db::Task;
use crate::http::json::TaskJson;

impl<'a> From<&'a Task> for TaskJson<'a> {
    fn from(task: &'a Task) -> TaskJson<'a> {
        TaskJson {
            id: task.id,
            title: &task.title,
            description: &task.description,
            created_at: &task.created_at,
        }
    }
}
