//! Running for real: `recete` started in production with the operator's own keys, the
//! configurations production refuses, and rotating keys (lookup keys and sealed task payloads
//! included) until the old keys can go.

mod config;
mod rotation;

use std::process::Command;

/// A valid production key set: sealing key `prod-2026`, lookup key `lookup-2026`.
pub const SEALING_KEY: &str = "Pq0G3y8rZmG3qk2Q8m0w9b1m7n5r3t1v2x4z6c8e0g0=";
pub const LOOKUP_KEY: &str = "c2VjcmV0LWxvb2t1cC1rZXktb2YtdGhpcnR5LXR3by1ieXRlcw==";

/// `recete` with nothing inherited from the test's environment that could configure it.
pub fn recete() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_recete"));
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name.starts_with("RECETE") || name.starts_with("DATABASE_URL") || name.starts_with("REDIS_URL") {
            command.env_remove(name.as_ref());
        }
    }
    command.env_remove("RUST_LOG");
    command
}
