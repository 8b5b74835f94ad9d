//! A signalling client for tests: real WebSockets to the real server.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::helpers::Server;

pub const WAIT: Duration = Duration::from_secs(5);

pub struct Ws {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// Frames read while waiting for another type, kept in order for later `recv`s.
    pending: std::collections::VecDeque<Value>,
}

/// How a connection ended, as the client saw it.
#[derive(Debug, PartialEq)]
pub enum Closed {
    Frame(u16),
    Abruptly,
}

impl Ws {
    pub async fn connect(server: &Server) -> Ws {
        Ws::connect_as(server, "anteroom-tests/1.0").await
    }

    /// Connects from a chosen loopback address (127.0.0.2 and up are this machine too), with an
    /// `Origin` header when given; the refusal's HTTP status when the server will not upgrade.
    pub async fn connect_from(
        server: &Server,
        source: std::net::IpAddr,
        origin: Option<&str>,
    ) -> Result<Ws, u16> {
        let headers: Vec<(&str, &str)> = origin.map(|o| ("origin", o)).into_iter().collect();
        Ws::connect_to(server.addr, source, &headers).await
    }

    /// Connects to `target` (the server, or a proxy in front of it) from `source`, with these
    /// extra request headers.
    pub async fn connect_to(
        target: std::net::SocketAddr,
        source: std::net::IpAddr,
        headers: &[(&str, &str)],
    ) -> Result<Ws, u16> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        use tokio_tungstenite::tungstenite::http::HeaderName;
        let mut request = format!("ws://{target}/v1/signal")
            .into_client_request()
            .unwrap();
        for (name, value) in headers {
            request.headers_mut().append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(std::net::SocketAddr::new(source, 0)).unwrap();
        let tcp = socket.connect(target).await.unwrap();
        let stream = MaybeTlsStream::Plain(tcp);
        match tokio_tungstenite::client_async(request, stream).await {
            Ok((stream, _)) => {
                let mut ws = Ws {
                    stream,
                    pending: Default::default(),
                };
                // A session starts with `hello`; a refusal (a page of another origin) with its
                // error, kept for the caller to read.
                let first = ws.recv().await;
                match first["type"].as_str() {
                    Some("hello") => {}
                    Some("error") => ws.pending.push_back(first),
                    _ => {
                        panic!("a session starts with hello, or a refusal with its error: {first}")
                    }
                }
                Ok(ws)
            }
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                Err(response.status().as_u16())
            }
            Err(err) => panic!("the WebSocket handshake failed: {err}"),
        }
    }

    /// The next frame, whatever it is (a close included), within `wait`.
    pub async fn next_message(&mut self, wait: Duration) -> Option<Message> {
        tokio::time::timeout(wait, self.stream.next())
            .await
            .ok()
            .flatten()
            .and_then(Result::ok)
    }

    /// Connects with this User-Agent (the server records it for insights).
    pub async fn connect_as(server: &Server, user_agent: &str) -> Ws {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut request = server
            .url("/v1/signal")
            .replacen("http", "ws", 1)
            .into_client_request()
            .unwrap();
        request
            .headers_mut()
            .insert("user-agent", user_agent.parse().unwrap());
        let (stream, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("WebSocket connects");
        let mut ws = Ws {
            stream,
            pending: Default::default(),
        };
        let hello = ws.recv().await;
        assert_eq!(hello["type"], "hello");
        ws
    }

    pub async fn send(&mut self, kind: &str, payload: Value) {
        self.send_raw(&json!({"type": kind, "payload": payload}).to_string())
            .await;
    }

    pub async fn send_raw(&mut self, text: &str) {
        self.stream
            .send(Message::text(text))
            .await
            .expect("frame sent");
    }

    pub async fn send_message(&mut self, message: Message) -> Result<(), String> {
        self.stream.send(message).await.map_err(|e| e.to_string())
    }

    /// The next text frame off the socket (pings aside), or None after `wait`.
    async fn read_socket(&mut self, wait: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let next = tokio::time::timeout_at(deadline, self.stream.next())
                .await
                .ok()?;
            match next {
                Some(Ok(Message::Text(text))) => {
                    return Some(serde_json::from_str(&text).expect("server frames are JSON"));
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                other => panic!("connection ended while a frame was expected: {other:?}"),
            }
        }
    }

    /// The next frame of any type within `wait`, if one comes.
    pub async fn next_frame(&mut self, wait: Duration) -> Option<Value> {
        match self.pending.pop_front() {
            Some(frame) => Some(frame),
            None => self.read_socket(wait).await,
        }
    }

    /// The next frame if one comes within `wait`.
    pub async fn try_recv(&mut self, wait: Duration) -> Option<Value> {
        self.next_frame(wait).await
    }

    /// The next frame; fails after 5 s.
    pub async fn recv(&mut self) -> Value {
        self.next_frame(WAIT).await.expect("a frame within 5 s")
    }

    /// Waits for a frame of this type and returns its payload, keeping other frames for later.
    pub async fn recv_type(&mut self, kind: &str) -> Value {
        if let Some(i) = self.pending.iter().position(|f| f["type"] == kind) {
            return self.pending.remove(i).expect("index is in range")["payload"].clone();
        }
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.read_socket(left).await {
                Some(frame) if frame["type"] == kind => return frame["payload"].clone(),
                Some(frame) => self.pending.push_back(frame),
                None => panic!("no {kind} within 5 s; got {:#?}", self.pending),
            }
        }
    }

    /// Asserts nothing arrives for a while (pings aside).
    pub async fn expect_silence(&mut self, millis: u64) {
        if let Some(frame) = self.next_frame(Duration::from_millis(millis)).await {
            panic!("expected silence, got {frame}");
        }
    }

    /// Waits for the server to close the connection.
    pub async fn closed(&mut self) -> Closed {
        loop {
            match tokio::time::timeout(WAIT, self.stream.next())
                .await
                .expect("closed within 5 s")
            {
                Some(Ok(Message::Close(Some(frame)))) => return Closed::Frame(frame.code.into()),
                Some(Ok(Message::Close(None))) | None | Some(Err(_)) => return Closed::Abruptly,
                Some(Ok(_)) => continue,
            }
        }
    }

    /// Sends `join_room` and returns the `room_joined` payload.
    pub async fn join(&mut self, room: &str, key: Option<&str>, name: &str) -> Value {
        let mut payload = json!({"roomName": room, "displayName": name});
        if let Some(key) = key {
            payload["roomKey"] = json!(key);
        }
        self.send("join_room", payload).await;
        self.recv_type("room_joined").await
    }

    pub async fn error(&mut self) -> Value {
        self.recv_type("error").await
    }
}
