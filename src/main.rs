//! The `recete` command line. Everything it does lives in the library, so tests can call it.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = recete::cli::Cli::parse();
    recete::commands::run(cli)
}
