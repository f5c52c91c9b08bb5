//! The `inflight` command line tool.
use clap::Parser;

/// Run jobs and fetch URLs with a bounded number in flight.
#[derive(Parser)]
#[command(name = "inflight", version, about)]
struct Cli {}

fn main() {
    let _ = Cli::parse();
}
