//! Workloads and contenders shared by the throughput benchmarks.
//!
//! Every contender consumes its whole stream and returns the sum of the outputs, so the compiler
//! cannot drop the work and a wrong contender shows up as a wrong sum.

pub mod config;
pub mod contenders;
pub mod workloads;
pub mod yield_once;
