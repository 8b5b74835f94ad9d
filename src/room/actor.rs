//! The task that owns one live room: it feeds commands to the state machine and moves what comes out
//! (events to connections, encoded once and shared by every recipient; facts and media changes to
//! its port).

use std::collections::HashMap;

use bytes::Bytes;
use chrono::Utc;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::event::{Answer, Event, Output, RefusalCode};
use super::input::Input;
use super::model::{ConnId, EndReason};
use super::port::RoomPort;
use super::state::Room;

/// What the actor sends a connection.
#[derive(Debug, Clone)]
pub enum Outbound {
    /// What one step of the room had for the connection, in order: one item, so that the
    /// connection writes them together (a knocker's `knock_sent` and `knock_position`, say) and a
    /// slow connection's queue counts steps.
    Frames(Vec<Bytes>),
    /// Close the connection after the frames before this.
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
    /// An input from outside any connection (the REST API), and where its answer goes.
    Ask {
        input: Input,
        reply: oneshot::Sender<Answer>,
    },
    /// Another node owns the room now: everyone goes to it, and nothing is kept from here.
    Lost,
}

pub struct RoomActor<P> {
    room: Room,
    commands: mpsc::Receiver<RoomCommand>,
    conns: HashMap<ConnId, ConnHandle>,
    port: P,
    shutdown: CancellationToken,
    /// The room ended by moving on: its kept state stays for whoever carries it on.
    handed_over: bool,
    /// The frames of the step being moved, by connection (kept to reuse its room).
    pending: HashMap<ConnId, Vec<Bytes>>,
    /// The room's state machine panicked (a bug): its state is not to be trusted any more.
    faulted: bool,
    /// Tests make the next step panic, as a bug in the room would.
    #[cfg(test)]
    fault_next_step: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl<P: RoomPort> RoomActor<P> {
    pub fn new(
        room: Room,
        commands: mpsc::Receiver<RoomCommand>,
        port: P,
        shutdown: CancellationToken,
    ) -> Self {
        RoomActor {
            room,
            commands,
            conns: HashMap::new(),
            port,
            shutdown,
            handed_over: false,
            pending: HashMap::new(),
            faulted: false,
            #[cfg(test)]
            fault_next_step: Default::default(),
        }
    }

    pub async fn run(mut self) {
        let room_name = self.room.config().room_name.clone();
        tracing::debug!(room = %room_name, "room opened");
        // Before any command: joins queued meanwhile see the theme in their `room_joined`.
        match self.port.load_theme().await {
            Ok(theme) => {
                self.step(Input::SetTheme(theme)).await;
            }
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
                    Some(command) => self.on_command(command).await,
                    None => break,
                },
                () = sleep => {
                    self.step(Input::Tick).await;
                }
                () = self.shutdown.cancelled(), if !self.room.is_ended() => {
                    // Carried on after the restart (or by another node), if its state can be kept.
                    if self.port.hand_over(&self.room.snapshot()).await {
                        self.handed_over = true;
                        self.step(Input::HandOver).await;
                    } else {
                        self.step(Input::End(EndReason::ServerShutdown)).await;
                    }
                }
            }
            if self.faulted {
                self.reconnect_everyone();
                break;
            }
            if self.room.is_ended() {
                if !self.handed_over {
                    self.port.facts_written().await;
                }
                self.port.release(self.handed_over);
                // Connections the room never admitted (a full room's refusals) are attached here too.
                self.close_everyone(Event::refused(
                    RefusalCode::RoomEnded,
                    "the room has ended",
                    None,
                ));
                break;
            }
            if self.room.is_idle() && self.conns.is_empty() {
                self.port.facts_written().await;
                let commands = &self.commands;
                if self.port.release_if_idle(&|| commands.is_empty()) {
                    break;
                }
            }
        }
        tracing::debug!(room = %room_name, "room closed");
    }

    async fn on_command(&mut self, command: RoomCommand) {
        match command {
            RoomCommand::Attach {
                conn,
                handle,
                input,
            } => {
                self.conns.insert(conn, handle);
                self.step(input).await;
            }
            RoomCommand::Ask { input, reply } => {
                let answers = self.step(input).await;
                if let Some(answer) = answers.into_iter().next() {
                    // The asker may have given up waiting; the room goes on either way.
                    let _ = reply.send(answer);
                }
            }
            RoomCommand::Lost => {
                tracing::warn!(room = %self.room.config().room_name, "this node no longer owns the room; its connections go to the owner");
                self.handed_over = true;
                self.step(Input::HandOver).await;
            }
            RoomCommand::Input(input) => {
                // After these the session no longer counts itself in this room: forget its handle, or
                // the room would never be idle.
                let gone = match &input {
                    Input::Disconnected { conn } | Input::Leave { conn } => Some(*conn),
                    _ => None,
                };
                self.step(input).await;
                if let Some(conn) = gone {
                    self.conns.remove(&conn);
                }
            }
        }
    }

    /// Runs one input through the room; returns its answers (for inputs from the REST API). Where
    /// the room's state is kept after every change (a cluster), it is kept, with the step's facts,
    /// before anyone hears of the change: a verdict is never heard from a room that would forget
    /// it, nor an event lost, if its node died now. The facts are written meanwhile; whoever
    /// carries the room on records those not yet written again (once each, by their ids).
    async fn step(&mut self, input: Input) -> Vec<Answer> {
        // A verdict's time, from the decision's arrival to its being said (kept first, in a
        // cluster).
        let verdict = matches!(input, Input::HandleKnock { .. }).then(std::time::Instant::now);
        let answers = self.run_step(input).await;
        if let Some(started) = verdict {
            metrics::histogram!("anteroom_verdict_seconds").record(started.elapsed().as_secs_f64());
        }
        answers
    }

    async fn run_step(&mut self, input: Input) -> Vec<Answer> {
        let may_change = input.may_change_state();
        let tick = matches!(input, Input::Tick);
        let mut outputs = self.handle(input);
        // A faulted step's state is half changed: it is neither kept nor said.
        if self.faulted || !self.port.keeps_every_change() {
            return self.move_outputs(outputs);
        }
        // A tick that tells nobody anything and records nothing only let timers run out (a
        // rejected knocker's cooldown, a removed guest's grant): the state kept before it has
        // those timers, and whoever carries the room on from it runs them out on its first tick.
        // Not kept: a rejection's cooldown was one write to Redis in three of a knock.
        if tick && outputs.is_empty() {
            return Vec::new();
        }
        let facts: Vec<_> = outputs
            .extract_if(.., |o| matches!(o, Output::Fact(_)))
            .filter_map(|o| match o {
                Output::Fact(fact) => Some(fact),
                _ => None,
            })
            .collect();
        if !may_change || self.room.is_ended() {
            // Nothing to keep (or nothing left to keep it for): the facts are waited for instead.
            if !facts.is_empty() && !self.port.record_durably(facts).await {
                tracing::error!(room = %self.room.config().room_name, "room facts could not be written; the room goes on");
            }
            return self.move_outputs(outputs);
        }
        if let Err(err) = self.port.keep(&self.room.snapshot(), facts).await {
            let room = self.room.config().room_name.clone();
            tracing::warn!(%room, error = %err, "this node no longer owns the room; its connections go to the owner");
            // What this step decided is not kept: it is not said; everyone reconnects to the room's
            // owner, which carries on from the state it has.
            self.handed_over = true;
            let outputs = self.handle(Input::HandOver);
            return self.move_outputs(outputs);
        }
        self.move_outputs(outputs)
    }

    /// Moves a step's outputs to where they go; returns the answers among them.
    fn move_outputs(&mut self, outputs: Vec<Output>) -> Vec<Answer> {
        let mut answers = Vec::new();
        let mut gone = Vec::new();
        for output in outputs {
            match output {
                Output::Answer(answer) => answers.push(answer),
                other => self.move_output(other, &mut gone),
            }
        }
        self.deliver_pending(&mut gone);
        self.cut_off(gone);
        answers
    }

    /// One input through the room's state machine. A panic there (a bug) is caught: the room's
    /// state may be half changed, so nothing more runs on it (`faulted`, then
    /// `reconnect_everyone`), rather than the task dying with its connections left open and silent.
    fn handle(&mut self, input: Input) -> Vec<Output> {
        if self.faulted {
            return Vec::new();
        }
        let now = Utc::now();
        let port = &self.port;
        let room = &mut self.room;
        #[cfg(test)]
        let fault = self
            .fault_next_step
            .swap(false, std::sync::atomic::Ordering::SeqCst);
        let stepped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            #[cfg(test)]
            if fault {
                panic!("a fault the test injected");
            }
            room.handle(now, input, &|client| port.mint_grant(client, now))
        }));
        stepped.unwrap_or_else(|_| {
            tracing::error!(room = %self.room.config().room_name, "the room's state machine failed (a bug; the panic is logged above); its connections are sent to reconnect, and the room opens again");
            self.faulted = true;
            Vec::new()
        })
    }

    /// After a fault: every connection is told to come back (as when a room moves) and closed, and
    /// the room is forgotten here, its kept state left as it was before the faulted step; the next
    /// join opens the room again from it (`RoomPort::release_after_fault`).
    fn reconnect_everyone(&mut self) {
        let refusal = Event::refused(
            RefusalCode::Restarting,
            "the room hit an internal fault and restarts; reconnect and join again",
            None,
        );
        let frame = self.port.encode(&refusal);
        for handle in self.conns.values() {
            let _ = handle
                .outbox
                .try_send(Outbound::Frames(vec![frame.clone()]));
        }
        self.port.release_after_fault();
        self.close_everyone(refusal);
    }

    /// The room is done here: every attached connection is closed (after what it was already sent),
    /// and commands still queued are answered with `refusal` instead of silence.
    fn close_everyone(&mut self, refusal: Event) {
        for handle in self.conns.values() {
            let _ = handle.outbox.try_send(Outbound::Close);
        }
        self.commands.close();
        let frame = self.port.encode(&refusal);
        while let Ok(command) = self.commands.try_recv() {
            if let RoomCommand::Attach { handle, .. } = command {
                let _ = handle
                    .outbox
                    .try_send(Outbound::Frames(vec![frame.clone()]));
            }
        }
    }

    /// Connections that could not take their events leave the room. Each is forgotten as soon as
    /// it is found slow, so the room's word about one does not count against another, and each is
    /// logged once however many events it missed.
    fn cut_off(&mut self, mut gone: Vec<ConnId>) {
        while !gone.is_empty() {
            tracing::warn!(
                connections = gone.len(),
                first = gone[0],
                "connections cannot keep up with their room; disconnecting them"
            );
            for conn in std::mem::take(&mut gone) {
                for output in self.handle(Input::Disconnected { conn }) {
                    self.move_output(output, &mut gone);
                }
            }
            self.deliver_pending(&mut gone);
        }
    }

    /// Moves one output to where it goes (frames wait in `pending` until the step's end);
    /// connections found slow join `gone`.
    fn move_output(&mut self, output: Output, gone: &mut Vec<ConnId>) {
        let mut slow = Vec::new();
        match output {
            Output::Send { to, event } => {
                let frame = self.port.encode(&event);
                for conn in to {
                    self.pending.entry(conn).or_default().push(frame.clone());
                }
            }
            Output::Close { conn } => {
                if let Some(frames) = self.pending.remove(&conn) {
                    self.deliver(conn, Outbound::Frames(frames), &mut slow);
                }
                self.deliver(conn, Outbound::Close, &mut slow);
                self.conns.remove(&conn);
            }
            Output::Fact(fact) => self.port.record(fact),
            Output::Media(change) => self.port.media(change),
            Output::Measured { client_id, sample } => self.port.measured(client_id, sample),
            Output::Answer(_) => {}
        }
        gone.extend(
            slow.into_iter()
                .filter(|conn| self.conns.remove(conn).is_some()),
        );
    }

    /// Hands each connection the frames the step had for it, as one item; connections found slow
    /// join `gone`.
    fn deliver_pending(&mut self, gone: &mut Vec<ConnId>) {
        let mut slow = Vec::new();
        let mut pending = std::mem::take(&mut self.pending);
        for (conn, frames) in pending.drain() {
            self.deliver(conn, Outbound::Frames(frames), &mut slow);
        }
        // Empty, with its room kept for the next step.
        self.pending = pending;
        gone.extend(
            slow.into_iter()
                .filter(|conn| self.conns.remove(conn).is_some()),
        );
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
}

#[cfg(test)]
#[path = "actor_tests.rs"]
mod tests;
