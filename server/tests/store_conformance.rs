//! One conformance suite for every storage backend: each `check_*` takes a
//! fresh, empty store. SQLite runs it now; a PostgreSQL backend adds one test
//! that calls `conformance` with its own constructor.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::*;
use doorstep_core::sync::protocol::{RejectCode, Role};
use doorstep_server::store::sqlite::SqliteStore;
use doorstep_server::store::{
    self, AuditRecord, CaseRecord, DeviceRecord, FeedItem, Store, StoreError, StoredEntry,
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
    let seqs = store::write(store, |tx| {
        tx.upsert_case(&CaseRecord {
            case: case.clone(),
            supervisor: sup,
        })?;
        items
            .iter()
            .map(|item| tx.append_feed(item))
            .collect::<Result<Vec<_>, _>>()
    })
    .unwrap();
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
    };
    store::write(store, |tx| tx.append_audit(&record)).unwrap();
    assert_eq!(
        store::read(store, |tx| tx.audit_log()).unwrap(),
        vec![record]
    );
}

fn conformance(make: impl Fn() -> Box<dyn Store>) {
    check_users_devices_tokens(make().as_ref());
    check_cases_and_feed(make().as_ref());
    check_templates(make().as_ref());
    check_visits_entries_ops(make().as_ref());
    check_write_rolls_back_on_error(make().as_ref());
    check_audit(make().as_ref());
}

#[test]
fn sqlite_store_conforms() {
    conformance(|| Box::new(SqliteStore::open_in_memory().unwrap()));
}

#[test]
fn sqlite_store_keeps_its_data_across_reopen_and_its_audit_is_append_only() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = SqliteStore::open_dir(dir.path()).unwrap();
        check_audit(&store);
    }
    let store = SqliteStore::open_dir(dir.path()).unwrap();
    assert_eq!(store::read(&store, |tx| tx.audit_log()).unwrap().len(), 1);
    let conn = rusqlite::Connection::open(dir.path().join("doorstep-server.db")).unwrap();
    assert!(conn.execute("DELETE FROM audit", []).is_err());
    assert!(conn.execute("UPDATE audit SET action = 'x'", []).is_err());
}
