//! Renderings of verdicts for the CLI: a table for people, JSON and JUnit for machines.

pub mod json;
pub mod junit;
pub mod text;

/// Output formats of `vnready check`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Junit,
}
