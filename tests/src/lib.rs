//! Harnesses for Doorstep's cross-crate tests: the sync server running on a
//! loopback port, a fault-injecting proxy and a shaped (slow, lossy, cut)
//! network link to put in front of it, a field day worked over such a link,
//! and the server-only load driver's preparation, replay and checks.

pub mod fault_proxy;
pub mod field_day;
pub mod fleet;
pub mod network_shape;
pub mod request_log;
pub mod server;
pub mod server_load;
pub mod workload;
