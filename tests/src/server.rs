//! The Doorstep server with its embedded SQLite store, serving on a loopback
//! port from a background thread, for as long as the [`TestServer`] lives.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::thread::JoinHandle;

use doorstep_server::blobs::BlobStore;
use doorstep_server::store::Store;
use doorstep_server::store::sqlite::SqliteStore;
use doorstep_server::{AppState, app};
use tokio::sync::oneshot;

/// A running server. Dropping it shuts the server down and waits for it.
pub struct TestServer {
    address: SocketAddr,
    store: Arc<SqliteStore>,
    blobs: Arc<BlobStore>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    /// Opens (or creates) the store in `data` and serves it on 127.0.0.1, on a
    /// port the system picks.
    pub fn start(data: &Path) -> std::io::Result<TestServer> {
        let store = Arc::new(SqliteStore::open_dir(data).map_err(std::io::Error::other)?);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let listener = runtime.block_on(tokio::net::TcpListener::bind(("127.0.0.1", 0)))?;
        let address = listener.local_addr()?;
        let blobs = Arc::new(BlobStore::open(&data.join("blobs"))?);
        let router = app(AppState::new(
            store.clone() as Arc<dyn Store>,
            blobs.clone(),
        ));
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            runtime.block_on(async move {
                let shutdown = async {
                    let _ = stopped.await;
                };
                let _ = axum::serve(listener, router)
                    .with_graceful_shutdown(shutdown)
                    .await;
            });
        });
        Ok(TestServer {
            address,
            store,
            blobs,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Where the server listens.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The base URL, `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The server's attachment bytes (under `blobs` in the data directory).
    pub fn blobs(&self) -> &BlobStore {
        &self.blobs
    }

    /// The server's store, for setting up users and cases and checking results.
    pub fn store(&self) -> &SqliteStore {
        &self.store
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
