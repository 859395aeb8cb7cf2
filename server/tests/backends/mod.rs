//! Running one async check on SQLite and on PostgreSQL: `on_both_backends!`
//! makes a `sqlite::<check>` and a `postgres::<check>` test of each check (the
//! PostgreSQL one when `DOORSTEP_TEST_DATABASE_URL` is set; on CI it must be).
//! The test file declares `mod common; mod console_support;` and
//! `#[macro_use] mod backends;`.
#![allow(dead_code)]

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
    let w = Arc::new(w);
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(check(Arc::clone(&w)));
    // The last reference, and the store's connections with it, is dropped
    // here, outside the runtime.
    drop(w);
}

macro_rules! on_both_backends {
    ($($check:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $check() {
                    crate::backends::run(crate::common::World::new(), super::$check);
                }
            )*
        }
        mod postgres {
            $(
                #[test]
                fn $check() {
                    let name = concat!("postgres::", stringify!($check));
                    if let Some(store) = crate::console_support::postgres_store(name) {
                        crate::backends::run(
                            crate::common::World::with_store(store),
                            super::$check,
                        );
                    }
                }
            )*
        }
    };
}
