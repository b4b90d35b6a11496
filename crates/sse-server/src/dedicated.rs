//! A server on its own tokio runtime and threads, as if it were another process: a client that
//! embeds the server measures a client against a server, not two halves of one scheduler. The
//! `bench` runner starts its embedded server this way, and tests that flood a server use it too.

use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;

use tokio::sync::oneshot;

use crate::config::ServerConfig;
use crate::error::ServerError;
use crate::server::{start, RunningServer};

/// Run on each of the server's threads as it starts ([`DedicatedServer::start_with`]).
pub type ThreadStart = Arc<dyn Fn() + Send + Sync>;

/// A [`RunningServer`] on a runtime of its own. Derefs to the server; [`DedicatedServer::shutdown`]
/// stops it gracefully, dropping it stops it at once. Either way the runtime's threads are joined.
/// (The server is shared with its thread, which shuts it down; the last handle dropped stops it.)
#[derive(Debug)]
pub struct DedicatedServer {
    server: Option<Arc<RunningServer>>,
    runtime: tokio::runtime::Handle,
    stop: Option<oneshot::Sender<Stop>>,
    thread: Option<JoinHandle<()>>,
    workers: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    Graceful,
    Now,
}

impl DedicatedServer {
    /// Starts a server with `config` on a new runtime of `workers` worker threads (at least one).
    /// Blocks until its listeners are bound (or it failed to start); call it from a blocking
    /// context (`tokio::task::spawn_blocking`) when inside a runtime.
    pub fn start(config: ServerConfig, workers: usize) -> Result<DedicatedServer, ServerError> {
        Self::start_with(config, workers, None)
    }

    /// [`DedicatedServer::start`], with `on_thread_start` run first on every thread of the
    /// server (its own, then each worker's as it starts): to move the server into a network
    /// namespace, say, before it binds a listener.
    pub fn start_with(
        config: ServerConfig,
        workers: usize,
        on_thread_start: Option<ThreadStart>,
    ) -> Result<DedicatedServer, ServerError> {
        let workers = workers.max(1);
        let (started_tx, started_rx) = mpsc::channel();
        let (stop_tx, stop_rx) = oneshot::channel::<Stop>();
        let thread = std::thread::Builder::new()
            .name("sse-server".into())
            .spawn(move || {
                if let Some(hook) = &on_thread_start {
                    hook();
                }
                let mut builder = tokio::runtime::Builder::new_multi_thread();
                builder
                    .worker_threads(workers)
                    .thread_name("sse-server-worker")
                    .enable_all();
                if let Some(hook) = on_thread_start.clone() {
                    builder.on_thread_start(move || hook());
                }
                let runtime = match builder.build() {
                    Ok(runtime) => runtime,
                    Err(e) => {
                        let _ = started_tx.send(Err(ServerError::Runtime(e)));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let server = match start(config).await {
                        Ok(server) => Arc::new(server),
                        Err(e) => {
                            let _ = started_tx.send(Err(e));
                            return;
                        }
                    };
                    let handle = tokio::runtime::Handle::current();
                    if started_tx.send(Ok((Arc::clone(&server), handle))).is_err() {
                        return;
                    }
                    match stop_rx.await {
                        Ok(Stop::Graceful) => server.shutdown().await,
                        // Dropping the last handle stops it at once.
                        Ok(Stop::Now) | Err(_) => {}
                    }
                });
            })
            .map_err(ServerError::Runtime)?;
        match started_rx.recv() {
            Ok(Ok((server, runtime))) => Ok(DedicatedServer {
                server: Some(server),
                runtime,
                stop: Some(stop_tx),
                thread: Some(thread),
                workers,
            }),
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(e)
            }
            Err(_) => {
                let _ = thread.join();
                Err(ServerError::Runtime(std::io::Error::other(
                    "the server thread ended before it started the server",
                )))
            }
        }
    }

    /// The server's runtime, to run a probe on it (the harness watching the server's scheduler).
    pub fn runtime(&self) -> &tokio::runtime::Handle {
        &self.runtime
    }

    /// The worker threads of the server's runtime.
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// Stops the server gracefully (see [`RunningServer::shutdown`]) and joins its threads,
    /// without blocking the caller's runtime.
    pub async fn shutdown(mut self) {
        self.stop_with(Stop::Graceful);
        if let Some(thread) = self.thread.take() {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }

    fn stop_with(&mut self, how: Stop) {
        drop(self.server.take());
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(how);
        }
    }
}

impl std::ops::Deref for DedicatedServer {
    type Target = RunningServer;

    fn deref(&self) -> &RunningServer {
        self.server
            .as_ref()
            .expect("the server is there until shutdown or drop")
    }
}

impl Drop for DedicatedServer {
    fn drop(&mut self) {
        self.stop_with(Stop::Now);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
