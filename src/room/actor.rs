//! The task that owns one live room: it feeds commands to the state machine and moves what comes out
//! to connections (serialised once per event, shared by every recipient) and facts to the recorder.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::ws::Utf8Bytes;
use chrono::Utc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::facts::RoomFact;
use super::registry::RoomRegistry;
use super::state::{ConnId, Input, Output, Room};
use crate::signal::protocol::{ClientId, EndReason, ErrorCode, ServerEvent};

/// What the actor sends a connection's session.
#[derive(Debug, Clone)]
pub enum Outbound {
    Frame(Utf8Bytes),
    /// Close the socket after the frames before this.
    Close,
}

/// A connection as the actor reaches it: a bounded queue, and a switch to cut it off when the queue
/// is full (a client that cannot keep up is disconnected rather than buffered without limit).
#[derive(Debug, Clone)]
pub struct ConnHandle {
    pub outbox: mpsc::Sender<Outbound>,
    pub cut_off: CancellationToken,
}

#[derive(Debug)]
pub enum RoomCommand {
    /// The connection's first message to this room: from now on the actor can reach it.
    Attach {
        conn: ConnId,
        handle: ConnHandle,
        input: Input,
    },
    Input(Input),
}

pub struct RoomActor {
    pub room: Room,
    pub commands: mpsc::Receiver<RoomCommand>,
    pub conns: HashMap<ConnId, ConnHandle>,
    pub registry: Arc<RoomRegistry>,
    /// Tells the registry entry apart from a newer actor of the same room.
    pub generation: u64,
    pub facts: mpsc::UnboundedSender<RoomFact>,
    pub shutdown: CancellationToken,
}

impl RoomActor {
    pub async fn run(mut self) {
        let room_name = self.room.config().room_name.clone();
        tracing::debug!(room = %room_name, "room opened");
        // Before any command: joins queued meanwhile see the theme in their `room_joined`.
        match self.registry.load_theme(&room_name).await {
            Ok(theme) => self.step(Input::SetTheme(theme)),
            Err(err) => {
                tracing::error!(error = %err, room = %room_name, "cannot load the room's theme")
            }
        }
        loop {
            let deadline = self.room.next_deadline();
            let sleep = async {
                match deadline {
                    Some(at) => {
                        let wait = (at - Utc::now()).to_std().unwrap_or_default();
                        tokio::time::sleep(wait).await;
                    }
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                command = self.commands.recv() => match command {
                    Some(command) => self.on_command(command),
                    None => break,
                },
                () = sleep => self.step(Input::Tick),
                () = self.shutdown.cancelled(), if !self.room.is_ended() => {
                    self.step(Input::End(EndReason::ServerShutdown));
                }
            }
            if self.room.is_ended() {
                self.registry.remove_if_current(&room_name, self.generation);
                // Connections the room never admitted (a full room's refusals) are attached here too.
                for handle in self.conns.values() {
                    let _ = handle.outbox.try_send(Outbound::Close);
                }
                self.refuse_queued();
                break;
            }
            if self.room.is_idle()
                && self.conns.is_empty()
                && self
                    .registry
                    .remove_if_idle(&room_name, self.generation, &self.commands)
            {
                break;
            }
        }
        tracing::debug!(room = %room_name, "room closed");
    }

    fn on_command(&mut self, command: RoomCommand) {
        match command {
            RoomCommand::Attach {
                conn,
                handle,
                input,
            } => {
                self.conns.insert(conn, handle);
                self.step(input);
            }
            RoomCommand::Input(input) => {
                // After these the session no longer counts itself in this room: forget its handle, or
                // the room would never be idle.
                let gone = match &input {
                    Input::Disconnected { conn } | Input::Leave { conn } => Some(*conn),
                    _ => None,
                };
                self.step(input);
                if let Some(conn) = gone {
                    self.conns.remove(&conn);
                }
            }
        }
    }

    fn step(&mut self, input: Input) {
        let config = self.room.config();
        let (meeting_id, room_name) = (config.meeting_id, config.room_name.clone());
        let tokens = &self.registry.tokens;
        let grant_validity = config.grant_validity;
        let now = Utc::now();
        let mint = |client: &ClientId| {
            tokens.grant(meeting_id, &room_name, client.as_str(), now, grant_validity)
        };
        let outputs = self.room.handle(now, input, &mint);
        let mut slow = Vec::new();
        for output in outputs {
            match output {
                Output::Send { to, event } => {
                    let frame = Utf8Bytes::from(event.to_json());
                    for conn in to {
                        self.deliver(conn, Outbound::Frame(frame.clone()), &mut slow);
                    }
                }
                Output::Close { conn } => {
                    self.deliver(conn, Outbound::Close, &mut slow);
                    self.conns.remove(&conn);
                }
                Output::Fact(fact) => {
                    // The recorder lives as long as the server; if it is gone we are shutting down.
                    let _ = self.facts.send(fact);
                }
            }
        }
        for conn in slow {
            tracing::warn!(
                conn,
                "connection cannot keep up with its room; disconnecting it"
            );
            self.conns.remove(&conn);
            self.step(Input::Disconnected { conn });
        }
    }

    fn deliver(&mut self, conn: ConnId, message: Outbound, slow: &mut Vec<ConnId>) {
        let Some(handle) = self.conns.get(&conn) else {
            return;
        };
        if handle.outbox.try_send(message).is_err() {
            handle.cut_off.cancel();
            slow.push(conn);
        }
    }

    /// Commands that raced with the room's end get a clear answer instead of silence.
    fn refuse_queued(&mut self) {
        self.commands.close();
        while let Ok(command) = self.commands.try_recv() {
            if let RoomCommand::Attach { handle, .. } = command {
                let error = ServerEvent::error(ErrorCode::RoomNotFound, "the room has ended", None);
                let _ = handle
                    .outbox
                    .try_send(Outbound::Frame(Utf8Bytes::from(error.to_json())));
            }
        }
    }
}
