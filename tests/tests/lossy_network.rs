//! A field day in a village: the phone syncs over a link with a 300 ms round
//! trip, 384 kbit/s each way, 5 % of segments lost and connections cut at
//! random (inside requests, responses and photo chunks). Four visits with
//! twenty photos, worked offline, are synced until nothing is left: every
//! action reaches the server once, every photo's bytes arrive once and intact,
//! no visit is refused, and a photo whose upload was cut resumes where the
//! server's bytes end instead of starting again from zero.
//!
//! The link's losses and cuts are drawn from a seed, printed at the start:
//! `DOORSTEP_LOSSY_SEED=<seed> cargo test -p doorstep-tests --test lossy_network`
//! replays a run. Most photos are small here (one camera-sized photo per
//! visit, `DOORSTEP_LOSSY_PREMISES_PHOTO_BYTES` and `DOORSTEP_LOSSY_PHOTO_BYTES`
//! change the sizes) to keep the test within a minute; the `lossy_day`
//! measurement runs the same day with twenty camera-sized photos
//! (docs/BENCHMARKS.md, "A lossy network: a village day").
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::{HashMap, HashSet};

use doorstep_core::domain::VisitState;
use doorstep_core::sync::protocol::MAX_ATTACHMENT_CHUNK_BYTES;
use doorstep_tests::field_day::{DayPlan, FieldDay};
use doorstep_tests::network_shape::NetworkShape;
use doorstep_tests::request_log::ChunkSent;

/// The seed of the run in `scripts/test`: its link cuts six connections while
/// photos go up, four of them inside a photo past its first byte.
const SEED: u64 = 5;

/// The village of docs/BENCHMARKS.md, cut more often (every 128 KiB on
/// average instead of 512 KiB) so that a one-minute day sees several cuts.
fn village() -> NetworkShape {
    NetworkShape {
        mean_bytes_between_cuts: Some(128 * 1024),
        ..NetworkShape::village()
    }
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The chunks that were cut on the way (no answer came) and the first chunk of
/// the same photo sent after each.
fn cut_and_next(chunks: &[ChunkSent]) -> Vec<(&ChunkSent, &ChunkSent)> {
    chunks
        .iter()
        .enumerate()
        .filter(|(_, c)| !c.answered)
        .filter_map(|(i, cut)| {
            let next = chunks[i + 1..].iter().find(|c| c.sha256 == cut.sha256)?;
            Some((cut, next))
        })
        .collect()
}

#[test]
fn a_village_day_arrives_once_and_cut_uploads_resume_where_they_stopped() {
    let seed = env_or("DOORSTEP_LOSSY_SEED", SEED);
    // The premises photo of each visit is camera-sized, the others small, to
    // keep the day near a megabyte: about half a minute at 384 kbit/s.
    let plan = DayPlan {
        premises_photo_bytes: env_or("DOORSTEP_LOSSY_PREMISES_PHOTO_BYTES", 160_000),
        photo_bytes: env_or("DOORSTEP_LOSSY_PHOTO_BYTES", 8_000),
        ..DayPlan::four_visits(0)
    };
    eprintln!("lossy network: seed {seed}, {plan:?}");
    let mut day = FieldDay::start(village(), seed, &plan).unwrap();
    day.morning_sync(50).unwrap();
    day.work(&plan, seed).unwrap();
    let drained = day.drain(200).unwrap();
    let tally = day.link.tally();
    eprintln!("drained: {drained:?}; link: {tally:?}");

    // Every action on the server once, in the phone's chain order, none refused.
    assert!(day.doorstep.rejected_ops().unwrap().is_empty());
    let mut actions = 0;
    for visit in &day.visits {
        let stored = day.fleet.stored(*visit);
        assert!(
            stored.iter().all(|s| s.rejected.is_none()),
            "the server refused an action of visit {visit}"
        );
        let mut ops = HashSet::new();
        let mut positions = HashSet::new();
        for s in &stored {
            assert!(ops.insert(s.entry.op_id), "an action stored twice");
            assert!(
                positions.insert(s.entry.seq),
                "a chain position stored twice"
            );
        }
        let mut on_server: Vec<_> = stored.into_iter().map(|s| s.entry).collect();
        on_server.sort_by_key(|e| e.seq);
        assert_eq!(
            on_server,
            day.doorstep.visit_log(*visit).unwrap(),
            "the server holds exactly the phone's log of visit {visit}"
        );
        actions += on_server.len();
        let history = day.fleet.visit(*visit).unwrap();
        assert_eq!(history.visit.state, VisitState::Submitted);
    }
    assert!(actions >= day.visits.len() * 20, "only {actions} actions");

    // Every photo once, byte for byte as the phone took it.
    let mut on_server = HashMap::new();
    for visit in &day.visits {
        for attachment in day.fleet.visit(*visit).unwrap().attachments {
            let bytes = day
                .fleet
                .server()
                .blobs()
                .read(&attachment.sha256)
                .unwrap()
                .expect("the server holds the photo's bytes");
            assert!(
                on_server.insert(attachment.sha256.clone(), bytes).is_none(),
                "a photo attached twice"
            );
        }
    }
    assert_eq!(on_server.len(), plan.photos);
    let taken: HashSet<&Vec<u8>> = day.photos.iter().collect();
    let arrived: HashSet<&Vec<u8>> = on_server.values().collect();
    assert_eq!(taken, arrived, "the server's photos are the phone's");

    // Uploads resume where they stopped: the network cut chunks of photos, the
    // chunk sent after a cut never starts before the cut one, at least one
    // photo went on from past its first byte, and the bytes sent stay near
    // the photos' bytes.
    let chunks = day.transport.chunks();
    let cuts = cut_and_next(&chunks);
    eprintln!(
        "photo chunks: {} sent, {} cut, {} cut past a photo's first byte",
        chunks.len(),
        cuts.len(),
        cuts.iter().filter(|(cut, _)| cut.offset > 0).count()
    );
    assert!(!cuts.is_empty(), "no photo chunk was cut (seed {seed})");
    for (cut, next) in &cuts {
        assert!(
            next.offset >= cut.offset,
            "after a cut at byte {} the upload went back to byte {}",
            cut.offset,
            next.offset
        );
    }
    assert!(
        cuts.iter().any(|(cut, _)| cut.offset > 0),
        "no cut photo resumed past its first byte: {cuts:?}"
    );
    let photos = plan.photo_bytes_in_all();
    assert_eq!(
        photos,
        day.photos.iter().map(|p| p.len() as u64).sum::<u64>()
    );
    assert!(
        tally.bytes_up * 2 < photos * 3,
        "{} bytes went up for {photos} bytes of photos",
        tally.bytes_up
    );
    assert!(
        chunks
            .iter()
            .all(|c| c.bytes <= MAX_ATTACHMENT_CHUNK_BYTES as u64)
    );

    // And the network really was bad.
    assert!(tally.cuts() >= 2, "{tally:?}");
    assert!(tally.lost_segments >= 10, "{tally:?}");
    assert!(drained.failed_syncs >= 1);
}
