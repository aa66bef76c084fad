//! Thin entry point: everything lives in the library so tests can drive it directly.

fn main() -> std::process::ExitCode {
    vnready::cli::main()
}
