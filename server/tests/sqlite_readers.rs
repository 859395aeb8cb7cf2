//! The SQLite store on a file reads beside its writer: a read never waits
//! for a write transaction held open, nor a write for a read, and a read sees
//! only what was committed before it began. Many writers and readers at once
//! lose nothing and fail nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use doorstep_core::sync::protocol::Role;
use doorstep_server::store::sqlite::SqliteStore;
use doorstep_server::store::{self, FeedItem, Store, StoreError, UserRecord};
use uuid::Uuid;

/// How long a step that should be immediate may take before the test fails
/// (a bound for a broken build, never a wait a passing run sits through).
const PATIENCE: Duration = Duration::from_secs(30);

fn user(name: &str) -> UserRecord {
    UserRecord {
        id: Uuid::now_v7(),
        username: name.into(),
        password_hash: "$argon2id$placeholder".into(),
        role: Role::Agent,
        supervisor: None,
        active: true,
    }
}

fn case_changed() -> FeedItem {
    FeedItem::Case {
        case_id: Uuid::now_v7(),
    }
}

#[test]
fn a_read_completes_while_a_write_is_held_and_sees_only_committed_rows() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_dir(dir.path()).unwrap();
    let before = user("before");
    store::write(&store, |tx| {
        tx.insert_user(&before)?;
        tx.append_feed(&case_changed())
    })
    .unwrap();

    let held_user = user("held");
    let (held, holding) = mpsc::channel();
    let (let_go, release) = mpsc::channel::<()>();
    let (read_done, read_result) = mpsc::channel();
    let (store, held_user) = (&store, &held_user);
    std::thread::scope(|scope| {
        let writer = scope.spawn(move || {
            store::write(store, |tx| {
                tx.insert_user(held_user)?;
                tx.append_feed(&case_changed())?;
                held.send(()).unwrap();
                release
                    .recv_timeout(PATIENCE * 2)
                    .map_err(|_| StoreError::Corrupt("never let go"))?;
                Ok::<_, StoreError>(())
            })
        });
        holding.recv().unwrap();
        // The write transaction is open, its rows written, not committed.
        scope.spawn(|| {
            let seen = store::read(store, |tx| {
                Ok::<_, StoreError>((
                    tx.user_by_name("before")?,
                    tx.user_by_name("held")?,
                    tx.feed_last()?,
                ))
            });
            read_done.send(seen).unwrap();
        });
        // The writer lets go only after the read has answered (or failed to
        // in time), so an answer here came while the write was held.
        let seen = read_result.recv_timeout(PATIENCE);
        let_go.send(()).unwrap();
        let (found_before, found_held, feed_last) = seen
            .expect("the read waited for the write transaction held open")
            .unwrap();
        assert_eq!(found_before, Some(before.clone()));
        assert_eq!(found_held, None, "a read saw an uncommitted row");
        assert_eq!(feed_last, 1, "a read saw an uncommitted feed row");
        writer.join().unwrap().unwrap();
    });

    // Committed, the write is seen by the next read.
    let (found_held, feed_last) = store::read(store, |tx| {
        Ok::<_, StoreError>((tx.user_by_name("held")?, tx.feed_last()?))
    })
    .unwrap();
    assert_eq!(found_held.as_ref(), Some(held_user));
    assert_eq!(feed_last, 2);
}

#[test]
fn a_write_completes_while_a_read_is_open_and_the_read_keeps_its_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_dir(dir.path()).unwrap();
    let (began, beginning) = mpsc::channel();
    let (written, writing) = mpsc::channel::<()>();
    let store = &store;
    std::thread::scope(|scope| {
        let reader = scope.spawn(move || {
            store::read(store, |tx| {
                let first = tx.feed_last()?;
                began.send(()).unwrap();
                writing
                    .recv_timeout(PATIENCE * 2)
                    .map_err(|_| StoreError::Corrupt("never written"))?;
                Ok::<_, StoreError>((first, tx.feed_last()?, tx.user_by_name("late")?))
            })
        });
        beginning.recv().unwrap();
        // The read transaction is open: a write goes through beside it.
        let (done, wrote) = mpsc::channel();
        scope.spawn(move || {
            let result = store::write(store, |tx| {
                tx.insert_user(&user("late"))?;
                tx.append_feed(&case_changed())
            });
            done.send(result).unwrap();
        });
        let wrote = wrote.recv_timeout(PATIENCE);
        written.send(()).unwrap();
        wrote
            .expect("the write waited for the read transaction held open")
            .unwrap();
        // The read goes on from the snapshot it began with.
        let (first, then, late) = reader.join().unwrap().unwrap();
        assert_eq!((first, then, late), (0, 0, None));
    });
    assert_eq!(store::read(store, |tx| tx.feed_last()).unwrap(), 1);
}

#[test]
fn writers_and_readers_side_by_side_lose_nothing_and_readers_never_fail() {
    const WRITERS: usize = 4;
    const ROWS: usize = 40;
    const READERS: usize = 6;
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_dir(dir.path()).unwrap();
    let store = &store;
    let done = AtomicBool::new(false);
    let done = &done;
    std::thread::scope(|scope| {
        let readers: Vec<_> = (0..READERS)
            .map(|_| {
                scope.spawn(move || {
                    let mut reads = 0u32;
                    let mut newest = 0;
                    loop {
                        let finished = done.load(Ordering::SeqCst);
                        let (last, rows) = store::read(store, |tx| {
                            Ok::<_, StoreError>((tx.feed_last()?, tx.feed_after(0, u32::MAX)?))
                        })
                        .expect("a read failed beside the writers");
                        // A reader that sees feed row `n` sees every row below.
                        let seqs: Vec<u64> = rows.iter().map(|(seq, _)| *seq).collect();
                        assert_eq!(seqs, (1..=last).collect::<Vec<_>>());
                        // And the next read sees at least as much.
                        assert!(last >= newest, "{last} after {newest}");
                        newest = last;
                        reads += 1;
                        if finished {
                            return reads;
                        }
                    }
                })
            })
            .collect();
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                scope.spawn(move || {
                    for i in 0..ROWS {
                        let agent = user(&format!("w{w}-{i}"));
                        store::write(store, |tx| {
                            tx.insert_user(&agent)?;
                            tx.append_feed(&FeedItem::Template {
                                key: agent.username.clone(),
                                version: 1,
                            })
                        })
                        .expect("a write failed beside the readers");
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.join().unwrap();
        }
        done.store(true, Ordering::SeqCst);
        for reader in readers {
            assert!(reader.join().unwrap() > 0);
        }
    });

    let total = WRITERS * ROWS;
    store::read(store, |tx| {
        for w in 0..WRITERS {
            for i in 0..ROWS {
                let name = format!("w{w}-{i}");
                assert!(tx.user_by_name(&name)?.is_some(), "{name} was lost");
            }
        }
        let mut keys: Vec<String> = tx
            .feed_after(0, u32::MAX)?
            .into_iter()
            .map(|(_, item)| match item {
                FeedItem::Template { key, .. } => key,
                other => panic!("unexpected feed row {other:?}"),
            })
            .collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), total);
        assert_eq!(tx.feed_last()?, u64::try_from(total).unwrap());
        Ok::<_, StoreError>(())
    })
    .unwrap();
}

#[test]
fn a_read_transaction_cannot_write_on_a_file_or_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    for store in [
        SqliteStore::open_dir(dir.path()).unwrap(),
        SqliteStore::open_in_memory().unwrap(),
    ] {
        let sneaky = user("sneaky");
        assert!(store::read(&store, |tx| tx.insert_user(&sneaky)).is_err());
        assert_eq!(
            store::read(&store, |tx| tx.user_by_name("sneaky")).unwrap(),
            None
        );
        // The store writes as before, and reads what it wrote.
        store::write(&store, |tx| tx.insert_user(&sneaky)).unwrap();
        assert_eq!(
            store::read(&store, |tx| tx.user_by_name("sneaky")).unwrap(),
            Some(sneaky)
        );
    }
}

#[test]
fn a_store_reopened_on_its_file_reads_what_it_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let kept = user("kept");
    {
        let store = SqliteStore::open_dir(dir.path()).unwrap();
        store::write(&store, |tx| tx.insert_user(&kept)).unwrap();
    }
    let store = SqliteStore::open_dir(dir.path()).unwrap();
    assert_eq!(
        store::read(&store, |tx| tx.user_by_name("kept")).unwrap(),
        Some(kept)
    );
}

#[test]
fn two_stores_on_one_file_both_write_one_after_the_other() {
    // The server and an admin command run on the same file: the second's
    // write waits for the first's (up to the busy timeout) instead of failing.
    let dir = tempfile::tempdir().unwrap();
    let server = SqliteStore::open_dir(dir.path()).unwrap();
    let admin = SqliteStore::open_dir(dir.path()).unwrap();
    let (held, holding) = mpsc::channel();
    let (let_go, release) = mpsc::channel::<()>();
    let (server, admin) = (&server, &admin);
    std::thread::scope(|scope| {
        let first = scope.spawn(move || {
            store::write(server, |tx| {
                tx.insert_user(&user("first"))?;
                held.send(()).unwrap();
                release
                    .recv_timeout(PATIENCE)
                    .map_err(|_| StoreError::Corrupt("never let go"))?;
                Ok::<_, StoreError>(())
            })
        });
        holding.recv().unwrap();
        let second = scope.spawn(|| store::write(admin, |tx| tx.insert_user(&user("second"))));
        let_go.send(()).unwrap();
        first.join().unwrap().unwrap();
        second.join().unwrap().unwrap();
    });
    for store in [server, admin] {
        let both = store::read(store, |tx| {
            Ok::<_, StoreError>((tx.user_by_name("first")?, tx.user_by_name("second")?))
        })
        .unwrap();
        assert!(both.0.is_some() && both.1.is_some());
    }
}

#[test]
fn every_write_takes_the_writer_and_the_counts_reach_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_dir(dir.path()).unwrap();
    for name in ["ana", "bo", "cy"] {
        store::write(&store, |tx| tx.insert_user(&user(name))).unwrap();
    }
    store::read(&store, |tx| tx.user_by_name("ana")).unwrap();
    let waits = store.lock_waits().unwrap();
    let (taken, waited, micros) = waits.counts();
    assert_eq!(taken, 3, "one per write, none for the read");
    assert_eq!((waited, micros), (0, 0), "nothing else was writing");
    let text = waits.render();
    assert!(text.contains("doorstep_store_locks_total 3\n"), "{text}");
    assert!(text.contains("doorstep_store_lock_wait_seconds_total 0.000000\n"));
}
