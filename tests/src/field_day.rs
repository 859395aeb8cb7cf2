//! An agent's field day over a shaped link: a real server on loopback, one
//! phone whose every request goes through a [`ShapedLink`] and a
//! [`RequestLog`], a morning sync for the cases, visits worked offline with
//! their photos, then syncs until the phone has nothing left to send. The
//! lossy-network test checks what arrived; the `lossy_day` measurement reports
//! what it cost.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{Duration as Minutes, Utc};
use doorstep_core::clock::{FixedClock, WallClock};
use doorstep_core::domain::{
    AttachmentKind, AttachmentLink, Case, Notice, NoticeChannel, UserId, VisitId,
};
use doorstep_core::policy::Policy;
use doorstep_core::sync::ureq_transport::UreqTransport;
use doorstep_core::{Doorstep, DoorstepError, NoProgress, SyncReport, Transport};
use doorstep_server::admin;
use tempfile::TempDir;

use crate::fleet::{Fleet, PASSWORD};
use crate::network_shape::{NetworkShape, ShapedLink};
use crate::request_log::RequestLog;
use crate::workload::{KEY, answers, fix_at_home, morning, promise_outcome, sample_case};

/// The agent of the day.
pub const AGENT: &str = "wang.agent";

/// How long the phone waits for one request before giving up on it.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// What the agent does in a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayPlan {
    /// Visits, each on its own case.
    pub visits: usize,
    /// Photos in all, spread over the visits (at least one each: the
    /// checklist asks for a photo of the premises).
    pub photos: usize,
    /// Bytes of each visit's first photo, the premises the checklist asks for.
    pub premises_photo_bytes: usize,
    /// Bytes of each other photo.
    pub photo_bytes: usize,
}

impl DayPlan {
    /// The day of the issue: four visits, twenty photos of `photo_bytes` each.
    pub fn four_visits(photo_bytes: usize) -> DayPlan {
        DayPlan {
            visits: 4,
            photos: 20,
            premises_photo_bytes: photo_bytes,
            photo_bytes,
        }
    }

    /// Bytes of all the day's photos.
    pub fn photo_bytes_in_all(&self) -> u64 {
        let premises = self.visits.min(self.photos);
        (premises * self.premises_photo_bytes + (self.photos - premises) * self.photo_bytes) as u64
    }
}

/// How the phone got its queue to the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Drained {
    /// From the first sync after the day's work to the one that left nothing
    /// to send.
    pub elapsed: Duration,
    /// Syncs run, the last (successful) one included.
    pub syncs: u32,
    /// Syncs that stopped on a failure (a cut, a timeout) and were run again.
    pub failed_syncs: u32,
}

/// A server, a phone and the shaped link between them.
pub struct FieldDay {
    /// The server and its store.
    pub fleet: Fleet,
    /// The agent's phone.
    pub doorstep: Doorstep,
    /// The phone's clock (the day's time, not the measurement's).
    pub clock: Arc<FixedClock>,
    /// The link every request of the phone goes through.
    pub link: ShapedLink,
    /// Every request the phone sent, and whether it was answered.
    pub transport: RequestLog<UreqTransport>,
    /// The agent's id.
    pub agent: UserId,
    /// The agent's cases on the server.
    pub cases: Vec<Case>,
    /// The visits worked, once [`FieldDay::work`] ran.
    pub visits: Vec<VisitId>,
    /// The bytes of every photo taken, in order.
    pub photos: Vec<Vec<u8>>,
    _server_data: TempDir,
    _phone_data: TempDir,
}

impl FieldDay {
    /// A fresh server with the agent, their cases (one per visit of `plan`)
    /// and the default template; a fresh phone registered to the agent,
    /// connected through a link shaped by `shape` with decisions drawn from
    /// `seed`.
    pub fn start(shape: NetworkShape, seed: u64, plan: &DayPlan) -> std::io::Result<FieldDay> {
        let server_data = tempfile::tempdir()?;
        let phone_data = tempfile::tempdir()?;
        let fleet = Fleet::start(server_data.path())?;
        let agent = fleet.agent(AGENT);
        let cases: Vec<Case> = (0..plan.visits).map(|i| sample_case(agent, i)).collect();
        let other = |e: &dyn std::fmt::Display| std::io::Error::other(e.to_string());
        admin::import_cases(fleet.store(), &cases, Utc::now()).map_err(|e| other(&e))?;
        let (doorstep, clock) = open_phone(&phone_data.path().join("phone.db"))?;
        admin::create_device(fleet.store(), AGENT, doorstep.device_id(), Utc::now())
            .map_err(|e| other(&e))?;
        let link = ShapedLink::start(fleet.server().address(), shape, seed)?;
        let transport = RequestLog::new(UreqTransport::new(
            &format!("http://{}", link.address()),
            REQUEST_TIMEOUT,
        ));
        Ok(FieldDay {
            fleet,
            doorstep,
            clock,
            link,
            transport,
            agent,
            cases,
            visits: Vec::new(),
            photos: Vec::new(),
            _server_data: server_data,
            _phone_data: phone_data,
        })
    }

    /// The morning sync: syncs until the phone holds every case of the day.
    pub fn morning_sync(&self, max_syncs: u32) -> Result<Drained, String> {
        let cases = self.cases.len();
        self.sync_until(max_syncs, |d| {
            d.list_cases(&doorstep_core::CaseQuery {
                limit: 200,
                ..Default::default()
            })
            .map(|c| c.len() == cases)
            .unwrap_or(false)
        })
    }

    /// The day's work, offline: each visit planned and announced by phone in
    /// the morning, then checked in to, answered, photographed, noted, given an
    /// outcome, checked out of and submitted. Photo `n` is [`photo`]`(seed, n, …)`.
    pub fn work(&mut self, plan: &DayPlan, seed: u64) -> Result<(), DoorstepError> {
        let start = self.clock.now();
        for case in &self.cases {
            let visit = self
                .doorstep
                .plan_visit(case.id, start + Minutes::hours(2))?;
            self.doorstep.record_notice(
                visit,
                Notice {
                    channel: NoticeChannel::PhoneCall,
                    given_at: start,
                    planned_visit_at: start + Minutes::hours(2),
                    purpose: "核实逾期情况，了解还款能力与还款意愿".into(),
                    acknowledged: true,
                },
            )?;
            self.visits.push(visit);
        }
        self.clock.advance(Minutes::hours(2));
        let visits = self.visits.clone();
        for (v, visit) in visits.iter().enumerate() {
            self.doorstep
                .check_in(*visit, fix_at_home(self.clock.now()))?;
            for (item, value) in answers(v) {
                self.doorstep.answer(*visit, item, value)?;
            }
            let photos: Vec<usize> = (0..plan.photos).filter(|n| n % plan.visits == v).collect();
            for (k, n) in photos.into_iter().enumerate() {
                let (link, size) = if k == 0 {
                    let premises = AttachmentLink::ChecklistItem {
                        item_id: "premises_photos".into(),
                    };
                    (premises, plan.premises_photo_bytes)
                } else {
                    (AttachmentLink::Visit, plan.photo_bytes)
                };
                let bytes = photo(seed, n, size);
                self.doorstep
                    .attach(*visit, AttachmentKind::Photo, "image/jpeg", &bytes, link)?;
                self.photos.push(bytes);
            }
            self.doorstep
                .add_note(*visit, "客户经营的小饭馆疫情后亏损，目前在朋友店里帮工。")?;
            self.doorstep
                .add_note(*visit, "客户同意先还五千元，其余部分申请分期。")?;
            self.doorstep.set_outcome(*visit, promise_outcome())?;
            self.clock.advance(Minutes::minutes(10));
            self.doorstep
                .check_out(*visit, fix_at_home(self.clock.now()))?;
            self.doorstep.submit(*visit)?;
        }
        Ok(())
    }

    /// Back in coverage: syncs until nothing is left to send (the outbox empty
    /// and every photo's bytes confirmed by the server), at most `max_syncs`
    /// times, each retried at once after a failure (the app's backoff between
    /// attempts is not part of the time).
    pub fn drain(&self, max_syncs: u32) -> Result<Drained, String> {
        self.sync_until(max_syncs, |d| {
            d.sync_status()
                .map(|s| s.pending_ops == 0 && s.pending_uploads == 0)
                .unwrap_or(false)
        })
    }

    fn sync_until(
        &self,
        max_syncs: u32,
        done: impl Fn(&Doorstep) -> bool,
    ) -> Result<Drained, String> {
        let started = Instant::now();
        let mut failed_syncs = 0;
        for syncs in 1..=max_syncs {
            match sync_once(&self.doorstep, &self.transport) {
                Ok(_) if done(&self.doorstep) => {
                    return Ok(Drained {
                        elapsed: started.elapsed(),
                        syncs,
                        failed_syncs,
                    });
                }
                Ok(_) => {}
                Err(_) => failed_syncs += 1,
            }
        }
        Err(format!(
            "not drained after {max_syncs} syncs (seed {}): {:?}",
            self.link.seed(),
            self.doorstep.sync_status()
        ))
    }
}

/// One sync of the agent's phone, as the agent asking for it would run it:
/// signed in first if the phone holds no sign-in yet (the agent types the
/// password once; a sign-in cut on the way is tried again at the next sync).
/// The only place the field day calls the core's sync.
pub fn sync_once(
    doorstep: &Doorstep,
    transport: &dyn Transport,
) -> Result<SyncReport, DoorstepError> {
    if !doorstep.is_signed_in()? {
        doorstep.sign_in(transport, AGENT, PASSWORD)?;
    }
    doorstep.sync_now(transport, &NoProgress)
}

/// A fresh phone at `path` on a fixed clock at [`morning`], UTC+8.
fn open_phone(path: &Path) -> std::io::Result<(Doorstep, Arc<FixedClock>)> {
    let clock = Arc::new(FixedClock::new(morning()));
    let doorstep = Doorstep::open_with_clock(path, &KEY, Policy::default(), clock.clone())
        .and_then(|d| d.set_device_utc_offset(480).map(|()| d))
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok((doorstep, clock))
}

/// The bytes of photo `n` of a day drawn from `seed`: a JPEG's markers around
/// `bytes` of noise, as incompressible as a camera's JPEG.
pub fn photo(seed: u64, n: usize, bytes: usize) -> Vec<u8> {
    let mut state = (seed ^ (n as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15)) | 1;
    let mut out = Vec::with_capacity(bytes.max(4));
    out.extend_from_slice(&[0xff, 0xd8, 0xff, 0xe0]);
    while out.len() + 2 < bytes {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(bytes.saturating_sub(2).max(4));
    out.extend_from_slice(&[0xff, 0xd9]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn photos_have_the_size_asked_differ_and_do_not_compress() {
        let a = photo(1, 0, 200_000);
        let b = photo(1, 1, 200_000);
        assert_eq!(a.len(), 200_000);
        assert_ne!(a, b);
        assert_eq!(photo(1, 0, 200_000), a);
        assert_eq!(&a[..2], &[0xff, 0xd8]);
        assert_eq!(&a[a.len() - 2..], &[0xff, 0xd9]);
        let packed = zstd::encode_all(&a[..], 3).unwrap_or_default();
        assert!(packed.len() > 199_000, "{}", packed.len());
    }
}
