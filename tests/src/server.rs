//! The Doorstep server, serving on a loopback port from a background thread for
//! as long as the [`TestServer`] lives: on its embedded SQLite store by default,
//! or on any other [`Store`] (PostgreSQL for the load driver).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::thread::JoinHandle;

use doorstep_server::blobs::{BlobStore, FsBlobStore};
use doorstep_server::store::Store;
use doorstep_server::store::sqlite::SqliteStore;
use doorstep_server::{AppState, app};
use tokio::sync::oneshot;

/// A running server. Dropping it shuts the server down and waits for it.
pub struct TestServer {
    address: SocketAddr,
    store: Arc<dyn Store>,
    blobs: Arc<dyn BlobStore>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    /// Opens (or creates) the store in `data`, with attachment bytes under
    /// `data/blobs`, and serves it on 127.0.0.1, on a port the system picks.
    pub fn start(data: &Path) -> std::io::Result<TestServer> {
        let store = SqliteStore::open_dir(data).map_err(std::io::Error::other)?;
        TestServer::serve(Arc::new(store), &data.join("blobs"))
    }

    /// Serves `store`, with attachment bytes under `blob_dir`, on 127.0.0.1, on
    /// a port the system picks.
    pub fn serve(store: Arc<dyn Store>, blob_dir: &Path) -> std::io::Result<TestServer> {
        let blobs: Arc<dyn BlobStore> = Arc::new(FsBlobStore::open(blob_dir)?);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let listener = runtime.block_on(tokio::net::TcpListener::bind(("127.0.0.1", 0)))?;
        let address = listener.local_addr()?;
        let router = app(AppState::new(store.clone(), blobs.clone()));
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
    pub fn blobs(&self) -> &dyn BlobStore {
        self.blobs.as_ref()
    }

    /// The server's store, for setting up users and cases and checking results.
    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
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
