//! The ground layer: what a target, a category, a policy, a goal and a check *are*, with no
//! I/O and nothing from any layer above. Everything else in the crate builds on these types.

pub mod caa;
pub mod calendar;
pub mod catalogue;
pub mod category;
pub mod cipher_suites;
pub mod clock;
pub mod dkim;
pub mod dmarc;
pub mod duration;
pub mod goals;
pub mod invalid;
pub mod mta_sts;
pub mod policy;
pub mod spf;
pub mod target;
pub mod tlsa;
