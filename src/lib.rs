//! The `recete` binary's library: command-line parsing and the wiring of API and workers into
//! processes.
//!
//! # Layout
//! - [`cli`]: the command-line contract (subcommands, flags, JSON output).
//! - [`commands`]: one module per subcommand.
//! - [`demo`]: `recete all --demo`: a demo merchant and its whole story, told through the API.
//! - [`fleet`]: starting the API and workers with shared connections and one shutdown signal.
#![forbid(unsafe_code)]

pub mod cli;
pub mod commands;
pub mod demo;
pub mod fleet;
