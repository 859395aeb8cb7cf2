//! Running one async check on SQLite and on PostgreSQL: `on_both_backends!`
//! makes a `sqlite::<check>` and a `postgres::<check>` test of each check (the
//! PostgreSQL one when `DOORSTEP_TEST_DATABASE_URL` is set; on CI it must be).
//! `on_both_backends!(workers = 4; ...)` runs the checks on a runtime of four
//! worker threads instead of two. Inside a check, [`blocking`] calls the
//! store (or anything else synchronous) off the async workers. The test file
//! declares `mod common; mod console_support;` and `#[macro_use] mod backends;`.
#![allow(dead_code, unused_macros)]

use std::future::Future;
use std::sync::Arc;

use crate::common::World;

/// Runs `check` on a world over `store`, in a runtime of its own (the
/// PostgreSQL store is synchronous, so the world is built outside it).
pub fn run<F, Fut>(w: World, check: F)
where
    F: FnOnce(Arc<World>) -> Fut,
    Fut: Future<Output = ()>,
{
    run_with_workers(2, w, check);
}

/// [`run`] on a runtime of `workers` worker threads.
pub fn run_with_workers<F, Fut>(workers: usize, w: World, check: F)
where
    F: FnOnce(Arc<World>) -> Fut,
    Fut: Future<Output = ()>,
{
    let w = Arc::new(w);
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .unwrap()
        .block_on(check(Arc::clone(&w)));
    // The last reference, and the store's connections with it, is dropped
    // here, outside the runtime.
    drop(w);
}

/// Calls `f` with the world on a blocking thread and waits for it: what a
/// check does to call the store, the admin functions or anything else
/// synchronous (on PostgreSQL they may not run on an async worker). A panic
/// in `f` fails the check with its own message.
pub async fn blocking<T, F>(w: &Arc<World>, f: F) -> T
where
    F: FnOnce(&World) -> T + Send + 'static,
    T: Send + 'static,
{
    let w = Arc::clone(w);
    match tokio::task::spawn_blocking(move || f(&w)).await {
        Ok(value) => value,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

macro_rules! on_both_backends {
    (workers = $workers:literal; $($check:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $check() {
                    crate::backends::run_with_workers(
                        $workers,
                        crate::common::World::new(),
                        super::$check,
                    );
                }
            )*
        }
        mod postgres {
            $(
                #[test]
                fn $check() {
                    let name = concat!("postgres::", stringify!($check));
                    if let Some(store) = crate::console_support::postgres_store(name) {
                        crate::backends::run_with_workers(
                            $workers,
                            crate::common::World::with_store(store),
                            super::$check,
                        );
                    }
                }
            )*
        }
    };
    ($($check:ident),* $(,)?) => {
        on_both_backends!(workers = 2; $($check),*);
    };
}
