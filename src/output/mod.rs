//! Renderings of verdicts for the CLI: a table for people, JSON and JUnit for machines.

pub mod json;
pub mod jsonl;
pub mod junit;
pub mod text;

/// Output formats of `vnready check`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    /// One compact JSON object per line, per target, as each finishes (sweeps, `--resume`).
    Jsonl,
    Junit,
}
