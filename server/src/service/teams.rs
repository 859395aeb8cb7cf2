//! Teams: which agents each supervisor leads, and moving an agent to another
//! team. A case belongs to its primary agent's team, so moving an agent moves
//! their cases with them, in the same transaction: the old team's supervisor
//! stops seeing them at once (in the console, and over sync, where their
//! device is told the cases are gone), and the new team's supervisor sees them
//! with every visit's history (their device receives it on its next pull).

use chrono::{DateTime, Utc};
use doorstep_core::domain::UserId;
use doorstep_core::sync::protocol::Role;

use crate::error::{Missing, ServiceError};
use crate::service::users::Actor;
use crate::store::{self, FeedItem, Store, UserRecord};

/// One supervisor and the agents they lead, by user name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Team {
    /// The supervisor.
    pub supervisor: UserRecord,
    /// The agents of the team.
    pub agents: Vec<UserRecord>,
}

/// Every team, by supervisor name, and the agents in no team.
pub fn teams(
    store: &dyn Store,
    actor: Actor<'_>,
) -> Result<(Vec<Team>, Vec<UserRecord>), ServiceError> {
    actor.check()?;
    store::read(store, |tx| {
        let users = tx.users()?;
        let mut teams: Vec<Team> = users
            .iter()
            .filter(|u| u.role == Role::Supervisor)
            .map(|supervisor| Team {
                supervisor: supervisor.clone(),
                agents: Vec::new(),
            })
            .collect();
        let mut alone = Vec::new();
        for agent in users.into_iter().filter(|u| u.role == Role::Agent) {
            match teams
                .iter_mut()
                .find(|t| Some(t.supervisor.id) == agent.supervisor)
            {
                Some(team) => team.agents.push(agent),
                None => alone.push(agent),
            }
        }
        Ok((teams, alone))
    })
}

/// Moves `agent` into `supervisor`'s team (none: out of every team) as
/// `actor`, with the cases they are the primary agent of (see the module
/// documentation). The agent must be an agent (`422 not_an_agent`), the
/// supervisor a supervisor (`400 not_a_supervisor`). Moving an agent into
/// the team they are in changes nothing but the audit log. Audited as
/// `move_agent` on the agent; how many cases moved.
pub fn move_agent(
    store: &dyn Store,
    actor: Actor<'_>,
    agent: UserId,
    supervisor: Option<UserId>,
    now: DateTime<Utc>,
) -> Result<usize, ServiceError> {
    actor.check()?;
    store::write(store, |tx| {
        let found = tx
            .user(agent)?
            .ok_or(ServiceError::NotFound(Missing::User))?;
        if found.role != Role::Agent {
            return Err(ServiceError::NotAnAgent(agent));
        }
        if let Some(id) = supervisor {
            let lead = tx.user(id)?.ok_or(ServiceError::NotFound(Missing::User))?;
            if lead.role != Role::Supervisor {
                return Err(ServiceError::NamedNotSupervisor);
            }
        }
        tx.set_user_supervisor(agent, supervisor)?;
        let cases = tx.primary_cases(agent)?;
        crate::admin::lock_cases(tx, cases.iter().map(|c| c.case.id))?;
        // Read again under the locks: an assignment may have moved a case
        // meanwhile.
        let mut moved = 0;
        for id in cases.iter().map(|c| c.case.id) {
            let Some(record) = tx.case(id)? else {
                continue;
            };
            if record.case.assigned.primary != agent || record.supervisor == supervisor {
                continue;
            }
            let before = record.supervisor;
            crate::admin::put_case(tx, record.case, supervisor, actor.user_id(), now)?;
            if let Some(old) = before {
                tx.append_feed(&FeedItem::CaseRemoved {
                    case_id: id,
                    from: vec![old],
                })?;
            }
            moved += 1;
        }
        actor.audit(tx, now, "move_agent", "user", agent)?;
        Ok(moved)
    })
}
