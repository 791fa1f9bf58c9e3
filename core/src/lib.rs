//! # svccore: kube-proxy's view of Kubernetes Services, offline
//!
//! (skeleton: the full crate tour lands with the loader)
#![deny(missing_docs)]

pub mod error;
pub mod ip;
pub mod model;
pub mod render;
pub mod select;

pub use error::{Error, Issue, Result};
