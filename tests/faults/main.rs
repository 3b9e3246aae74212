//! Faults injected into real `recete` processes running against real PostgreSQL and Redis, and
//! their effects counted in the database. Each scenario adds a row to the table printed at the
//! end (fault, effect expected, effect counted, result); see README.md in this directory.
//!
//! This target has its own small runner instead of libtest so the table comes last and is never
//! captured: `cargo test --test faults [NAME…] [-- --test-threads N]`.

mod report;
mod scenarios;
mod stack;

use std::collections::VecDeque;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use report::{Row, Tally, print_table};

type Run = fn(Tally) -> Pin<Box<dyn Future<Output = anyhow::Result<()>>>>;

struct Scenario {
    name: &'static str,
    fault: &'static str,
    expected: &'static str,
    run: Run,
}

/// Longest first, so the slow ones overlap the quick ones.
const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "backlog",
        fault: scenarios::backlog::FAULT,
        expected: scenarios::backlog::EXPECTED,
        run: |tally| Box::pin(scenarios::backlog::run(tally)),
    },
    Scenario {
        name: "redis_stopped",
        fault: scenarios::redis_stopped::FAULT,
        expected: scenarios::redis_stopped::EXPECTED,
        run: |tally| Box::pin(scenarios::redis_stopped::run(tally)),
    },
    Scenario {
        name: "postgres_stopped",
        fault: scenarios::postgres_stopped::FAULT,
        expected: scenarios::postgres_stopped::EXPECTED,
        run: |tally| Box::pin(scenarios::postgres_stopped::run(tally)),
    },
    Scenario {
        name: "worker_killed",
        fault: scenarios::worker_killed::FAULT,
        expected: scenarios::worker_killed::EXPECTED,
        run: |tally| Box::pin(scenarios::worker_killed::run(tally)),
    },
    Scenario {
        name: "redis_flushed",
        fault: scenarios::redis_flushed::FAULT,
        expected: scenarios::redis_flushed::EXPECTED,
        run: |tally| Box::pin(scenarios::redis_flushed::run(tally)),
    },
    Scenario {
        name: "sigterm",
        fault: scenarios::sigterm::FAULT,
        expected: scenarios::sigterm::EXPECTED,
        run: |tally| Box::pin(scenarios::sigterm::run(tally)),
    },
    Scenario {
        name: "duplicate_deliveries",
        fault: scenarios::duplicate_deliveries::FAULT,
        expected: scenarios::duplicate_deliveries::EXPECTED,
        run: |tally| Box::pin(scenarios::duplicate_deliveries::run(tally)),
    },
];

/// A safety net: a scenario still running after this fails and its processes are killed
/// (each scenario bounds its own waits far more tightly).
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(1_200);
/// Scenarios running at once unless `--test-threads` or `RUST_TEST_THREADS` says otherwise.
const DEFAULT_PARALLEL: usize = 3;

struct Options {
    filters: Vec<String>,
    exact: bool,
    list: bool,
    /// `--ignored`: this suite has no ignored scenarios, so nothing runs.
    ignored_only: bool,
    parallel: usize,
}

impl Options {
    /// Reads the arguments `cargo test` passes through; flags of libtest this runner has no use
    /// for (`--nocapture`, `--color`, …) are accepted and ignored.
    fn parse(args: impl IntoIterator<Item = String>) -> Result<Self, String> {
        let mut options = Options {
            filters: Vec::new(),
            exact: false,
            list: false,
            ignored_only: false,
            parallel: std::env::var("RUST_TEST_THREADS")
                .ok()
                .and_then(|threads| threads.parse().ok())
                .unwrap_or(DEFAULT_PARALLEL),
        };
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let (flag, inline_value) = match arg.split_once('=') {
                Some((flag, value)) if arg.starts_with("--") => (flag.to_owned(), Some(value.to_owned())),
                _ => (arg.clone(), None),
            };
            match flag.as_str() {
                "--list" => options.list = true,
                "--exact" => options.exact = true,
                "--ignored" => options.ignored_only = true,
                "--test-threads" => {
                    let value = inline_value.or_else(|| args.next()).ok_or("--test-threads needs a number")?;
                    options.parallel = value
                        .parse()
                        .ok()
                        .filter(|threads| *threads > 0)
                        .ok_or(format!("--test-threads: `{value}` is not a positive number"))?;
                }
                "--color" | "--format" | "-Z" | "--skip" | "--logfile" => {
                    if inline_value.is_none() {
                        args.next();
                    }
                }
                other if other.starts_with('-') => {}
                _ => options.filters.push(arg),
            }
        }
        Ok(options)
    }

    fn selects(&self, name: &str) -> bool {
        if self.ignored_only {
            return false;
        }
        self.filters.is_empty()
            || self
                .filters
                .iter()
                .any(|filter| if self.exact { name == filter } else { name.contains(filter.as_str()) })
    }
}

fn main() -> ExitCode {
    let options = match Options::parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(error) => {
            eprintln!("faults: {error}");
            return ExitCode::from(2);
        }
    };
    let selected: Vec<&'static Scenario> = SCENARIOS.iter().filter(|scenario| options.selects(scenario.name)).collect();
    if options.list {
        for scenario in &selected {
            println!("{}: test", scenario.name);
        }
        return ExitCode::SUCCESS;
    }
    eprintln!("running {} fault scenarios, {} at a time", selected.len(), options.parallel);
    let started = Instant::now();
    let rows = run_all(selected, options.parallel);
    if !rows.is_empty() {
        print_table(&rows);
    }
    let failed = rows.iter().filter(|row| !row.passed).count();
    eprintln!(
        "test result: {}. {} passed; {failed} failed; finished in {:.1} s",
        if failed == 0 { "ok" } else { "FAILED" },
        rows.len() - failed,
        started.elapsed().as_secs_f64()
    );
    if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

/// `parallel` runner threads take scenarios in order; rows come back in the table's order.
fn run_all(selected: Vec<&'static Scenario>, parallel: usize) -> Vec<Row> {
    let queue = Mutex::new(selected.iter().copied().enumerate().collect::<VecDeque<_>>());
    let mut rows: Vec<(usize, Row)> = std::thread::scope(|scope| {
        let runners: Vec<_> = (0..parallel.min(selected.len()))
            .map(|_| {
                scope.spawn(|| {
                    let mut rows = Vec::new();
                    while let Some((index, scenario)) = next(&queue) {
                        rows.push((index, run_one(scenario)));
                    }
                    rows
                })
            })
            .collect();
        runners.into_iter().filter_map(|runner| runner.join().ok()).flatten().collect()
    });
    rows.sort_by_key(|(index, _)| *index);
    rows.into_iter().map(|(_, row)| row).collect()
}

fn next(queue: &Mutex<VecDeque<(usize, &'static Scenario)>>) -> Option<(usize, &'static Scenario)> {
    queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner).pop_front()
}

/// Runs one scenario on a runtime of its own. A panic or the timeout drops the scenario's
/// future, and with it the guards that kill its processes and drop its database and servers.
fn run_one(scenario: &'static Scenario) -> Row {
    let tally = Tally::default();
    let started = Instant::now();
    let ended = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Err(error) => Err(format!("cannot start an async runtime: {error}")),
        Ok(runtime) => {
            let run = (scenario.run)(tally.clone());
            let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
                runtime.block_on(async { tokio::time::timeout(SCENARIO_TIMEOUT, run).await })
            }));
            match outcome {
                Ok(Ok(Ok(()))) => Ok(()),
                Ok(Ok(Err(error))) => Err(format!("{error:#}")),
                Ok(Err(_)) => Err(format!("still running after {SCENARIO_TIMEOUT:?}")),
                Err(panic) => Err(format!("panicked: {}", panic_message(panic.as_ref()))),
            }
        }
    };
    let row = Row::close(scenario.fault, scenario.expected, &tally, ended, started.elapsed());
    eprintln!(
        "scenario {} ... {} ({:.1} s)",
        scenario.name,
        if row.passed { "ok" } else { "FAILED" },
        row.took.as_secs_f64()
    );
    if !row.passed {
        eprintln!("  {}", row.counted);
    }
    row
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|message| (*message).to_owned()))
        .unwrap_or_else(|| "a panic without a message".to_owned())
}
