//! The check: every acknowledged write looked up by its id in the database, after the
//! load and after prefork has stopped (nothing writes any more).

use std::collections::{HashMap, HashSet};

use postgres::{Client, NoTls};
use serde::Serialize;

use crate::clients::Ack;

/// How many lost writes the report lists one by one.
const EXAMPLES: usize = 10;

/// One acknowledged write that is not in the database as acknowledged.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Lost {
    /// The id the 201 named, if it could be read.
    pub id: Option<i64>,
    /// The title the client sent.
    pub title: String,
    /// What is wrong.
    pub reason: String,
}

/// What the database holds against what was acknowledged.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Verdict {
    /// Rows in the table.
    pub rows: u64,
    /// 201s found stored with their title.
    pub confirmed: u64,
    /// 201s not stored as acknowledged.
    pub lost: u64,
    /// The first few of them.
    pub lost_examples: Vec<Lost>,
    /// Rows no 201 names: a write that committed but whose answer never arrived (the
    /// worker died, the connection broke). Allowed: the client was not told it succeeded.
    pub stored_without_ack: u64,
}

/// Reads every row's id and title from the database at `url` and checks `acks`.
pub fn verify(url: &str, acks: &[Ack]) -> Result<Verdict, postgres::Error> {
    let mut client = Client::connect(url, NoTls)?;
    let rows: HashMap<i64, String> = client
        .query("SELECT id, title FROM task", &[])?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    Ok(check(&rows, acks))
}

/// Checks each ack against the rows (id → title).
fn check(rows: &HashMap<i64, String>, acks: &[Ack]) -> Verdict {
    let mut verdict = Verdict {
        rows: rows.len() as u64,
        ..Verdict::default()
    };
    let mut seen = HashSet::new();
    for ack in acks {
        match problem(rows, ack, &mut seen) {
            None => verdict.confirmed += 1,
            Some(reason) => {
                verdict.lost += 1;
                if verdict.lost_examples.len() < EXAMPLES {
                    let (id, title) = (ack.id, ack.title.clone());
                    verdict.lost_examples.push(Lost { id, title, reason });
                }
            }
        }
    }
    verdict.stored_without_ack = verdict.rows.saturating_sub(verdict.confirmed);
    verdict
}

/// Why `ack` is not a stored write, if it is not.
fn problem(rows: &HashMap<i64, String>, ack: &Ack, seen: &mut HashSet<i64>) -> Option<String> {
    let Some(id) = ack.id else {
        return Some("201 body without a readable id and title".into());
    };
    if ack.echoed.as_deref() != Some(ack.title.as_str()) {
        return Some(format!("201 body names title {:?}", ack.echoed));
    }
    if !seen.insert(id) {
        return Some("id acknowledged twice".into());
    }
    match rows.get(&id) {
        None => Some("no row with this id".into()),
        Some(title) if *title != ack.title => Some(format!("row holds title {title:?}")),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn ack(id: i64, title: &str, echoed: &str) -> Ack {
        Ack {
            title: title.into(),
            id: Some(id),
            echoed: Some(echoed.into()),
            at: Duration::ZERO,
        }
    }

    /// Stored, missing, wrong title, wrong echo, duplicate id and unacked rows.
    #[test]
    fn every_case() {
        let rows: HashMap<i64, String> = [(1, "a"), (2, "x"), (3, "c"), (9, "z")]
            .map(|(i, t)| (i, t.to_string()))
            .into();
        let acks = [
            ack(1, "a", "a"),
            ack(2, "b", "b"),
            ack(3, "c", "other"),
            ack(4, "d", "d"),
            ack(1, "a", "a"),
        ];
        let v = check(&rows, &acks);
        assert_eq!(
            (v.rows, v.confirmed, v.lost, v.stored_without_ack),
            (4, 1, 4, 3)
        );
        let reasons: Vec<&str> = v.lost_examples.iter().map(|l| l.reason.as_str()).collect();
        assert!(reasons[0].starts_with("row holds title"), "{reasons:?}");
        assert!(reasons[1].starts_with("201 body names"), "{reasons:?}");
        assert_eq!(
            reasons[2..],
            ["no row with this id", "id acknowledged twice"]
        );
    }
}
