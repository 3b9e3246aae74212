//! Jobs as operators see them on the queue board: rows of
//! `external_events` and `scheduled_tasks`, found, shown and acted on through PostgreSQL (never
//! through Redis, which only carries "work on row N"). The board's pages call these functions
//! and hold no SQL of their own.
//!
//! - [`filter`]: which jobs, to and from a bookmarkable query string; [`state`]: one vocabulary
//!   of states over both tables.
//! - [`search`]: keyset pages of both tables merged newest first; [`count`]: exact when small.
//! - [`detail`]: one job with every attempt; [`payload`]: its payload, redacted unless revealed.
//! - [`actions`]: retry, cancel and requeue one job; [`bulk`]: the same over a whole filter, in
//!   resumable batches.
//! - [`schedules`]: the fleet's periodic jobs and how late they run.
//!
//! Every read and write here is fleet-wide (`db::system_tx`): operators see every merchant.

pub mod actions;
pub mod bulk;
pub mod count;
pub mod cursor;
pub mod detail;
pub mod filter;
pub mod payload;
mod redact;
pub mod schedules;
pub mod search;
mod sql;
pub mod state;

pub use actions::{ActionError, ActionOutcome, JobAction, apply};
pub use count::Count;
pub use detail::{AttemptView, JobDetail, detail};
pub use filter::{FilterError, JobFilter};
pub use payload::{PayloadError, PayloadView, payload};
pub use schedules::{ScheduleView, schedules};
pub use search::{JobPage, JobSummary, SearchError, search};
pub use state::{JobState, JobTable};
