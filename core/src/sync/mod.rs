//! Sync between a device and the Doorstep server: the wire protocol both sides
//! speak, the merge rules both sides apply, and (on the device) the engine that
//! drains the outbox and applies pulled changes.

pub mod protocol;
