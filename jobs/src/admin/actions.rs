//! What an operator does to one job: retry it, cancel it, or requeue a finished one. Each is one
//! transaction that locks the row, checks the state, changes it and writes an audit row with the
//! operator and the states before and after. A row a worker holds is not waited for: the
//! operator hears "busy" and tries again.

use std::fmt;
use std::str::FromStr;

use recete_platform::db::{self, Tx};
use recete_platform::ids::MerchantId;
use recete_shared::audit::{self, AuditEntry};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use super::state::{JobState, JobTable};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobAction {
    /// A dead or retrying job runs again now, with a fresh attempt count.
    Retry,
    /// A job that has not run to the end never will.
    Cancel,
    /// A finished job (done, cancelled, dead) runs again now, with a fresh attempt count.
    Requeue,
}

impl JobAction {
    pub const ALL: &'static [JobAction] = &[JobAction::Retry, JobAction::Cancel, JobAction::Requeue];

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Retry => "retry",
            Self::Cancel => "cancel",
            Self::Requeue => "requeue",
        }
    }

    /// The states this action changes; any other is refused.
    pub fn applies_to(&self) -> &'static [JobState] {
        match self {
            Self::Retry => &[JobState::Dead, JobState::Retrying],
            Self::Cancel => &[JobState::Pending, JobState::Scheduled, JobState::Retrying, JobState::Dead],
            Self::Requeue => &[JobState::Done, JobState::Cancelled, JobState::Dead],
        }
    }

    /// The state a job is in afterwards.
    pub fn leads_to(&self) -> JobState {
        match self {
            Self::Retry | Self::Requeue => JobState::Pending,
            Self::Cancel => JobState::Cancelled,
        }
    }

    /// `audit_log.action` of a job it changed.
    pub fn audit_action(&self) -> &'static str {
        match self {
            Self::Retry => "job.retried",
            Self::Cancel => "job.cancelled",
            Self::Requeue => "job.requeued",
        }
    }

    /// The `SET` list that carries the action out on `table`; `$reason` is a bind parameter
    /// for the cancel reason, written as `{reason}` here.
    pub(crate) fn assignments(&self, table: JobTable, reason: &str) -> String {
        let run_now = match table {
            JobTable::ExternalEvents => "state = 'pending', attempts = 0, next_attempt_at = now(), enqueued_at = NULL",
            JobTable::ScheduledTasks => {
                "state = 'pending', attempts = 0, due_at = now(), enqueued_at = NULL, finished_at = NULL"
            }
        };
        match (self, table) {
            (Self::Retry, _) => run_now.to_owned(),
            (Self::Requeue, JobTable::ExternalEvents) => {
                format!("{run_now}, processed_at = NULL, cancel_reason = NULL")
            }
            (Self::Requeue, JobTable::ScheduledTasks) => format!("{run_now}, cancel_reason = NULL"),
            (Self::Cancel, JobTable::ExternalEvents) => {
                format!("state = 'cancelled', cancel_reason = {reason}, enqueued_at = NULL")
            }
            (Self::Cancel, JobTable::ScheduledTasks) => {
                format!("state = 'cancelled', cancel_reason = {reason}, finished_at = now(), enqueued_at = NULL")
            }
        }
    }
}

impl fmt::Display for JobAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no job action is named `{0}` (retry, cancel, requeue)")]
pub struct UnknownAction(pub String);

impl FromStr for JobAction {
    type Err = UnknownAction;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL.iter().copied().find(|action| action.as_str() == name).ok_or_else(|| UnknownAction(name.to_owned()))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActionOutcome {
    pub id: Uuid,
    pub table: JobTable,
    pub action: JobAction,
    pub before: JobState,
    pub after: JobState,
}

#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error("no job has the id {0}")]
    NotFound(Uuid),
    #[error("cannot {action} a job that is {state}: {action} applies to {allowed} jobs")]
    NotApplicable { action: JobAction, state: JobState, allowed: String },
    #[error("job {0} is busy: a worker is running it right now; try again in a moment")]
    Busy(Uuid),
    #[error("the acting operator must be named")]
    NoActor,
    #[error("the job could not be changed: {0}")]
    Database(#[from] sqlx::Error),
}

/// `operator:<name>` for `name` or an actor already spelled that way.
pub(crate) fn operator_actor(actor: &str) -> Result<String, ActionError> {
    let name = actor.trim();
    let name = name.strip_prefix("operator:").unwrap_or(name);
    if name.is_empty() {
        return Err(ActionError::NoActor);
    }
    Ok(format!("operator:{name}"))
}

pub(crate) fn cancel_reason(actor: &str) -> String {
    format!("cancelled by {actor}")
}

/// True for PostgreSQL's "could not obtain lock" (`NOWAIT`) and lock timeouts.
pub(crate) fn is_lock_unavailable(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.code().as_deref() == Some("55P03"))
}

struct LockedJob {
    table: JobTable,
    merchant_id: MerchantId,
    state: JobState,
    attempts: i32,
}

/// Carries out `action` on the job `id` for `actor` (an operator's name, or `operator:<name>`).
pub async fn apply(pool: &PgPool, id: Uuid, action: JobAction, actor: &str) -> Result<ActionOutcome, ActionError> {
    let actor = operator_actor(actor)?;
    let mut tx = db::system_tx(pool).await?;
    match apply_in(&mut tx, id, action, &actor).await {
        Ok(outcome) => {
            tx.commit().await?;
            Ok(outcome)
        }
        Err(error) => {
            // Released now, not whenever the pool gets to it: the operator's next click must not
            // find the row still locked by this refusal.
            if let Err(rollback_error) = tx.rollback().await {
                tracing::warn!(job = %id, %rollback_error, "a refused job action could not be rolled back");
            }
            Err(error)
        }
    }
}

async fn apply_in(tx: &mut Tx, id: Uuid, action: JobAction, actor: &str) -> Result<ActionOutcome, ActionError> {
    let job = match lock(tx, id).await {
        Ok(Some(job)) => job,
        Ok(None) => return Err(ActionError::NotFound(id)),
        Err(error) if is_lock_unavailable(&error) => return Err(ActionError::Busy(id)),
        Err(error) => return Err(error.into()),
    };
    if !action.applies_to().contains(&job.state) {
        let allowed = action.applies_to().iter().map(JobState::as_str).collect::<Vec<_>>().join(", ");
        return Err(ActionError::NotApplicable { action, state: job.state, allowed });
    }
    let (after_state, after_attempts): (String, i32) = sqlx::query_as(&format!(
        "UPDATE {table} SET {set} WHERE id = $1 RETURNING {state}, attempts",
        table = job.table.as_str(),
        set = action.assignments(job.table, "$2"),
        state = job.table.state_expression(),
    ))
    .bind(id)
    .bind(cancel_reason(actor))
    .fetch_one(&mut **tx)
    .await?;
    let after: JobState = after_state
        .parse()
        .map_err(|_| sqlx::Error::Protocol(format!("job {id} is in the unknown state `{after_state}`")))?;
    audit::record(
        tx,
        AuditEntry {
            merchant_id: Some(job.merchant_id),
            actor,
            action: action.audit_action(),
            subject_type: job.table.subject_type(),
            subject_id: id.to_string(),
            event_id: None,
            before: Some(json!({ "state": job.state, "attempts": job.attempts })),
            after: Some(json!({ "state": after, "attempts": after_attempts })),
        },
    )
    .await?;
    Ok(ActionOutcome { id, table: job.table, action, before: job.state, after })
}

/// Locks the job's row without waiting for a worker that holds it.
async fn lock(tx: &mut Tx, id: Uuid) -> Result<Option<LockedJob>, sqlx::Error> {
    for table in JobTable::ALL {
        let row: Option<(MerchantId, String, i32)> = sqlx::query_as(&format!(
            "SELECT merchant_id, {state}, attempts FROM {table} WHERE id = $1 FOR UPDATE NOWAIT",
            state = table.state_expression(),
            table = table.as_str(),
        ))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
        if let Some((merchant_id, state, attempts)) = row {
            let state = state
                .parse()
                .map_err(|_| sqlx::Error::Protocol(format!("job {id} is in the unknown state `{state}`")))?;
            return Ok(Some(LockedJob { table: *table, merchant_id, state, attempts }));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actors_are_operators_and_must_be_named() {
        assert_eq!(operator_actor("ada").ok().as_deref(), Some("operator:ada"));
        assert_eq!(operator_actor("operator:ada").ok().as_deref(), Some("operator:ada"));
        assert!(matches!(operator_actor(" operator: "), Err(ActionError::NoActor)));
    }

    #[test]
    fn a_refusal_names_the_state_and_what_the_action_applies_to() {
        let error = ActionError::NotApplicable {
            action: JobAction::Retry,
            state: JobState::Done,
            allowed: "dead, retrying".into(),
        };
        assert_eq!(error.to_string(), "cannot retry a job that is done: retry applies to dead, retrying jobs");
        assert_eq!("requeue".parse::<JobAction>(), Ok(JobAction::Requeue));
        assert!("delete".parse::<JobAction>().is_err());
    }
}
