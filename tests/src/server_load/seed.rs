//! The server side every run starts from: a supervisor, the agents, their
//! cases, the registered devices and the default checklist template, with
//! ids fixed once at preparation, so that the pushes prepared against one
//! server are accepted by a fresh one seeded the same way.

use chrono::Utc;
use doorstep_core::checklist::home_verification;
use doorstep_core::domain::{Case, CaseId};
use doorstep_core::sync::protocol::Role;
use doorstep_server::admin;
use doorstep_server::store::{self, DeviceRecord, Store, UserRecord};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::workload::{self, PASSWORD};

/// The name of the supervisor every agent reports to.
pub const SUPERVISOR: &str = "lead";

/// Users, cases and devices of one prepared run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Seed {
    /// The supervisor's user id.
    pub supervisor: Uuid,
    /// Agent `n`'s user id; its name is [`workload::agent_name`]`(n)`.
    pub agents: Vec<Uuid>,
    /// Every agent's cases, in import order.
    pub cases: Vec<Case>,
    /// The devices, in preparation order.
    pub devices: Vec<SeedDevice>,
}

/// One device of the seed.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct SeedDevice {
    /// The device id its core made.
    pub id: Uuid,
    /// The index of its agent in [`Seed::agents`].
    pub agent: usize,
}

impl Seed {
    /// A seed for `devices` devices shared out among `agents` agents (device
    /// `n` is agent `n % agents`'s), with `visits` cases for each device.
    /// Device ids are filled in as the devices' cores make them.
    pub fn new(devices: usize, agents: usize, visits: usize) -> Seed {
        let agents = agents.clamp(1, devices.max(1));
        let ids: Vec<Uuid> = (0..agents).map(|_| Uuid::now_v7()).collect();
        let per_agent = devices.div_ceil(agents) * visits;
        let cases = ids
            .iter()
            .enumerate()
            .flat_map(|(a, id)| {
                (0..per_agent).map(move |i| workload::sample_case(*id, a * per_agent + i))
            })
            .collect();
        Seed {
            supervisor: Uuid::now_v7(),
            agents: ids,
            cases,
            devices: Vec::new(),
        }
    }

    /// The cases device `n` works (`visits` of its agent's cases, none
    /// shared with another device).
    pub fn cases_of(&self, n: usize, visits: usize) -> Vec<CaseId> {
        let agents = self.agents.len().max(1);
        let agent = n % agents;
        let per_agent = self.cases.len() / agents;
        let first = agent * per_agent + (n / agents) * visits;
        self.cases
            .iter()
            .skip(first)
            .take(visits)
            .map(|case| case.id)
            .collect()
    }
}

/// Writes the seed's users, cases and template into an empty `store`; the
/// devices too when `with_devices` (a preparation server registers them
/// one by one as their cores are made). Every user has the password
/// [`PASSWORD`], hashed once with the server's own argon2id parameters, so a
/// sign-in costs what it costs in production.
pub fn seed_store(store: &dyn Store, seed: &Seed, with_devices: bool) -> Result<(), String> {
    let now = Utc::now();
    let text = |e: &dyn std::fmt::Display| e.to_string();
    if store::read(store, |tx| tx.user_by_name(SUPERVISOR))
        .map_err(|e| text(&e))?
        .is_some()
    {
        return Err("the store is not empty (it has a user named lead)".into());
    }
    let password_hash = doorstep_server::auth::hash_password(PASSWORD).map_err(|e| text(&e))?;
    let user = |id, username: String, role, supervisor| UserRecord {
        id,
        username,
        password_hash: password_hash.clone(),
        role,
        supervisor,
        active: true,
    };
    store::write(store, |tx| {
        tx.insert_user(&user(
            seed.supervisor,
            SUPERVISOR.into(),
            Role::Supervisor,
            None,
        ))?;
        for (n, id) in seed.agents.iter().enumerate() {
            tx.insert_user(&user(
                *id,
                workload::agent_name(n),
                Role::Agent,
                Some(seed.supervisor),
            ))?;
        }
        Ok::<_, store::StoreError>(())
    })
    .map_err(|e| text(&e))?;
    for chunk in seed.cases.chunks(1_000) {
        admin::import_cases(store, chunk, now).map_err(|e| text(&e))?;
    }
    admin::publish_template(store, &home_verification(), now).map_err(|e| text(&e))?;
    if with_devices {
        register_devices(store, seed, &seed.devices)?;
    }
    Ok(())
}

/// Registers `devices` (of `seed`) to their agents.
pub fn register_devices(
    store: &dyn Store,
    seed: &Seed,
    devices: &[SeedDevice],
) -> Result<(), String> {
    for chunk in devices.chunks(1_000) {
        store::write(store, |tx| {
            for device in chunk {
                let user = seed
                    .agents
                    .get(device.agent)
                    .copied()
                    .ok_or(store::StoreError::Corrupt("seed: a device of no agent"))?;
                tx.insert_device(&DeviceRecord {
                    id: device.id,
                    user,
                    active: true,
                })?;
            }
            Ok::<_, store::StoreError>(())
        })
        .map_err(|e| e.to_string())?;
    }
    Ok(())
}
