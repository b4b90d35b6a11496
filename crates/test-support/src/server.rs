//! Starting the test server in-process on port 0.

use std::time::Duration;

use sse_server::{RunningServer, ServerConfig};

/// The default configuration with a short tick interval (50 ms), so tests run fast.
pub fn test_config() -> ServerConfig {
    let mut config = ServerConfig::default();
    config.events.interval = Duration::from_millis(50);
    config
}

/// Starts a server with `config`, panicking if it cannot.
pub async fn spawn_server(config: ServerConfig) -> RunningServer {
    match sse_server::start(config).await {
        Ok(server) => server,
        Err(e) => panic!("cannot start the test server: {}", error_chain(&e)),
    }
}

/// All four listeners on `127.0.0.1:0` with [`test_config`].
pub async fn spawn_default_server() -> RunningServer {
    spawn_server(test_config()).await
}

/// An error and its sources, joined by `: `.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// A server on its own multi-thread runtime in its own thread, as if it were another process: a
/// test that floods the server from its own runtime does not starve the server's tasks of a
/// worker, nor the reverse. Derefs to the [`RunningServer`]; dropping it stops the server and
/// joins the thread.
#[derive(Debug)]
pub struct ServerThread {
    server: Option<RunningServer>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ServerThread {
    /// Starts a server with `config` on a runtime of `workers` threads, panicking if it cannot.
    pub fn start(config: ServerConfig, workers: usize) -> ServerThread {
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("test-server".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(workers)
                    .thread_name("test-server-worker")
                    .enable_all()
                    .build()
                    .expect("a runtime for the test server");
                runtime.block_on(async move {
                    let server = spawn_server(config).await;
                    if started_tx.send(server).is_ok() {
                        let _ = stop_rx.await;
                    }
                });
            })
            .expect("a thread for the test server");
        let server = started_rx
            .recv()
            .expect("the server thread starts the server");
        ServerThread {
            server: Some(server),
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }
}

impl std::ops::Deref for ServerThread {
    type Target = RunningServer;

    fn deref(&self) -> &RunningServer {
        self.server
            .as_ref()
            .expect("the server is there until drop")
    }
}

impl Drop for ServerThread {
    fn drop(&mut self) {
        drop(self.server.take());
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
