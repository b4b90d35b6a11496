//! A UDP relay between one client and a server on loopback that a test can cut: from then on it
//! drops every datagram both ways, as a network that went away would, while both ends stay open.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::net::UdpSocket;
use tokio::task::JoinHandle;

/// The relay; dropping it stops it.
#[derive(Debug)]
pub struct UdpRelay {
    addr: SocketAddr,
    cut: Arc<AtomicBool>,
    task: JoinHandle<()>,
}

impl Drop for UdpRelay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl UdpRelay {
    /// Relays datagrams between the client that writes to [`UdpRelay::addr`] and `server`.
    pub async fn start(server: SocketAddr) -> std::io::Result<UdpRelay> {
        let front = UdpSocket::bind("127.0.0.1:0").await?;
        let back = UdpSocket::bind("127.0.0.1:0").await?;
        back.connect(server).await?;
        let addr = front.local_addr()?;
        let cut = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn(relay(front, back, Arc::clone(&cut)));
        Ok(UdpRelay { addr, cut, task })
    }

    /// Where the client sends.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// From now on nothing gets through, either way.
    pub fn cut(&self) {
        self.cut.store(true, Ordering::Relaxed);
    }
}

async fn relay(front: UdpSocket, back: UdpSocket, cut: Arc<AtomicBool>) {
    let mut client = None;
    let (mut up, mut down) = (vec![0u8; 65_536], vec![0u8; 65_536]);
    loop {
        tokio::select! {
            got = front.recv_from(&mut up) => {
                let Ok((n, from)) = got else { return };
                client = Some(from);
                if !cut.load(Ordering::Relaxed) {
                    let _ = back.send(&up[..n]).await;
                }
            }
            got = back.recv(&mut down) => {
                let Ok(n) = got else { return };
                if let (Some(to), false) = (client, cut.load(Ordering::Relaxed)) {
                    let _ = front.send_to(&down[..n], to).await;
                }
            }
        }
    }
}
