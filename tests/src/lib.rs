//! Harnesses for Doorstep's cross-crate tests: the sync server running on a
//! loopback port, and a fault-injecting proxy to put in front of it.

pub mod fault_proxy;
pub mod fleet;
pub mod server;
pub mod workload;
