//! The server-only load driver (`src/bin/server_load.rs`): the server's own
//! capacity, without the phones.
//!
//! The end-to-end driver (`load`) runs hundreds of real device cores on the
//! same cores as the server, so it measures the phones as much as the
//! server. This one prepares, untimed and once ([`prepare`], cached on
//! disk), exactly what real device cores send for a day's work, then
//! replays it against `doorstep-server serve` running as a separate process
//! ([`process`]) with a lightweight client ([`client`], [`replay`]), records
//! each request's latency in HDR histograms ([`stats`]) and the server
//! process's CPU time from `/proc`, and afterwards checks the server's store
//! holds every op exactly once ([`verify`]). [`seed`] is the server's side
//! of the preparation: users, devices and cases with fixed ids.

pub mod client;
pub mod prepare;
pub mod process;
pub mod replay;
pub mod seed;
pub mod stats;
pub mod verify;
