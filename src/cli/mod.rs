//! Command-line interface: `check` (one-shot audit / CI gate), `serve` (the daemon), `report`
//! and `validate`. The top layer: it parses flags and wires the layers below together. anyhow
//! lives only here, at the edge; everything below returns typed errors.

mod args;
mod check;
mod edge;
mod report;
pub mod serve;
mod sweep;

pub use args::{
    CheckArgs, Cli, Command, LogFormat, ProbeFlags, ReportArgs, ReportFormat, ServeArgs, ShardFlags, ValidateArgs,
    DEFAULT_LISTEN_ADDRESS,
};
use edge::{async_runtime, load_config, usage};
pub use edge::{UsageError, EXIT_FAIL, EXIT_PASS, EXIT_USAGE};

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

/// Entry point used by `main`.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() { EXIT_USAGE } else { EXIT_PASS });
        }
    };
    let default_level = if matches!(cli.command, Command::Serve(_)) {
        "info"
    } else {
        "warn"
    };
    init_logging(cli.log_level.as_deref().unwrap_or(default_level), cli.log_format);
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("vnready: {err:#}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

/// The filter for `--log.level`: a bare level applies to vnready alone (the DNS library's
/// DNSSEC validator alone logs whole DNS messages at WARN/ERROR for every unsigned zone);
/// anything else is a full directive for experts, as RUST_LOG is.
pub fn log_directive(level: &str) -> String {
    let bare = ["error", "warn", "info", "debug", "trace", "off"];
    let level = level.trim();
    if bare.contains(&level.to_ascii_lowercase().as_str()) {
        format!("off,vnready={}", level.to_ascii_lowercase())
    } else {
        level.to_string()
    }
}

fn init_logging(level: &str, format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(log_directive(level)))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off,vnready=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let _ = match format {
        // Fields at the top level and no tracing target, so `target` is always the site.
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_target(false)
            .with_current_span(false)
            .try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// Runs a parsed command line and returns the exit code. Every field is destructured so none
/// is silently ignored.
pub fn run(cli: Cli) -> anyhow::Result<u8> {
    let Cli {
        command,
        log_level: _,
        log_format: _,
    } = cli;
    match command {
        Command::Validate(ValidateArgs { file }) => match load_config(&file) {
            Ok(config) => {
                println!("{}: OK, {} target(s)", file.display(), config.targets.len());
                Ok(EXIT_PASS)
            }
            Err(UsageError(message)) => {
                eprintln!("{message}");
                Ok(EXIT_USAGE)
            }
        },
        Command::Check(args) => check::run(args),
        Command::Serve(args) => run_serve(args),
        Command::Report(args) => report::run(args),
    }
}

fn run_serve(args: ServeArgs) -> anyhow::Result<u8> {
    let ServeArgs {
        config,
        probe,
        listen_address,
        storage_path,
        storage_retention,
        shard,
        web_config,
        grace_period,
    } = args;
    let shard = match shard.resolve() {
        Ok(shard) => shard,
        Err(message) => return usage(&message),
    };
    let listen = match serve::parse_listen_address(&listen_address) {
        Ok(address) => address,
        Err(message) => return usage(&format!("--web.listen-address: {message}")),
    };
    let options = serve::ServeOptions {
        config,
        overrides: probe.overrides(),
        listen,
        storage: Some(storage_path).filter(|p| !p.as_os_str().is_empty()),
        retention: storage_retention.0,
        shard,
        grace: grace_period.0,
        web_config,
    };
    match async_runtime()?.block_on(serve::run(options)) {
        Ok(()) => Ok(EXIT_PASS),
        Err(err) => {
            tracing::error!(error = %err, "vnready serve could not start");
            eprintln!("vnready: {err}");
            Ok(EXIT_USAGE)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_level_silences_other_crates_and_a_directive_is_kept() {
        assert_eq!(log_directive("info"), "off,vnready=info");
        assert_eq!(log_directive("ERROR"), "off,vnready=error");
        assert_eq!(log_directive("info,hickory_net=debug"), "info,hickory_net=debug");
    }
}
