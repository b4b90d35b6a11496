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

/// All six listeners on `127.0.0.1:0` with [`test_config`].
pub async fn spawn_default_server() -> RunningServer {
    spawn_server(test_config()).await
}

pub use vocab::error_chain;

/// A server on its own multi-thread runtime in its own thread, as if it were another process: a
/// test that floods the server from its own runtime does not starve the server's tasks of a
/// worker, nor the reverse. Derefs to the [`RunningServer`]; dropping it stops the server and
/// joins the thread. (A panicking wrapper of [`sse_server::DedicatedServer`] for tests.)
#[derive(Debug)]
pub struct ServerThread(sse_server::DedicatedServer);

impl ServerThread {
    /// Starts a server with `config` on a runtime of `workers` threads, panicking if it cannot.
    pub fn start(config: ServerConfig, workers: usize) -> ServerThread {
        match sse_server::DedicatedServer::start(config, workers) {
            Ok(server) => ServerThread(server),
            Err(e) => panic!("cannot start the test server: {}", error_chain(&e)),
        }
    }
}

impl std::ops::Deref for ServerThread {
    type Target = RunningServer;

    fn deref(&self) -> &RunningServer {
        &self.0
    }
}
