//! One conformance suite for every storage backend: each `check_*` takes a
//! fresh, empty store and is its own test on each backend
//! (`on_sqlite::check_audit`, `on_postgres::check_audit`, …). SQLite runs it in memory; PostgreSQL runs it against the
//! database in `DOORSTEP_TEST_DATABASE_URL` (`scripts/test` starts a throwaway
//! cluster for it), each store in a schema of its own. Without that variable
//! the PostgreSQL tests print SKIPPED, and fail when `CI` is set.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::*;
use doorstep_core::event_log::BreakReason;
use doorstep_core::event_log::LogEntry;
use doorstep_core::sync::protocol::{PushRequest, RejectCode, Role};
use doorstep_server::store::postgres::PostgresStore;
use doorstep_server::store::sqlite::SqliteStore;
use doorstep_server::store::{
    self, AttachmentRef, AuditRecord, CaseRecord, ChainBreak, ChainCheck, ConsoleSessionRecord,
    DeviceRecord, FeedItem, FeedReader, QuarantinedEntry, Store, StoreError, StoredEntry,
    TokenRecord, UserRecord, VisitRecord,
};
use uuid::Uuid;

fn user(name: &str, role: Role) -> UserRecord {
    UserRecord {
        id: Uuid::now_v7(),
        username: name.into(),
        password_hash: "$argon2id$placeholder".into(),
        role,
        supervisor: None,
        active: true,
    }
}

fn check_users_devices_tokens(store: &dyn Store) {
    let sup = user("sup", Role::Supervisor);
    let mut agent = user("ana", Role::Agent);
    agent.supervisor = Some(sup.id);
    let device = DeviceRecord {
        id: Uuid::now_v7(),
        user: agent.id,
        active: true,
    };
    store::write(store, |tx| {
        tx.insert_user(&sup)?;
        tx.insert_user(&agent)?;
        tx.insert_device(&device)
    })
    .unwrap();
    let again = store::write(store, |tx| tx.insert_user(&user("ana", Role::Agent)));
    assert!(matches!(again, Err(StoreError::Conflict(_))));
    let token = TokenRecord {
        token_sha256: "ab".repeat(32),
        device: device.id,
        user: agent.id,
        expires_at: t0(),
        revoked: false,
    };
    store::write(store, |tx| tx.insert_token(&token)).unwrap();
    store::read(store, |tx| {
        assert_eq!(tx.user_by_name("ana")?, Some(agent.clone()));
        assert_eq!(tx.user(sup.id)?, Some(sup.clone()));
        assert_eq!(tx.user_by_name("nobody")?, None);
        assert_eq!(tx.device(device.id)?, Some(device));
        assert_eq!(tx.token(&token.token_sha256)?, Some(token.clone()));
        Ok::<_, StoreError>(())
    })
    .unwrap();
    store::write(store, |tx| {
        assert!(tx.revoke_token(&token.token_sha256)?);
        assert!(!tx.revoke_token("missing")?);
        assert!(tx.set_device_active(device.id, false)?);
        assert!(!tx.set_device_active(Uuid::now_v7(), false)?);
        Ok::<_, StoreError>(())
    })
    .unwrap();
    let (token, device) = store::read(store, |tx| {
        Ok::<_, StoreError>((tx.token(&token.token_sha256)?, tx.device(device.id)?))
    })
    .unwrap();
    assert!(token.unwrap().revoked);
    assert!(!device.unwrap().active);
}

/// Stores `cases`, then appends `items` to the feed; their sequence numbers.
fn add_cases_and_feed(store: &dyn Store, cases: &[CaseRecord], items: &[FeedItem]) -> Vec<u64> {
    let before = store::read(store, |tx| tx.feed_last()).unwrap();
    store::write(store, |tx| {
        for case in cases {
            tx.upsert_case(case)?;
        }
        for item in items {
            tx.append_feed(item)?;
        }
        Ok::<_, StoreError>(())
    })
    .unwrap();
    // Numbered at commit, one after the other, in the order appended.
    let after = store::read(store, |tx| tx.feed_after(before, 1_000)).unwrap();
    assert_eq!(
        after
            .iter()
            .map(|(_, item)| item.clone())
            .collect::<Vec<_>>(),
        items
    );
    after.into_iter().map(|(seq, _)| seq).collect()
}

fn check_cases_and_feed(store: &dyn Store) {
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let mut case = sample_case(a, None);
    let sup = Some(Uuid::now_v7());
    store::write(store, |tx| {
        tx.upsert_case(&CaseRecord {
            case: case.clone(),
            supervisor: sup,
        })?;
        tx.append_feed(&FeedItem::Case { case_id: case.id })
    })
    .unwrap();
    case.assigned.primary = b;
    let items = vec![
        FeedItem::CaseRemoved {
            case_id: case.id,
            from: vec![a],
        },
        FeedItem::Template {
            key: "home-verification".into(),
            version: 1,
        },
        FeedItem::VisitEntry {
            case_id: case.id,
            visit_id: Uuid::now_v7(),
            author: b,
            seq: 3,
        },
    ];
    let seqs = add_cases_and_feed(
        store,
        &[CaseRecord {
            case: case.clone(),
            supervisor: sup,
        }],
        &items,
    );
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));
    store::read(store, |tx| {
        let stored = tx.case(case.id)?.unwrap();
        assert_eq!(stored.case, case);
        assert_eq!(stored.supervisor, sup);
        assert!(tx.was_assigned(case.id, a)? && tx.was_assigned(case.id, b)?);
        assert!(!tx.was_assigned(case.id, Uuid::now_v7())?);
        let feed = tx.feed_after(0, 100)?;
        assert_eq!(feed.len(), 4);
        assert_eq!(
            feed[1..].iter().map(|(_, i)| i.clone()).collect::<Vec<_>>(),
            items
        );
        let after = tx.feed_after(feed[1].0, 2)?;
        assert_eq!(after.len(), 2);
        assert_eq!(after[0].0, feed[2].0);
        assert!(tx.feed_after(feed[3].0, 10)?.is_empty());
        Ok::<_, StoreError>(())
    })
    .unwrap();
}

fn check_feed_for_a_reader(store: &dyn Store) {
    let (ana, bo, sup) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let (anas_phone, bos_phone) = (Uuid::now_v7(), Uuid::now_v7());
    let anas = sample_case(ana, Some(bo));
    let bos = sample_case(bo, None);
    let entry = |case_id, author| FeedItem::VisitEntry {
        case_id,
        visit_id: Uuid::now_v7(),
        author,
        seq: 0,
    };
    let items = [
        FeedItem::Case { case_id: anas.id },
        FeedItem::Case { case_id: bos.id },
        entry(anas.id, anas_phone),
        entry(anas.id, bos_phone),
        entry(bos.id, bos_phone),
        FeedItem::Template {
            key: "home-verification".into(),
            version: 1,
        },
        FeedItem::CaseRemoved {
            case_id: bos.id,
            from: vec![ana],
        },
    ];
    let cases = [
        CaseRecord {
            case: anas.clone(),
            supervisor: Some(sup),
        },
        CaseRecord {
            case: bos.clone(),
            supervisor: None,
        },
    ];
    let seqs = add_cases_and_feed(store, &cases, &items);
    let read = |reader: FeedReader, cursor: u64, through: u64, limit: u32| {
        store::read(store, |tx| tx.feed_for(&reader, cursor, through, limit))
            .unwrap()
            .into_iter()
            .map(|(seq, _)| seqs.iter().position(|s| *s == seq).unwrap())
            .collect::<Vec<_>>()
    };
    let agent = |user, device| FeedReader {
        agent: Some(user),
        supervisor: None,
        device,
    };
    let all = seqs[6];
    // Ana: her case, her partner's entry on it but not her own phone's, the
    // template and the removal; nothing of Bo's own case.
    assert_eq!(read(agent(ana, anas_phone), 0, all, 100), vec![0, 3, 5, 6]);
    // Bo, the partner on Ana's case: both cases, Ana's entry, not his own.
    assert_eq!(read(agent(bo, bos_phone), 0, all, 100), vec![0, 1, 2, 5, 6]);
    // The supervisor of Ana's case (from a console device): all of it.
    let supervisor = FeedReader {
        agent: None,
        supervisor: Some(sup),
        device: Uuid::now_v7(),
    };
    assert_eq!(read(supervisor, 0, all, 100), vec![0, 2, 3, 5, 6]);
    // An admin reads templates and removals only.
    let admin = FeedReader {
        agent: None,
        supervisor: None,
        device: Uuid::now_v7(),
    };
    assert_eq!(read(admin, 0, all, 100), vec![5, 6]);
    // The window and the limit bound the read.
    assert_eq!(
        read(agent(bo, bos_phone), seqs[0], seqs[2], 100),
        vec![1, 2]
    );
    assert_eq!(read(agent(bo, bos_phone), 0, all, 2), vec![0, 1]);
    let last = store::read(store, |tx| tx.feed_last()).unwrap();
    assert_eq!(last, all);
}

fn check_templates(store: &dyn Store) {
    let template = doorstep_core::checklist::home_verification();
    assert!(store::write(store, |tx| tx.insert_template(&template)).unwrap());
    assert!(!store::write(store, |tx| tx.insert_template(&template)).unwrap());
    let back = store::read(store, |tx| tx.template("home-verification", 1)).unwrap();
    assert_eq!(back.unwrap().content_hash(), template.content_hash());
    assert!(
        store::read(store, |tx| tx.template("home-verification", 2))
            .unwrap()
            .is_none()
    );
}

fn check_visits_entries_ops(store: &dyn Store) {
    let (visit, device) = (Uuid::now_v7(), Uuid::now_v7());
    let record = VisitRecord {
        id: visit,
        case_id: Uuid::now_v7(),
    };
    let mut phone = Phone::new(device, visit);
    let first = phone.act(&notice());
    let second = phone.act(&notice());
    store::write(store, |tx| {
        tx.insert_visit(&record)?;
        tx.insert_entry(&StoredEntry {
            entry: first.clone(),
            rejected: None,
            reassigned: false,
        })?;
        tx.insert_entry(&StoredEntry {
            entry: second.clone(),
            rejected: Some(RejectCode::IllegalTransition),
            reassigned: true,
        })?;
        tx.record_op(first.op_id, device, None)?;
        tx.record_op(second.op_id, device, Some(RejectCode::IllegalTransition))
    })
    .unwrap();
    let clash = store::write(store, |tx| {
        tx.insert_entry(&StoredEntry {
            entry: first.clone(),
            rejected: None,
            reassigned: false,
        })
    });
    assert!(matches!(clash, Err(StoreError::Conflict(_))));
    store::read(store, |tx| {
        assert_eq!(tx.visit(visit)?, Some(record));
        assert_eq!(tx.visit(Uuid::now_v7())?, None);
        assert_eq!(tx.chain_head(visit, device)?, Some(second.clone()));
        assert_eq!(tx.chain_head(visit, Uuid::now_v7())?, None);
        let entries = tx.visit_entries(visit)?;
        assert_eq!(entries.len(), 2);
        let stored = tx.entry(visit, device, 1)?.unwrap();
        assert_eq!(stored.rejected, Some(RejectCode::IllegalTransition));
        assert!(stored.reassigned);
        assert_eq!(tx.op_outcome(first.op_id)?, Some(None));
        assert_eq!(
            tx.op_outcome(second.op_id)?,
            Some(Some(RejectCode::IllegalTransition))
        );
        assert_eq!(tx.op_outcome(Uuid::now_v7())?, None);
        Ok::<_, StoreError>(())
    })
    .unwrap();
}

fn check_chain_checks(store: &dyn Store) {
    let record = VisitRecord {
        id: Uuid::now_v7(),
        case_id: Uuid::now_v7(),
    };
    store::write(store, |tx| tx.insert_visit(&record)).unwrap();
    let unchecked = store::read(store, |tx| {
        Ok::<_, StoreError>((tx.chain_check(record.id)?, tx.chain_check(Uuid::now_v7())?))
    })
    .unwrap();
    assert_eq!(unchecked, (None, None));
    let ok = ChainCheck {
        checked_at: t0(),
        entries: 38,
        broken: None,
    };
    store::write(store, |tx| tx.set_chain_check(record.id, &ok)).unwrap();
    assert_eq!(
        store::read(store, |tx| tx.chain_check(record.id)).unwrap(),
        Some(ok)
    );
    // A later verification replaces the earlier one.
    let broken = ChainCheck {
        checked_at: t0() + chrono::Duration::minutes(5),
        entries: 40,
        broken: Some(ChainBreak {
            author: Uuid::now_v7(),
            seq: Some(17),
            reason: BreakReason::HashMismatch,
        }),
    };
    store::write(store, |tx| tx.set_chain_check(record.id, &broken)).unwrap();
    assert_eq!(
        store::read(store, |tx| tx.chain_check(record.id)).unwrap(),
        Some(broken)
    );
}

fn check_write_rolls_back_on_error(store: &dyn Store) {
    let ghost = user("ghost", Role::Agent);
    let failed: Result<(), StoreError> = store::write(store, |tx| {
        tx.insert_user(&ghost)?;
        Err(StoreError::Corrupt("test"))
    });
    assert!(failed.is_err());
    assert_eq!(
        store::read(store, |tx| tx.user_by_name("ghost")).unwrap(),
        None
    );
}

fn check_audit(store: &dyn Store) {
    let record = AuditRecord {
        at: t0(),
        user: Some(Uuid::now_v7()),
        device: None,
        action: "read".into(),
        target_kind: "case".into(),
        target_id: Uuid::now_v7().to_string(),
        code: None,
    };
    let refused = AuditRecord {
        action: "op_refused".into(),
        code: Some("not_assigned".into()),
        ..record.clone()
    };
    store::write(store, |tx| {
        tx.append_audit(&record)?;
        tx.append_audit(&refused)
    })
    .unwrap();
    assert_eq!(
        store::read(store, |tx| tx.audit_log()).unwrap(),
        vec![record, refused]
    );
}

fn attached(sha256: &str, size_bytes: u64) -> doorstep_core::domain::VisitChange {
    use doorstep_core::domain::attachment::{Attachment, AttachmentKind, AttachmentLink};
    doorstep_core::domain::VisitChange::Attached {
        attachment: Attachment {
            id: Uuid::now_v7(),
            kind: AttachmentKind::Photo,
            mime_type: "image/jpeg".into(),
            sha256: sha256.into(),
            size_bytes,
            link: AttachmentLink::Visit,
            taken_at: t0(),
        },
    }
}

fn check_attachment_refs(store: &dyn Store) {
    let (sha, other) = ("ab".repeat(32), "cd".repeat(32));
    let mut visits = [Uuid::now_v7(), Uuid::now_v7()];
    visits.sort();
    let mut authors = [Uuid::now_v7(), Uuid::now_v7()];
    authors.sort();
    store::write(store, |tx| {
        for visit in visits.iter().rev() {
            for author in authors.iter().rev() {
                for _ in 0..2 {
                    tx.record_attachment(&AttachmentRef {
                        sha256: sha.clone(),
                        visit_id: *visit,
                        size_bytes: 20 * 1024 * 1024,
                        author: *author,
                    })?;
                }
            }
        }
        for _ in 0..2 {
            tx.record_upload(&sha, authors[1])?;
        }
        Ok::<_, StoreError>(())
    })
    .unwrap();
    store::read(store, |tx| {
        let refs = tx.attachment_refs(&sha)?;
        let expected: Vec<AttachmentRef> = visits
            .iter()
            .flat_map(|v| {
                authors.iter().map(|a| AttachmentRef {
                    sha256: sha.clone(),
                    visit_id: *v,
                    size_bytes: 20 * 1024 * 1024,
                    author: *a,
                })
            })
            .collect();
        assert_eq!(refs, expected);
        assert!(tx.attachment_refs(&other)?.is_empty());
        assert_eq!(tx.uploaders(&sha)?, vec![authors[1]]);
        assert!(tx.uploaders(&other)?.is_empty());
        Ok::<_, StoreError>(())
    })
    .unwrap();
}

fn check_quarantine(store: &dyn Store) {
    let (visit, device, user) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let mut phone = Phone::new(device, visit);
    let first = phone.act(&attached(&"ef".repeat(32), 10));
    let second = phone.act(&attached(&"ef".repeat(32), 11));
    let kept = |entry: &LogEntry, minutes| QuarantinedEntry {
        entry: entry.clone(),
        user,
        device,
        case_id: None,
        code: RejectCode::NotAssigned,
        at: t0() + chrono::Duration::minutes(minutes),
    };
    store::write(store, |tx| {
        tx.quarantine(&kept(&first, 1))?;
        tx.quarantine(&kept(&second, 2))?;
        // The same op again (a retry) is kept once.
        tx.quarantine(&kept(&first, 3))
    })
    .unwrap();
    store::read(store, |tx| {
        assert_eq!(tx.quarantined(10)?, vec![kept(&second, 2), kept(&first, 1)]);
        assert_eq!(tx.quarantined(1)?, vec![kept(&second, 2)]);
        // Nothing of it is in the visit.
        assert!(tx.visit_entries(visit)?.is_empty());
        assert!(tx.chain_head(visit, device)?.is_none());
        Ok::<_, StoreError>(())
    })
    .unwrap();
}

/// Stores a visit with an admitted and a refused `attached` entry, for the
/// migration that fills `attachment_refs` from the entries already held.
fn store_attached_entries(store: &dyn Store) -> (Uuid, Uuid, String) {
    let (visit, device) = (Uuid::now_v7(), Uuid::now_v7());
    let mut phone = Phone::new(device, visit);
    let kept = phone.act(&attached(&"12".repeat(32), 4_096));
    let refused = phone.act(&attached(&"34".repeat(32), 8));
    store::write(store, |tx| {
        tx.insert_entry(&StoredEntry {
            entry: kept.clone(),
            rejected: None,
            reassigned: false,
        })?;
        tx.insert_entry(&StoredEntry {
            entry: refused.clone(),
            rejected: Some(RejectCode::IllegalTransition),
            reassigned: false,
        })
    })
    .unwrap();
    (visit, device, "12".repeat(32))
}

/// After the migrations the admitted entry's attachment is known, with its
/// device as author and (from before uploads were recorded) as its sender;
/// the refused one's is not known.
fn check_backfilled(store: &dyn Store, visit: Uuid, device: Uuid, sha: &str) {
    store::read(store, |tx| {
        assert_eq!(
            tx.attachment_refs(sha)?,
            vec![AttachmentRef {
                sha256: sha.to_owned(),
                visit_id: visit,
                size_bytes: 4_096,
                author: device,
            }]
        );
        assert_eq!(tx.uploaders(sha)?, vec![device]);
        assert!(tx.attachment_refs(&"34".repeat(32))?.is_empty());
        Ok::<_, StoreError>(())
    })
    .unwrap();
}

#[test]
fn sqlite_migration_to_version_2_finds_the_attachments_already_pushed() {
    let dir = tempfile::tempdir().unwrap();
    let (visit, device, sha) = {
        let store = SqliteStore::open_dir(dir.path()).unwrap();
        store_attached_entries(&store)
    };
    downgrade_sqlite_to_version_1(&dir.path().join("doorstep-server.db"));
    let store = SqliteStore::open_dir(dir.path()).unwrap();
    check_backfilled(&store, visit, device, &sha);
}

#[test]
fn postgres_migration_to_version_2_finds_the_attachments_already_pushed() {
    let Some(url) = pg_url("postgres_migration_to_version_2") else {
        return;
    };
    let (schema, config) = pg_schema(&url);
    let (visit, device, sha) = {
        let store = PostgresStore::connect(config.clone(), 2).unwrap();
        store_attached_entries(&store)
    };
    downgrade_postgres_to_version_1(&config, &schema);
    let store = PostgresStore::connect(config, 2).unwrap();
    check_backfilled(&store, visit, device, &sha);
}

fn check_console_sessions_and_team_lists(store: &dyn Store) {
    let sup = user("sup", Role::Supervisor);
    let other_sup = user("sup2", Role::Supervisor);
    let mut zed = user("zed", Role::Agent);
    zed.supervisor = Some(sup.id);
    let mut ana = user("ana", Role::Agent);
    ana.supervisor = Some(sup.id);
    let mut bo = user("bo", Role::Agent);
    bo.supervisor = Some(other_sup.id);
    let ours = sample_case(ana.id, None);
    let theirs = sample_case(bo.id, None);
    let (visit_a, visit_b, visit_c) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let session = ConsoleSessionRecord {
        id_sha256: "cd".repeat(32),
        user: sup.id,
        csrf_token: "token".into(),
        created_at: t0(),
        expires_at: t0() + chrono::Duration::hours(8),
        ended: false,
    };
    store::write(store, |tx| {
        for u in [&sup, &other_sup, &zed, &ana, &bo] {
            tx.insert_user(u)?;
        }
        tx.upsert_case(&CaseRecord {
            case: ours.clone(),
            supervisor: Some(sup.id),
        })?;
        tx.upsert_case(&CaseRecord {
            case: theirs.clone(),
            supervisor: Some(other_sup.id),
        })?;
        for (id, case_id) in [(visit_a, ours.id), (visit_b, ours.id), (visit_c, theirs.id)] {
            tx.insert_visit(&VisitRecord { id, case_id })?;
        }
        tx.insert_console_session(&session)
    })
    .unwrap();
    let again = store::write(store, |tx| tx.insert_console_session(&session));
    assert!(matches!(again, Err(StoreError::Conflict(_))));
    store::read(store, |tx| {
        assert_eq!(
            tx.console_session(&session.id_sha256)?,
            Some(session.clone())
        );
        assert_eq!(tx.console_session("missing")?, None);
        let names: Vec<String> = tx
            .team_members(sup.id)?
            .into_iter()
            .map(|u| u.username)
            .collect();
        assert_eq!(names, ["ana", "zed"], "by user name");
        assert!(tx.team_members(ana.id)?.is_empty());
        let mut visits: Vec<_> = tx.team_visits(sup.id)?.into_iter().map(|v| v.id).collect();
        visits.sort();
        let mut expected = vec![visit_a, visit_b];
        expected.sort();
        assert_eq!(visits, expected);
        assert_eq!(
            tx.team_visits(other_sup.id)?,
            [VisitRecord {
                id: visit_c,
                case_id: theirs.id
            }]
        );
        assert!(tx.team_visits(Uuid::now_v7())?.is_empty());
        let cases = tx.team_cases(sup.id)?;
        assert_eq!(cases.len(), 1);
        assert_eq!(cases[0].case, ours);
        assert_eq!(cases[0].supervisor, Some(sup.id));
        assert_eq!(tx.team_cases(other_sup.id)?[0].case.id, theirs.id);
        assert!(tx.team_cases(Uuid::now_v7())?.is_empty());
        let supervisors: Vec<String> = tx.supervisors()?.into_iter().map(|u| u.username).collect();
        assert_eq!(
            supervisors,
            ["sup", "sup2"],
            "supervisors only, by user name"
        );
        Ok::<_, StoreError>(())
    })
    .unwrap();
    store::write(store, |tx| {
        assert!(tx.end_console_session(&session.id_sha256)?);
        assert!(!tx.end_console_session("missing")?);
        Ok::<_, StoreError>(())
    })
    .unwrap();
    let ended = store::read(store, |tx| tx.console_session(&session.id_sha256)).unwrap();
    assert!(ended.unwrap().ended);
}

fn check_visit_summaries(store: &dyn Store) {
    let sup = user("sup", Role::Supervisor);
    let other_sup = user("sup2", Role::Supervisor);
    let mut ana = user("ana", Role::Agent);
    ana.supervisor = Some(sup.id);
    let ours = sample_case(ana.id, None);
    let theirs = sample_case(ana.id, None);
    let mut ids = [Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7()];
    ids.sort();
    let [a, b, c] = ids;
    let visit_of = |id: Uuid, case: &doorstep_core::domain::Case| {
        doorstep_core::domain::Visit::planned(id, &planned(case)).unwrap()
    };
    store::write(store, |tx| {
        for u in [&sup, &other_sup, &ana] {
            tx.insert_user(u)?;
        }
        tx.upsert_case(&CaseRecord {
            case: ours.clone(),
            supervisor: Some(sup.id),
        })?;
        tx.upsert_case(&CaseRecord {
            case: theirs.clone(),
            supervisor: Some(other_sup.id),
        })?;
        for (id, case_id) in [(a, ours.id), (b, ours.id), (c, theirs.id)] {
            tx.insert_visit(&VisitRecord { id, case_id })?;
        }
        tx.put_visit_summary(&visit_of(a, &ours))?;
        tx.put_visit_summary(&visit_of(c, &theirs))
    })
    .unwrap();
    // A summary replaced: the newest is kept.
    let mut submitted = visit_of(a, &ours);
    submitted.state = doorstep_core::domain::VisitState::Submitted;
    submitted.submitted_at = Some(t0());
    submitted.submissions = 1;
    store::write(store, |tx| tx.put_visit_summary(&submitted)).unwrap();
    store::read(store, |tx| {
        let mut team = tx.team_visit_summaries(sup.id)?;
        team.sort_by_key(|v| v.record.id);
        assert_eq!(team.len(), 2, "only the team's visits");
        assert_eq!(
            team[0].record,
            VisitRecord {
                id: a,
                case_id: ours.id
            }
        );
        assert_eq!(team[0].case.case, ours);
        assert_eq!(team[0].case.supervisor, Some(sup.id));
        assert_eq!(team[0].summary.as_ref(), Some(&submitted));
        assert_eq!(team[1].record.id, b);
        assert_eq!(team[1].summary, None, "no summary kept for b");
        let theirs_listed = tx.team_visit_summaries(other_sup.id)?;
        assert_eq!(theirs_listed.len(), 1);
        assert_eq!(theirs_listed[0].summary, Some(visit_of(c, &theirs)));
        assert!(tx.team_visit_summaries(Uuid::now_v7())?.is_empty());
        assert_eq!(tx.visits_without_summary(None, 10)?, [b]);
        assert!(tx.visits_without_summary(Some(b), 10)?.is_empty());
        assert_eq!(tx.visits_without_summary(Some(a), 1)?, [b]);
        Ok::<_, StoreError>(())
    })
    .unwrap();
}

fn check_sign_in_attempts(store: &dyn Store) {
    let (key, other) = ("user:ab", "addr:10.0.0.1");
    let at = |seconds: i64| t0() + chrono::Duration::seconds(seconds);
    let ids = store::write(store, |tx| {
        let ids = [
            tx.insert_sign_in_attempt(key, key, at(0))?,
            tx.insert_sign_in_attempt(key, key, at(1))?,
            tx.insert_sign_in_attempt(key, key, at(2))?,
            tx.insert_sign_in_attempt(other, other, at(2))?,
        ];
        assert!(tx.fail_sign_in_attempt(ids[0])?);
        assert!(tx.fail_sign_in_attempt(ids[1])?);
        assert!(!tx.fail_sign_in_attempt(ids[3] + 100)?);
        Ok::<_, StoreError>(ids)
    })
    .unwrap();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    store::read(store, |tx| {
        let all = tx.sign_in_attempts(key, at(-1))?;
        assert_eq!(
            all.iter()
                .map(|a| (a.id, a.at, a.in_progress))
                .collect::<Vec<_>>(),
            vec![
                (ids[0], at(0), false),
                (ids[1], at(1), false),
                (ids[2], at(2), true)
            ]
        );
        // Strictly after `since`.
        assert_eq!(tx.sign_in_attempts(key, at(0))?.len(), 2);
        assert_eq!(tx.sign_in_attempts("user:none", at(-1))?, vec![]);
        Ok::<_, StoreError>(())
    })
    .unwrap();
    store::write(store, |tx| {
        // Clearing failures leaves attempts in progress and other keys.
        assert_eq!(tx.clear_sign_in_attempts(key, false)?, 2);
        assert_eq!(tx.sign_in_attempts(key, at(-1))?.len(), 1);
        assert!(tx.delete_sign_in_attempt(ids[2])?);
        assert!(!tx.delete_sign_in_attempt(ids[2])?);
        assert_eq!(tx.sign_in_attempts(other, at(-1))?.len(), 1);
        assert_eq!(tx.clear_sign_in_attempts(other, true)?, 1);
        // Forgetting: everything at or before a time, then all but the newest.
        for s in 0..10 {
            tx.insert_sign_in_attempt(key, key, at(s))?;
        }
        assert_eq!(tx.forget_sign_in_attempts(at(2), 1_000)?, 3);
        assert_eq!(tx.forget_sign_in_attempts(at(-10), 4)?, 3);
        let left = tx.sign_in_attempts(key, at(-1))?;
        assert_eq!(
            left.iter().map(|a| a.at).collect::<Vec<_>>(),
            vec![at(6), at(7), at(8), at(9)]
        );
        // Forgiving a name: its rows, and the address rows it made, only.
        tx.insert_sign_in_attempt("addr:10.0.0.1", key, at(9))?;
        tx.insert_sign_in_attempt("addr:10.0.0.1", other, at(9))?;
        assert_eq!(tx.forgive_sign_in_attempts(key)?, 5);
        assert!(tx.sign_in_attempts(key, at(-1))?.is_empty());
        assert_eq!(tx.sign_in_attempts("addr:10.0.0.1", at(-1))?.len(), 1);
        Ok::<_, StoreError>(())
    })
    .unwrap();
}

fn check_case_decisions_and_repayments(store: &dyn Store) {
    use doorstep_core::domain::{CaseDecision, PlanDecision, Repayment};
    use doorstep_core::money::Money;
    let case = Uuid::now_v7();
    let decision = |hours: i64, decision: PlanDecision| CaseDecision {
        id: Uuid::now_v7(),
        case_id: case,
        after_visit: Some(Uuid::now_v7()),
        decision,
        note: "客户同意分期 <b>".into(),
        decided_by: Uuid::now_v7(),
        decided_at: t0() + chrono::Duration::hours(hours),
    };
    let later = decision(2, PlanDecision::EscalateToLegal);
    let earlier = decision(
        1,
        PlanDecision::ScheduleVisit {
            on: chrono::NaiveDate::from_ymd_opt(2026, 3, 9).unwrap(),
        },
    );
    let other_case = CaseDecision {
        case_id: Uuid::now_v7(),
        ..decision(0, PlanDecision::CloseNotContactable)
    };
    store::write(store, |tx| {
        tx.insert_case_decision(&later)?;
        tx.insert_case_decision(&earlier)?;
        tx.insert_case_decision(&other_case)
    })
    .unwrap();
    let again = store::write(store, |tx| tx.insert_case_decision(&later));
    assert!(again.is_err(), "a decision's id is recorded once");
    let read = store::read(store, |tx| tx.case_decisions(case)).unwrap();
    assert_eq!(read, [earlier, later], "the case's decisions, oldest first");

    let paid = |account: &str, day: u32, minor: i64| Repayment {
        account_ref: account.into(),
        paid_on: chrono::NaiveDate::from_ymd_opt(2026, 3, day).unwrap(),
        amount: Money::new(minor, "CNY").unwrap(),
    };
    let rows = [
        paid("CC-2", 5, 10_000),
        paid("CC-1", 4, 25_050),
        paid("CC-1", 2, 100),
        paid("CC-3", 1, 7),
    ];
    store::write(store, |tx| tx.insert_repayments(&rows, t0())).unwrap();
    store::write(store, |tx| tx.insert_repayments(&[], t0())).unwrap();
    let found = store::read(store, |tx| {
        tx.repayments(&["CC-1".to_owned(), "CC-2".to_owned(), "CC-9".to_owned()])
    })
    .unwrap();
    assert_eq!(
        found,
        [rows[2].clone(), rows[1].clone(), rows[0].clone()],
        "those accounts' repayments, oldest first"
    );
    assert!(
        store::read(store, |tx| tx.repayments(&[]))
            .unwrap()
            .is_empty()
    );
}

fn check_cases_of_accounts(store: &dyn Store) {
    let record = |account: &str, supervisor: Option<Uuid>| CaseRecord {
        case: doorstep_core::domain::Case {
            external_ref: account.into(),
            ..sample_case(Uuid::now_v7(), None)
        },
        supervisor,
    };
    let (team_a, team_b) = (Some(Uuid::now_v7()), Some(Uuid::now_v7()));
    let tricky = "CC-\"引号\"-3 ' \\";
    let cases = [
        record("CC-1", team_a),
        record("CC-2", team_b),
        record("CC-1", None),
        record(tricky, team_b),
        record("cc-1", team_a),
    ];
    store::write(store, |tx| cases.iter().try_for_each(|c| tx.upsert_case(c))).unwrap();
    let found = store::read(store, |tx| {
        tx.cases_of_accounts(&["CC-1".to_owned(), tricky.to_owned(), "CC-9".to_owned()])
    })
    .unwrap();
    // Exactly those accounts (case and all), with their teams, by case id.
    assert_eq!(
        found,
        [cases[0].clone(), cases[2].clone(), cases[3].clone()]
    );
    assert!(
        store::read(store, |tx| tx.cases_of_accounts(&[]))
            .unwrap()
            .is_empty()
    );
}

/// Makes a `on_sqlite::<check>` and an `on_postgres::<check>` test of each
/// check, each on a fresh store, so a failure names the check and the backend.
macro_rules! conformance {
    ($($check:ident),* $(,)?) => {
        mod on_sqlite {
            $(
                #[test]
                fn $check() {
                    super::$check(&super::SqliteStore::open_in_memory().unwrap());
                }
            )*
        }
        mod on_postgres {
            $(
                #[test]
                fn $check() {
                    let test = concat!("on_postgres::", stringify!($check));
                    if let Some(url) = super::pg_url(test) {
                        super::$check(&super::pg_store(&url));
                    }
                }
            )*
        }
    };
}

conformance!(
    check_users_devices_tokens,
    check_cases_and_feed,
    check_feed_for_a_reader,
    check_templates,
    check_visits_entries_ops,
    check_chain_checks,
    check_write_rolls_back_on_error,
    check_audit,
    check_console_sessions_and_team_lists,
    check_visit_summaries,
    check_attachment_refs,
    check_quarantine,
    check_sign_in_attempts,
    check_case_decisions_and_repayments,
    check_cases_of_accounts,
);

/// A store written, turned back into a version 1 store by `downgrade`, and
/// opened again by `open`: migrated, its visits kept, chain checks stored.
fn check_migrated_from_version_1(open: impl Fn() -> Box<dyn Store>, downgrade: impl FnOnce()) {
    let record = VisitRecord {
        id: Uuid::now_v7(),
        case_id: Uuid::now_v7(),
    };
    store::write(open().as_ref(), |tx| tx.insert_visit(&record)).unwrap();
    downgrade();
    let store = open();
    let check = ChainCheck {
        checked_at: t0(),
        entries: 3,
        broken: None,
    };
    store::write(store.as_ref(), |tx| {
        assert_eq!(tx.visit(record.id)?, Some(record));
        assert_eq!(tx.chain_check(record.id)?, None);
        tx.set_chain_check(record.id, &check)
    })
    .unwrap();
    assert_eq!(
        store::read(store.as_ref(), |tx| tx.chain_check(record.id)).unwrap(),
        Some(check)
    );
    // The sign-in attempts' table (SQLite version 4, PostgreSQL version 5).
    let id = store::write(store.as_ref(), |tx| {
        tx.insert_sign_in_attempt("user:x", "user:x", t0())
    })
    .unwrap();
    let kept = store::read(store.as_ref(), |tx| {
        tx.sign_in_attempts("user:x", t0() - chrono::Duration::minutes(15))
    })
    .unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!((kept[0].id, kept[0].in_progress), (id, true));
}

#[test]
fn a_version_1_sqlite_store_is_migrated_and_keeps_its_visits() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("doorstep-server.db");
    check_migrated_from_version_1(
        || Box::new(SqliteStore::open_dir(dir.path()).unwrap()),
        || downgrade_sqlite_to_version_1(&file),
    );
    let conn = rusqlite::Connection::open(&file).unwrap();
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, doorstep_server::store::sqlite::SCHEMA_VERSION);
}

#[test]
fn a_version_1_postgres_store_is_migrated_and_keeps_its_visits() {
    let Some(url) = pg_url("a_version_1_postgres_store_is_migrated") else {
        return;
    };
    let (schema, config) = pg_schema(&url);
    check_migrated_from_version_1(
        || Box::new(PostgresStore::connect(config.clone(), 2).unwrap()),
        || downgrade_postgres_to_version_1(&config, &schema),
    );
    let mut client = config.connect(postgres::NoTls).unwrap();
    let version: i32 = client
        .query_one(
            &format!("SELECT version FROM {schema}.doorstep_schema"),
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(version, doorstep_server::store::postgres::SCHEMA_VERSION);
}

#[test]
fn sqlite_store_keeps_its_data_across_reopen_and_its_audit_is_append_only() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = SqliteStore::open_dir(dir.path()).unwrap();
        check_audit(&store);
    }
    let store = SqliteStore::open_dir(dir.path()).unwrap();
    assert_eq!(store::read(&store, |tx| tx.audit_log()).unwrap().len(), 2);
    let conn = rusqlite::Connection::open(dir.path().join("doorstep-server.db")).unwrap();
    assert!(conn.execute("DELETE FROM audit", []).is_err());
    assert!(conn.execute("UPDATE audit SET action = 'x'", []).is_err());
}

// ---- PostgreSQL ----

/// The test database's URL; `None` (after saying so) when PostgreSQL tests are
/// skipped. Panics when they would be skipped on CI.
fn pg_url(test: &str) -> Option<String> {
    match std::env::var("DOORSTEP_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            let on_ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty());
            assert!(
                !on_ci,
                "{test}: DOORSTEP_TEST_DATABASE_URL is not set, and CI must run the \
                 PostgreSQL tests (scripts/test starts a cluster for them)"
            );
            // Straight to stderr, past the test harness's capture, so the skip
            // shows in every run.
            let line = format!(
                "SKIPPED {test}: DOORSTEP_TEST_DATABASE_URL is not set \
                 (run scripts/test, or scripts/postgres start DIR and export its URL)\n"
            );
            let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
            None
        }
    }
}

/// A fresh schema in the test database, and a config whose connections use it.
fn pg_schema(url: &str) -> (String, postgres::Config) {
    let schema = format!("t_{}", Uuid::now_v7().simple());
    let mut client = postgres::Client::connect(url, postgres::NoTls).unwrap();
    client
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .unwrap();
    let mut config: postgres::Config = url.parse().unwrap();
    config.options(&format!("-c search_path={schema}"));
    (schema, config)
}

/// A store on a fresh, empty schema.
fn pg_store(url: &str) -> PostgresStore {
    PostgresStore::connect(pg_schema(url).1, 4).unwrap()
}

#[test]
fn postgres_store_keeps_its_data_across_reopen_and_its_audit_is_append_only() {
    let Some(url) = pg_url("postgres_store_keeps_its_data_across_reopen") else {
        return;
    };
    let (schema, config) = pg_schema(&url);
    {
        let store = PostgresStore::connect(config.clone(), 2).unwrap();
        check_audit(&store);
    }
    let store = PostgresStore::connect(config.clone(), 2).unwrap();
    assert_eq!(store::read(&store, |tx| tx.audit_log()).unwrap().len(), 2);
    let mut client = config.connect(postgres::NoTls).unwrap();
    assert!(client.execute("DELETE FROM audit", &[]).is_err());
    assert!(
        client
            .execute("UPDATE audit SET action = 'x'", &[])
            .is_err()
    );
    assert!(client.batch_execute("TRUNCATE audit").is_err());
    assert_eq!(store::read(&store, |tx| tx.audit_log()).unwrap().len(), 2);

    // A database written by a newer server is refused, not downgraded.
    client
        .batch_execute(&format!("UPDATE {schema}.doorstep_schema SET version = 99"))
        .unwrap();
    let newer = PostgresStore::connect(config, 2);
    assert!(matches!(
        newer,
        Err(StoreError::NewerSchema {
            found: 99,
            supported
        }) if supported == i64::from(doorstep_server::store::postgres::SCHEMA_VERSION)
    ));
}

#[test]
fn postgres_feed_has_no_gaps_under_concurrent_writers_from_two_stores() {
    use std::collections::BTreeSet;
    use std::sync::atomic::{AtomicBool, Ordering};
    let Some(url) = pg_url("postgres_feed_has_no_gaps_under_concurrent_writers") else {
        return;
    };
    let config = pg_schema(&url).1;
    // Two stores on one database, as two server replicas would be.
    let stores = [
        std::sync::Arc::new(PostgresStore::connect(config.clone(), 4).unwrap()),
        std::sync::Arc::new(PostgresStore::connect(config, 4).unwrap()),
    ];
    const WRITERS: usize = 6;
    const TRANSACTIONS: usize = 25;
    let done = std::sync::Arc::new(AtomicBool::new(false));
    // Readers as phones read: from a cursor, a small page at a time, never
    // going back. Each keeps every case id it was given.
    let readers: Vec<_> = (0..2)
        .map(|r| {
            let store = stores[r].clone();
            let done = done.clone();
            std::thread::spawn(move || {
                let mut cursor = 0;
                let mut seen = Vec::new();
                loop {
                    let finished = done.load(Ordering::SeqCst);
                    let page = store::read(store.as_ref(), |tx| tx.feed_after(cursor, 7)).unwrap();
                    for (seq, item) in &page {
                        assert_eq!(*seq, cursor + 1, "a reader saw a gap");
                        cursor = *seq;
                        if let FeedItem::Case { case_id } = item {
                            seen.push(*case_id);
                        }
                    }
                    if finished && page.is_empty() {
                        return seen;
                    }
                }
            })
        })
        .collect();
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let store = stores[w % 2].clone();
            std::thread::spawn(move || {
                let mut committed = Vec::new();
                for t in 0..TRANSACTIONS {
                    // One to four rows per transaction, each in its own.
                    let ids: Vec<Uuid> = (0..=(w + t) % 4).map(|_| Uuid::now_v7()).collect();
                    store::write(store.as_ref(), |tx| {
                        for id in &ids {
                            tx.append_feed(&FeedItem::Case { case_id: *id })?;
                        }
                        Ok::<_, StoreError>(())
                    })
                    .unwrap();
                    committed.extend(ids);
                    // A rolled-back append must not leave a hole either.
                    let failed: Result<(), StoreError> = store::write(store.as_ref(), |tx| {
                        tx.append_feed(&FeedItem::Case {
                            case_id: Uuid::now_v7(),
                        })?;
                        Err(StoreError::Corrupt("test"))
                    });
                    assert!(failed.is_err());
                }
                committed
            })
        })
        .collect();
    let committed: BTreeSet<Uuid> = writers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    done.store(true, Ordering::SeqCst);
    for reader in readers {
        let seen = reader.join().unwrap();
        assert_eq!(
            seen.len(),
            committed.len(),
            "a reader missed or repeated rows"
        );
        assert_eq!(seen.into_iter().collect::<BTreeSet<_>>(), committed);
    }
    let feed = store::read(stores[0].as_ref(), |tx| tx.feed_after(0, 100_000)).unwrap();
    let seqs: Vec<u64> = feed.iter().map(|(seq, _)| *seq).collect();
    assert_eq!(seqs, (1..=committed.len() as u64).collect::<Vec<_>>());
}

#[test]
fn two_servers_on_one_postgres_serve_the_same_agent() {
    let Some(url) = pg_url("two_servers_on_one_postgres_serve_the_same_agent") else {
        return;
    };
    let config = pg_schema(&url).1;
    let first = std::sync::Arc::new(PostgresStore::connect(config.clone(), 4).unwrap());
    let second = std::sync::Arc::new(PostgresStore::connect(config, 4).unwrap());
    // The world (users, phones, cases) is set up through the first server's
    // store; the second is another replica with its own connections.
    let a = World::with_store(first);
    let b = World {
        state: doorstep_server::AppState {
            clock: a.clock.clone(),
            ..doorstep_server::AppState::new(second, a.state.blobs.clone())
        },
        clock: a.clock.clone(),
        case1: a.case1.clone(),
        case2: a.case2.clone(),
        blob_dir: a.blob_dir.clone(),
        ..a
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        // A token issued by one replica works on the other.
        let token = a.login("agent1", a.phone1).await;
        let partner = b.login("agent2", b.phone2).await;
        let mut phone = Phone::new(a.phone1, Uuid::now_v7());
        let ops: Vec<_> = full_visit(&a.case1).iter().map(|c| phone.act(c)).collect();
        assert_eq!(a.push_outcomes(&token, &ops[..4]).await, vec!["applied"; 4]);

        // Pushed through the first, pulled through the second.
        let changes = b.pull_all(&partner).await;
        let entries = |changes: &[serde_json::Value]| -> Vec<serde_json::Value> {
            changes
                .iter()
                .filter(|c| c["type"] == "visit_entry")
                .cloned()
                .collect()
        };
        assert_eq!(entries(&changes).len(), 4, "{changes:?}");
        assert_eq!(
            entries(&changes)[0]["entry"]["hash"],
            serde_json::json!(ops[0].hash)
        );
        let own = b.pull_all(&token).await;
        assert!(
            own.iter()
                .any(|c| c["type"] == "case" && c["case"]["id"] == serde_json::json!(a.case1.id)),
            "{own:?}"
        );

        // The retry lands on the other replica: every op is a duplicate, and
        // the rest of the chain continues there.
        assert_eq!(
            b.push_outcomes(&token, &ops[..4]).await,
            vec!["duplicate"; 4]
        );
        assert_eq!(b.push_outcomes(&token, &ops[4..]).await, vec!["applied"; 3]);
        assert_eq!(a.push_outcomes(&token, &ops).await, vec!["duplicate"; 7]);
        assert_eq!(entries(&a.pull_all(&partner).await).len(), 7);

        // The sign-in limit is the database's: five wrong passwords through
        // one replica lock the name on the other.
        let guess = serde_json::json!({
            "username": "agent3", "password": "a wrong guess", "device_id": a.phone3,
        });
        for _ in 0..5 {
            let (status, _) = a
                .send("POST", "/v1/login", None, Some(guess.to_string()))
                .await;
            assert_eq!(status, axum::http::StatusCode::UNAUTHORIZED);
        }
        let right = serde_json::json!({
            "username": "agent3", "password": "pw-agent3-secret", "device_id": a.phone3,
        });
        let (status, value) = b
            .send("POST", "/v1/login", None, Some(right.to_string()))
            .await;
        assert_eq!(status, axum::http::StatusCode::TOO_MANY_REQUESTS, "{value}");
    });
}

/// A `doorstep-server serve` process, killed when the test ends.
struct ServeProcess(std::process::Child);

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const BIN: &str = env!("CARGO_BIN_EXE_doorstep-server");

/// Runs one admin command of the binary on `url` and returns its stdout.
fn pg_admin(url: &str, args: &[&str]) -> String {
    let out = std::process::Command::new(BIN)
        .args(["--database-url", url])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Starts `serve` on a free loopback port and returns it with its base URL.
fn pg_serve(url: &str, blob_dir: &std::path::Path) -> (ServeProcess, String) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(BIN)
        .args(["--database-url", url, "serve", "--listen", "127.0.0.1:0"])
        .arg("--blob-dir")
        .arg(blob_dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let process = ServeProcess(child);
    let mut line = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .to_owned();
    (process, format!("http://{addr}"))
}

/// One JSON request; any status comes back as a value, not an error.
fn http_json(
    base: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let url = format!("{base}{path}");
    let bearer = token.map(|t| format!("Bearer {t}"));
    let mut response = if method == "GET" {
        let mut request = agent.get(&url);
        if let Some(bearer) = &bearer {
            request = request.header("Authorization", bearer);
        }
        request.call().unwrap()
    } else {
        let mut request = agent.post(&url).header("Content-Type", "application/json");
        if let Some(bearer) = &bearer {
            request = request.header("Authorization", bearer);
        }
        request
            .send(body.unwrap_or(serde_json::Value::Null).to_string())
            .unwrap()
    };
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap();
    (status, serde_json::from_str(&text).unwrap_or_default())
}

#[test]
fn two_server_processes_on_one_postgres_serve_the_same_device() {
    let Some(url) = pg_url("two_server_processes_on_one_postgres_serve_the_same_device") else {
        return;
    };
    // The binary takes a URL; the fresh schema travels in its `options`.
    let (schema, _) = pg_schema(&url);
    let sep = if url.contains('?') { '&' } else { '?' };
    let url = format!("{url}{sep}options=-c%20search_path%3D{schema}");
    let id_of = |out: String| -> Uuid { out.split_whitespace().nth(1).unwrap().parse().unwrap() };
    pg_admin(
        &url,
        &[
            "create-user",
            "--username",
            "sup",
            "--password",
            "pw-sup-secret",
            "--role",
            "supervisor",
        ],
    );
    let agent = id_of(pg_admin(
        &url,
        &[
            "create-user",
            "--username",
            "ana",
            "--password",
            "pw-ana-secret",
            "--role",
            "agent",
            "--supervisor",
            "sup",
        ],
    ));
    let device = Uuid::now_v7();
    let device_text = device.to_string();
    pg_admin(
        &url,
        &[
            "create-device",
            "--username",
            "ana",
            "--device-id",
            &device_text,
        ],
    );
    let case = sample_case(agent, None);
    let dir = tempfile::tempdir().unwrap();
    let cases_file = dir.path().join("cases.json");
    std::fs::write(&cases_file, serde_json::to_string(&[&case]).unwrap()).unwrap();
    pg_admin(
        &url,
        &["import-cases", "--file", cases_file.to_str().unwrap()],
    );
    let template_file = dir.path().join("template.json");
    std::fs::write(
        &template_file,
        doorstep_core::checklist::home_verification().to_json(),
    )
    .unwrap();
    pg_admin(
        &url,
        &[
            "publish-template",
            "--file",
            template_file.to_str().unwrap(),
        ],
    );

    // With PostgreSQL the blob directory must be named (replicas share it).
    let lone = std::process::Command::new(BIN)
        .args(["--database-url", &url, "serve", "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert!(!lone.status.success());
    assert!(String::from_utf8_lossy(&lone.stderr).contains("--blob-dir is required"));
    let blobs = tempfile::tempdir().unwrap();
    let (_one, first) = pg_serve(&url, blobs.path());
    let (_two, second) = pg_serve(&url, blobs.path());
    let login = serde_json::json!({
        "username": "ana", "password": "pw-ana-secret", "device_id": device,
    });
    let (status, body) = http_json(&first, "POST", "/v1/login", None, Some(login));
    assert_eq!(status, 200, "{body}");
    let token = body["token"].as_str().unwrap().to_owned();

    let mut phone = Phone::new(device, Uuid::now_v7());
    let photo: Vec<u8> = (0..3_000u32).map(|i| (i % 253) as u8).collect();
    let sha = doorstep_core::domain::attachment::sha256_hex(&photo);
    let mut changes = full_visit(&case);
    changes.insert(3, attached(&sha, photo.len() as u64));
    let ops: Vec<_> = changes.iter().map(|c| phone.act(c)).collect();
    let outcomes = |base: &str, ops: &[doorstep_core::event_log::LogEntry]| -> Vec<String> {
        let body = serde_json::to_value(PushRequest::new(ops)).unwrap();
        let (status, value) = http_json(base, "POST", "/v1/push", Some(&token), Some(body));
        assert_eq!(status, 200, "{value}");
        outcomes_of(ops, &value)
    };
    assert_eq!(outcomes(&first, &ops), vec!["applied"; 8]);
    // The other process knows the token, the case and every op.
    let (status, page) = http_json(
        &second,
        "GET",
        "/v1/pull?cursor=0&limit=100",
        Some(&token),
        None,
    );
    assert_eq!(status, 200, "{page}");
    assert!(
        page["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["type"] == "case" && c["case"]["id"] == serde_json::json!(case.id)),
        "{page}"
    );
    assert_eq!(outcomes(&second, &ops), vec!["duplicate"; 8]);

    // The photo goes up half through one process, half through the other, and
    // either serves it back.
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let put = |base: &str, offset: usize, bytes: &[u8]| -> (u16, serde_json::Value) {
        let mut response = agent
            .put(&format!(
                "{base}/v1/attachments/{sha}?offset={offset}&total={}",
                photo.len()
            ))
            .header("Authorization", &format!("Bearer {token}"))
            .header("Content-Type", "application/octet-stream")
            .send(bytes)
            .unwrap();
        let text = response.body_mut().read_to_string().unwrap();
        (
            response.status().as_u16(),
            serde_json::from_str(&text).unwrap(),
        )
    };
    let (status, state) = put(&first, 0, &photo[..1_000]);
    assert_eq!((status, state["received"].as_u64()), (200, Some(1_000)));
    let (status, state) = http_json(
        &second,
        "GET",
        &format!("/v1/attachments/{sha}/upload"),
        Some(&token),
        None,
    );
    assert_eq!((status, state["received"].as_u64()), (200, Some(1_000)));
    let (status, state) = put(&second, 1_000, &photo[1_000..]);
    assert_eq!((status, state["complete"].as_bool()), (200, Some(true)));
    for base in [&first, &second] {
        let mut response = agent
            .get(&format!("{base}/v1/attachments/{sha}"))
            .header("Authorization", &format!("Bearer {token}"))
            .call()
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(response.body_mut().read_to_vec().unwrap(), photo);
    }
}
