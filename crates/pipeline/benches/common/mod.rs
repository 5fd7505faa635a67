//! Shared by the ring benches; each uses part of it.
#[allow(dead_code)]
pub mod market;
