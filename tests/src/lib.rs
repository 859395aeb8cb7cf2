//! Harnesses for Doorstep's cross-crate tests: the sync server running on a
//! loopback port, a fault-injecting proxy to put in front of it, and the
//! server-only load driver's preparation, replay and checks.

pub mod fault_proxy;
pub mod network_shape;
pub mod fleet;
pub mod server;
pub mod server_load;
pub mod workload;
