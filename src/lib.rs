//! vnready audits a province's government websites for IPv6, .vn and TLS readiness.
//!
//! Data flows one way: [`config`] → [`probe`] (I/O, facts only) → [`checks`] (pure judgement)
//! → [`policy`] → [`output`]. Probes never judge and checks never do I/O, so a new check is a
//! pure function plus a catalogue entry, and a new output is a new sink over the same verdict.

pub mod calendar;
pub mod checks;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod duration;
pub mod events;
pub mod goals;
pub mod history;
pub mod latest;
pub mod metrics;
pub mod output;
pub mod policy;
pub mod probe;
pub mod report;
pub mod runner;
pub mod schedule;
pub mod serve;
pub mod shard;
pub mod store;
pub mod target;
pub mod verdict;
pub mod web;
