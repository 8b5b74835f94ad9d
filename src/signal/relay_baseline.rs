//! The benchmarks' baseline for signalling: a bare WebSocket relay on the same server, with the same
//! socket settings and no room engine. A client's first frame names a channel; every later frame is
//! forwarded to the other clients of that channel. Served only with `--bench-routes`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::WebSocketUpgrade;
use axum::extract::ws::{Message, Utf8Bytes};
use axum::response::Response;
use tokio::sync::mpsc;

type Channels = Arc<Mutex<HashMap<String, Vec<(u64, mpsc::Sender<Utf8Bytes>)>>>>;

pub fn handler() -> impl Fn(WebSocketUpgrade) -> std::future::Ready<Response> + Clone {
    let channels: Channels = Arc::default();
    let next = Arc::new(std::sync::atomic::AtomicU64::new(1));
    move |ws: WebSocketUpgrade| {
        let channels = channels.clone();
        let id = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        std::future::ready(
            ws.read_buffer_size(4096)
                .write_buffer_size(0)
                .max_message_size(super::MAX_FRAME_BYTES)
                .on_upgrade(move |socket| relay(socket, channels, id)),
        )
    }
}

async fn relay(mut socket: axum::extract::ws::WebSocket, channels: Channels, id: u64) {
    let Some(Ok(Message::Text(channel))) = socket.recv().await else {
        return;
    };
    let channel = channel.to_string();
    let (tx, mut rx) = mpsc::channel::<Utf8Bytes>(256);
    channels
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .entry(channel.clone())
        .or_default()
        .push((id, tx));
    loop {
        tokio::select! {
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    let peers: Vec<mpsc::Sender<Utf8Bytes>> = channels
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .get(&channel)
                        .map(|members| members.iter().filter(|(m, _)| *m != id).map(|(_, tx)| tx.clone()).collect())
                        .unwrap_or_default();
                    for peer in peers {
                        let _ = peer.try_send(text.clone());
                    }
                }
                Some(Ok(_)) => {}
                _ => break,
            },
            Some(text) = rx.recv() => {
                if socket.send(Message::Text(text)).await.is_err() {
                    break;
                }
            }
        }
    }
    if let Some(members) = channels
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get_mut(&channel)
    {
        members.retain(|(m, _)| *m != id);
    }
}
