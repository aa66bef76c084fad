//! What every command shares at the edge: exit codes, the usage error, loading a config and
//! building the async runtime. Errors are printed one way: `vnready: <message>` on stderr.

use anyhow::Context;

use crate::config::Config;

/// Exit code when every required check passed.
pub const EXIT_PASS: u8 = 0;
/// Exit code when a required check failed or could not be tested.
pub const EXIT_FAIL: u8 = 1;
/// Exit code for usage and configuration errors.
pub const EXIT_USAGE: u8 = 2;

/// An error that means "the user asked for something wrong": exit 2, not 1.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Loads a config file; its error (file:line:col: what was expected) is the usage message.
pub(super) fn load_config(path: &std::path::Path) -> Result<Config, UsageError> {
    Config::load(path).map_err(|err| UsageError(err.to_string()))
}

/// The one async runtime a command builds.
pub(super) fn async_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

pub(super) fn usage(message: &str) -> anyhow::Result<u8> {
    eprintln!("vnready: {message}");
    Ok(EXIT_USAGE)
}
