//! What each scenario counted, and the table of every scenario printed at the end of the run.

use std::fmt::Display;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// Counts and checks one scenario records as it goes. Shared with the scenario's task, so what
/// was counted before a failure still reaches the table.
#[derive(Clone, Default)]
pub struct Tally {
    inner: Arc<Mutex<TallyInner>>,
}

#[derive(Default)]
struct TallyInner {
    counted: Vec<String>,
    failures: Vec<String>,
}

impl Tally {
    fn lock(&self) -> MutexGuard<'_, TallyInner> {
        // A scenario that panicked while holding the lock still left its counts behind.
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records a measurement that is not a check (a duration, a rate).
    pub fn note(&self, text: impl Into<String>) {
        self.lock().counted.push(text.into());
    }

    /// Records `what` = `actual`, failing the scenario unless it equals `expected`.
    pub fn equal(&self, what: &str, actual: i64, expected: i64) {
        if actual == expected {
            self.note(format!("{what} {actual}"));
        } else {
            self.note(format!("{what} {actual} (expected {expected})"));
            self.lock().failures.push(format!("{what}: {actual}, expected {expected}"));
        }
    }

    /// Records `observed`, failing the scenario unless `holds`.
    pub fn check(&self, holds: bool, observed: impl Display) {
        let observed = observed.to_string();
        if !holds {
            self.lock().failures.push(observed.clone());
        }
        self.note(observed);
    }

    fn take(&self) -> (Vec<String>, Vec<String>) {
        let mut inner = self.lock();
        (std::mem::take(&mut inner.counted), std::mem::take(&mut inner.failures))
    }
}

/// One line of the final table.
pub struct Row {
    pub fault: &'static str,
    pub expected: &'static str,
    pub counted: String,
    pub passed: bool,
    pub took: Duration,
}

impl Row {
    /// Closes a scenario: it passed when it ran to the end and every check held.
    pub fn close(
        fault: &'static str,
        expected: &'static str,
        tally: &Tally,
        ended: Result<(), String>,
        took: Duration,
    ) -> Self {
        let (mut counted, mut failures) = tally.take();
        if let Err(error) = ended {
            counted.push(format!("stopped early: {error}"));
            failures.push(error);
        }
        Self { fault, expected, counted: counted.join("; "), passed: failures.is_empty(), took }
    }
}

/// Prints the rows as a Markdown table on stderr, which no test harness captures.
pub fn print_table(rows: &[Row]) {
    let mut table = String::from("\n| fault | effect expected | effect counted | result | seconds |\n");
    table.push_str("| --- | --- | --- | --- | --- |\n");
    for row in rows {
        table.push_str(&format!(
            "| {} | {} | {} | {} | {:.1} |\n",
            row.fault,
            row.expected,
            row.counted.replace('|', "/"),
            if row.passed { "pass" } else { "FAIL" },
            row.took.as_secs_f64()
        ));
    }
    eprintln!("{table}");
}
