//! The Doorstep sync server: login, push, pull and supervisor review over HTTP
//! (axum), storage behind one trait (embedded SQLite by default, PostgreSQL for
//! several stateless replicas on one database), and the admin operations of
//! the `doorstep-server` command.
//!
//! Layers, from the bottom: [`store`] moves rows; [`access`] decides who may
//! read, push to, review or download what; [`service`] holds every rule
//! (using the core's merge rules, so phone and server agree); [`api`] is HTTP.
//! What goes wrong is an [`error::ServiceError`] variant named for it, whose
//! code and status [`error`] alone decides; the API answers it in one place
//! and the [`console`] matches the variants.

pub mod access;
pub mod admin;
pub mod api;
pub mod app_version;
pub mod auth;
pub mod blobs;
pub mod case_csv;
pub mod compression;
pub mod console;
pub mod demo;
pub mod error;
pub mod login_limit;
pub mod metrics;
pub mod password_gate;
pub mod protocol_version;
pub mod repayment_csv;
pub mod service;
pub mod sign_in_guard;
pub mod store;
pub mod text;
pub mod xlsform;

pub use api::{AppState, app, app_with_console};
pub use error::ServiceError;
