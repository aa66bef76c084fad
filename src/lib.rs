//! vnready audits a province's government websites for IPv6, .vn and TLS readiness.
//!
//! The crate is built in layers, lowest first; a module uses its own layer and those below it,
//! never one above (tests/layers.rs enforces this, docs/architecture.md draws it):
//!
//! [`model`] → [`probe`] (I/O, facts only) → [`checks`] (pure judgement) → [`audit`] (probe,
//! judge, apply the policy) → [`config`] → [`history`] → sinks ([`output`], [`report`],
//! [`metrics`]) → [`daemon`] → [`web`] → [`cli`].
//!
//! Probes never judge and checks never do I/O, so a new check is a pure function plus a
//! catalogue entry, and a new output is a new sink over the same verdict.

pub mod audit;
pub mod checks;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod history;
pub mod metrics;
pub mod model;
pub mod output;
pub mod probe;
pub mod report;
pub mod web;
