//! One vocabulary of job states over both job tables, and which table a job lives in.
//!
//! | state       | `external_events.state`                    | `scheduled_tasks.state`          |
//! |-------------|--------------------------------------------|----------------------------------|
//! | `pending`   | `pending`, due (`next_attempt_at <= now`)  | `pending`, due (`due_at <= now`) |
//! | `scheduled` | `pending`, not due yet                     | `pending`, not due yet           |
//! | `running`   | `processing`                               | `running`                        |
//! | `retrying`  | `failed` (waits for its next attempt)      | `failed`                         |
//! | `dead`      | `dead`                                     | `dead`                           |
//! | `done`      | `processed`                                | `done`                           |
//! | `cancelled` | `cancelled`                                | `cancelled`                      |
//! | `ignored`   | `ignored` (nothing to do for that event)   | (never)                          |
//!
//! "Due" is judged by the database clock, in SQL, so a page and its filter agree on it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Pending,
    Scheduled,
    Running,
    Retrying,
    Dead,
    Done,
    Cancelled,
    Ignored,
}

impl JobState {
    pub const ALL: &'static [JobState] = &[
        JobState::Pending,
        JobState::Scheduled,
        JobState::Running,
        JobState::Retrying,
        JobState::Dead,
        JobState::Done,
        JobState::Cancelled,
        JobState::Ignored,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Scheduled => "scheduled",
            Self::Running => "running",
            Self::Retrying => "retrying",
            Self::Dead => "dead",
            Self::Done => "done",
            Self::Cancelled => "cancelled",
            Self::Ignored => "ignored",
        }
    }

    /// Finished: nothing will happen to the job unless someone acts on it.
    pub fn is_finished(&self) -> bool {
        matches!(self, Self::Dead | Self::Done | Self::Cancelled | Self::Ignored)
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no job state is named `{0}` (pending, scheduled, running, retrying, dead, done, cancelled, ignored)")]
pub struct UnknownState(pub String);

impl FromStr for JobState {
    type Err = UnknownState;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL.iter().copied().find(|state| state.as_str() == name).ok_or_else(|| UnknownState(name.to_owned()))
    }
}

/// The table a job is a row of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobTable {
    ExternalEvents,
    ScheduledTasks,
}

impl JobTable {
    pub const ALL: &'static [JobTable] = &[JobTable::ExternalEvents, JobTable::ScheduledTasks];

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::ExternalEvents => "external_events",
            Self::ScheduledTasks => "scheduled_tasks",
        }
    }

    /// The `audit_log.subject_type` of its rows.
    pub fn subject_type(&self) -> &'static str {
        match self {
            Self::ExternalEvents => "external_event",
            Self::ScheduledTasks => "scheduled_task",
        }
    }

    /// The column that decides the queue: an event's `source`, a task's `kind`.
    pub(crate) fn feed_column(&self) -> &'static str {
        match self {
            Self::ExternalEvents => "source",
            Self::ScheduledTasks => "kind",
        }
    }

    /// When the row is due to run.
    pub(crate) fn due_column(&self) -> &'static str {
        match self {
            Self::ExternalEvents => "next_attempt_at",
            Self::ScheduledTasks => "due_at",
        }
    }

    /// The SQL expression that names a row's [`JobState`].
    pub(crate) fn state_expression(&self) -> &'static str {
        match self {
            Self::ExternalEvents => {
                "CASE state WHEN 'pending' THEN CASE WHEN next_attempt_at > now() THEN 'scheduled' ELSE 'pending' END \
                 WHEN 'processing' THEN 'running' WHEN 'failed' THEN 'retrying' WHEN 'processed' THEN 'done' \
                 ELSE state END"
            }
            Self::ScheduledTasks => {
                "CASE state WHEN 'pending' THEN CASE WHEN due_at > now() THEN 'scheduled' ELSE 'pending' END \
                 WHEN 'failed' THEN 'retrying' ELSE state END"
            }
        }
    }

    /// A predicate selecting the rows in `state`; written against the stored `state` column so
    /// the state indexes apply.
    pub(crate) fn state_predicate(&self, state: JobState) -> String {
        let due = self.due_column();
        match (self, state) {
            (_, JobState::Pending) => format!("(state = 'pending' AND {due} <= now())"),
            (_, JobState::Scheduled) => format!("(state = 'pending' AND {due} > now())"),
            (Self::ExternalEvents, JobState::Running) => "state = 'processing'".into(),
            (Self::ScheduledTasks, JobState::Running) => "state = 'running'".into(),
            (_, JobState::Retrying) => "state = 'failed'".into(),
            (_, JobState::Dead) => "state = 'dead'".into(),
            (Self::ExternalEvents, JobState::Done) => "state = 'processed'".into(),
            (Self::ScheduledTasks, JobState::Done) => "state = 'done'".into(),
            (_, JobState::Cancelled) => "state = 'cancelled'".into(),
            (Self::ExternalEvents, JobState::Ignored) => "state = 'ignored'".into(),
            (Self::ScheduledTasks, JobState::Ignored) => "false".into(),
        }
    }

    /// A predicate selecting rows in any of `states`.
    pub(crate) fn states_predicate(&self, states: &[JobState]) -> String {
        if states.is_empty() {
            return "false".into();
        }
        let parts: Vec<String> = states.iter().map(|state| self.state_predicate(*state)).collect();
        format!("({})", parts.join(" OR "))
    }
}

impl fmt::Display for JobTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_is_found_by_its_name_and_unknown_names_list_the_vocabulary() {
        for state in JobState::ALL {
            assert_eq!(state.as_str().parse::<JobState>(), Ok(*state));
        }
        let error = "failed".parse::<JobState>().expect_err("not a board state").to_string();
        assert!(error.contains("`failed`") && error.contains("retrying"), "{error}");
    }

    #[test]
    fn tasks_are_never_ignored_and_events_run_as_processing() {
        assert_eq!(JobTable::ScheduledTasks.state_predicate(JobState::Ignored), "false");
        assert_eq!(JobTable::ExternalEvents.state_predicate(JobState::Running), "state = 'processing'");
        assert_eq!(JobTable::ExternalEvents.states_predicate(&[]), "false");
    }
}
