//! One audit of one or many targets: probe, judge, apply the policy, and hand each sink a
//! finished [`verdict::TargetVerdict`]. Used alike by `check`, the daemon and `/probe`.

pub mod plan;
pub mod runner;
pub mod verdict;

#[cfg(test)]
pub(crate) mod fixtures;
