//! What the server hands a device: who is signed in, the checklist templates and
//! the cases assigned. Until sync exists, tests and demos load it directly.

use serde::{Deserialize, Serialize};

use crate::checklist::ChecklistTemplate;
use crate::domain::{Case, UserId};

/// A server snapshot for one agent's device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerSnapshot {
    /// The agent signed in on the device.
    pub agent: UserId,
    /// Published checklist templates.
    pub templates: Vec<ChecklistTemplate>,
    /// Cases assigned to the agent (or to the agent's visit partner).
    pub cases: Vec<Case>,
}
