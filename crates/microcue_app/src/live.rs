//! One live session: the WebSocket, a bounded queue, and a worker thread running the pipeline
//! and the coach.
//!
//! The socket task only reads, checks and queues: a frame goes into a queue of
//! [`QUEUE_FRAMES`] with `try_send`, and when the worker is still busy with the frames before it
//! the frame is dropped and counted (the page shows the count). Control messages (context,
//! "I responded") wait for room instead: they are never dropped. The worker decodes the pixels
//! into one reused [`Frame`], runs the session's [`FrameAnalyzer`], feeds the [`LiveCoach`] and
//! sends JSON back. Nothing here writes a frame anywhere.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use microcue_core::{FaceSignals, TrackId};
use microcue_vision::Frame;
use microcue_vision::analysis::{AnalysisOptions, FrameAnalyzer};
use tokio::sync::mpsc;

use crate::AppState;
use crate::coach::{LiveCoach, OutcomeCall};
use crate::frames::decode_into;
use crate::journal::JournalStore;
use crate::protocol::{
    BaselineStatus, ClientMessage, FaceBox, FrameCounts, MAX_MESSAGE_BYTES, MAX_TEXT_BYTES,
    MirrorView, OutcomeView, ServerMessage, parse_frame,
};
use microcue_train::mirror::{MirrorPrompt, score_mirror};

/// Frames waiting for the worker at most (one being analysed, one or two waiting).
pub const QUEUE_FRAMES: usize = 2;
/// Most frames per second accepted from a page (a 60 fps camera and some jitter).
const MAX_FRAMES_PER_S: f64 = 75.0;
/// Most control messages per second accepted from a page.
const MAX_CONTROL_PER_S: f64 = 10.0;
/// Messages waiting to go to the page at most.
const OUTGOING_MESSAGES: usize = 64;
/// Tries (100 ms apart) to take the live slot from a session that is ending.
const RELOAD_WAIT_STEPS: u32 = 30;
/// A page that has not said `start` by then is disconnected.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a mirror-drill attempt may last, seconds.
const MIRROR_WINDOW_S: std::ops::RangeInclusive<f64> = 1.0..=15.0;
/// Seconds of video after a mirror attempt's window before it is scored: the spotter ends an
/// event at its offset or a little later, when it must rule out an overlapping movement.
const MIRROR_SETTLE_S: f64 = 1.5;

/// A mirror-drill attempt in progress: the prompt, its window, the events seen in it.
struct MirrorAttempt {
    prompt: MirrorPrompt,
    start_s: f64,
    end_s: f64,
    events: Vec<microcue_core::Event>,
}

/// The settings of a live session's analysis, with the page's sensitivity (checked by
/// `wait_for_start`).
fn live_analysis_options(sensitivity: Option<f32>) -> AnalysisOptions {
    let mut options = AnalysisOptions {
        region_motion: true,
        ..AnalysisOptions::default()
    };
    if let Some(sensitivity) = sensitivity {
        options.spotter.sensitivity = sensitivity;
    }
    options
}

/// Counters shared by the socket task and the worker.
#[derive(Debug, Default)]
struct Counters {
    received: AtomicU64,
    analysed: AtomicU64,
    dropped_busy: AtomicU64,
    dropped_rate: AtomicU64,
    refused: AtomicU64,
}

impl Counters {
    fn snapshot(&self) -> FrameCounts {
        FrameCounts {
            received: self.received.load(Ordering::Relaxed),
            analysed: self.analysed.load(Ordering::Relaxed),
            dropped_busy: self.dropped_busy.load(Ordering::Relaxed),
            dropped_rate: self.dropped_rate.load(Ordering::Relaxed),
            refused: self.refused.load(Ordering::Relaxed),
        }
    }
}

/// What the socket task hands to the worker.
enum Input {
    Frame {
        message: axum::body::Bytes,
        received: Instant,
    },
    Control(ClientMessage),
}

/// A token bucket: `rate` per second, bursts of one second's worth.
struct RateLimit {
    rate: f64,
    tokens: f64,
    last: Instant,
}

impl RateLimit {
    fn new(rate: f64) -> Self {
        RateLimit {
            rate,
            tokens: rate,
            last: Instant::now(),
        }
    }

    fn allow(&mut self) -> bool {
        let now = Instant::now();
        self.tokens = (self.tokens + (now - self.last).as_secs_f64() * self.rate).min(self.rate);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Frees the one live slot when the worker ends.
struct LiveSlot(Arc<AtomicBool>);

impl Drop for LiveSlot {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// `GET /ws/live`: the live socket (Host, Origin and token were checked by the middleware).
pub async fn upgrade(State(state): State<AppState>, upgrade: WebSocketUpgrade) -> Response {
    upgrade
        .max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| session(socket, state))
}

fn json(message: &ServerMessage) -> Message {
    // Serialising our own message types cannot fail (no maps with non-string keys).
    Message::Text(serde_json::to_string(message).unwrap_or_default().into())
}

fn error(message: impl Into<String>) -> Message {
    json(&ServerMessage::Error {
        message: message.into(),
    })
}

/// Runs one socket from `start` to close.
async fn session(mut socket: WebSocket, state: AppState) {
    let started = tokio::time::timeout(START_TIMEOUT, wait_for_start(&mut socket)).await;
    let Ok(Some(sensitivity)) = started else {
        return;
    };
    if !claim_live_slot(&state.live_busy).await {
        let _ = socket
            .send(error(
                "a live session is already running (in another tab?): close it first",
            ))
            .await;
        return;
    }
    let slot = LiveSlot(state.live_busy.clone());
    let analyzer = match state.pipeline.session(&live_analysis_options(sensitivity)) {
        Ok(analyzer) => analyzer,
        Err(failure) => {
            let _ = socket
                .send(error(format!("cannot start the face analysis: {failure}")))
                .await;
            return;
        }
    };
    let counters = Arc::new(Counters::default());
    let (inputs, worker_inputs) = mpsc::channel::<Input>(QUEUE_FRAMES);
    let (worker_outputs, mut outputs) = mpsc::channel::<ServerMessage>(OUTGOING_MESSAGES);
    let worker = Worker {
        analyzer,
        coach: LiveCoach::new(),
        journal: state.journal.clone(),
        counters: counters.clone(),
        outputs: worker_outputs,
        frame: Frame::default(),
        events: Vec::new(),
        last_pts_s: f64::NEG_INFINITY,
        face_since: None,
        mirror: None,
        mirror_prompts: 0,
    };
    let spawned = std::thread::Builder::new()
        .name("microcue-live".into())
        .spawn(move || {
            let _slot = slot;
            worker.run(worker_inputs);
        });
    if spawned.is_err() {
        let _ = socket.send(error("cannot start the analysis thread")).await;
        return;
    }
    let ready = ServerMessage::Ready {
        pipeline: &microcue_core::lexicon::PIPELINE,
        two_cue_rule: microcue_core::lexicon::TWO_CUE_RULE,
        observe_window_s: [
            microcue_core::coach::OBSERVE_EARLIEST_S,
            microcue_core::coach::OBSERVE_FINAL_S,
        ],
    };
    if socket.send(json(&ready)).await.is_err() {
        return;
    }
    let mut frame_rate = RateLimit::new(MAX_FRAMES_PER_S);
    let mut control_rate = RateLimit::new(MAX_CONTROL_PER_S);
    loop {
        tokio::select! {
            incoming = socket.recv() => {
                let Some(Ok(message)) = incoming else { break };
                let reply = match message {
                    Message::Binary(bytes) => {
                        take_frame(bytes, &inputs, &counters, &mut frame_rate)
                    }
                    Message::Text(text) => {
                        take_control(text.as_str(), &inputs, &mut control_rate).await
                    }
                    Message::Close(_) => break,
                    Message::Ping(_) | Message::Pong(_) => None,
                };
                if let Some(reply) = reply
                    && socket.send(error(reply)).await.is_err()
                {
                    break;
                }
            }
            outgoing = outputs.recv() => {
                let Some(message) = outgoing else { break };
                if socket.send(json(&message)).await.is_err() {
                    break;
                }
            }
        }
    }
    // Dropping `inputs` ends the worker, which frees the live slot.
}

/// Takes the one live slot, waiting a little for a session that is ending (a reloaded page).
async fn claim_live_slot(busy: &AtomicBool) -> bool {
    for _ in 0..RELOAD_WAIT_STEPS {
        if busy
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// Waits for `{"type":"start","consent":...}` and returns its sensitivity (`None` when the
/// socket ends first); refuses anything else with a reason.
async fn wait_for_start(socket: &mut WebSocket) -> Option<Option<f32>> {
    while let Some(Ok(message)) = socket.recv().await {
        let reply = match message {
            Message::Text(text) => match serde_json::from_str::<ClientMessage>(text.as_str()) {
                Ok(ClientMessage::Start {
                    sensitivity: Some(s),
                    ..
                }) if !(0.0..=1.0).contains(&s) => {
                    format!("sensitivity {s} is outside 0..1 (0.5 is the default)")
                }
                Ok(ClientMessage::Start { sensitivity, .. }) => return Some(sensitivity),
                Ok(_) => "send {\"type\":\"start\",\"consent\":\"self\"|\"given\"} first: \
                          the camera is analysed only after the consent choice"
                    .to_owned(),
                Err(problem) => format!("not a valid message: {problem}"),
            },
            Message::Binary(_) => "frames are analysed only after the consent choice \
                                   ({\"type\":\"start\",\"consent\":...})"
                .to_owned(),
            Message::Close(_) => return None,
            Message::Ping(_) | Message::Pong(_) => continue,
        };
        if socket.send(error(reply)).await.is_err() {
            return None;
        }
    }
    None
}

/// Checks and queues one frame message; returns an error reply for the page, if any.
fn take_frame(
    message: axum::body::Bytes,
    inputs: &mpsc::Sender<Input>,
    counters: &Counters,
    rate: &mut RateLimit,
) -> Option<String> {
    counters.received.fetch_add(1, Ordering::Relaxed);
    if !rate.allow() {
        let dropped = counters.dropped_rate.fetch_add(1, Ordering::Relaxed);
        // One reply per burst, not one per frame.
        return dropped.is_multiple_of(30).then(|| {
            format!("too many frames: at most {MAX_FRAMES_PER_S} per second are accepted")
        });
    }
    if let Err(problem) = parse_frame(&message) {
        counters.refused.fetch_add(1, Ordering::Relaxed);
        return Some(format!("frame refused: {problem}"));
    }
    let input = Input::Frame {
        message,
        received: Instant::now(),
    };
    match inputs.try_send(input) {
        Ok(()) => None,
        Err(mpsc::error::TrySendError::Full(_)) => {
            counters.dropped_busy.fetch_add(1, Ordering::Relaxed);
            None
        }
        Err(mpsc::error::TrySendError::Closed(_)) => {
            Some("the analysis stopped; reload the page".to_owned())
        }
    }
}

/// Checks and queues one JSON message; returns an error reply for the page, if any.
async fn take_control(
    text: &str,
    inputs: &mpsc::Sender<Input>,
    rate: &mut RateLimit,
) -> Option<String> {
    if text.len() > MAX_TEXT_BYTES {
        return Some(format!(
            "message too long ({} bytes; at most {MAX_TEXT_BYTES})",
            text.len()
        ));
    }
    if !rate.allow() {
        return Some(format!(
            "too many messages: at most {MAX_CONTROL_PER_S} per second"
        ));
    }
    let message = match serde_json::from_str::<ClientMessage>(text) {
        Ok(message) => message,
        Err(problem) => return Some(format!("not a valid message: {problem}")),
    };
    let at_ms = match &message {
        ClientMessage::Start { .. } => return Some("the session has started already".to_owned()),
        ClientMessage::Mirror { cue, .. } if !cue.is_supported() => {
            return Some(format!(
                "{cue} cannot be seen in ordinary video: choose another cue"
            ));
        }
        ClientMessage::Mirror { window_s, .. } if !MIRROR_WINDOW_S.contains(window_s) => {
            return Some(format!(
                "window_s must be {}..={} seconds",
                MIRROR_WINDOW_S.start(),
                MIRROR_WINDOW_S.end()
            ));
        }
        ClientMessage::Context { at_ms, .. }
        | ClientMessage::Responded { at_ms }
        | ClientMessage::Mirror { at_ms, .. } => *at_ms,
    };
    if !(at_ms.is_finite() && at_ms >= 0.0) {
        return Some("at_ms must be a finite, non-negative number of milliseconds".to_owned());
    }
    match inputs.send(Input::Control(message)).await {
        Ok(()) => None,
        Err(_) => Some("the analysis stopped; reload the page".to_owned()),
    }
}

/// The worker thread's state: one session of the pipeline and its coach.
struct Worker {
    analyzer: FrameAnalyzer,
    coach: LiveCoach,
    journal: Arc<JournalStore>,
    counters: Arc<Counters>,
    outputs: mpsc::Sender<ServerMessage>,
    frame: Frame,
    events: Vec<microcue_core::Event>,
    last_pts_s: f64,
    /// The track whose baseline warms up, and the capture time of its first frame.
    face_since: Option<(TrackId, f64)>,
    /// The mirror-drill attempt being watched, if any.
    mirror: Option<MirrorAttempt>,
    /// Mirror attempts so far (their prompt ids).
    mirror_prompts: u32,
}

impl Worker {
    fn run(mut self, mut inputs: mpsc::Receiver<Input>) {
        while let Some(input) = inputs.blocking_recv() {
            let keep_going = match input {
                Input::Frame { message, received } => self.frame(&message, received),
                Input::Control(message) => self.control(message),
            };
            if !keep_going {
                break;
            }
        }
    }

    /// Sends to the page; false once the page is gone.
    fn send(&self, message: ServerMessage) -> bool {
        self.outputs.blocking_send(message).is_ok()
    }

    fn refuse(&self, message: String) -> bool {
        self.counters.refused.fetch_add(1, Ordering::Relaxed);
        self.send(ServerMessage::Error { message })
    }

    fn frame(&mut self, message: &[u8], received: Instant) -> bool {
        let Ok((header, pixels)) = parse_frame(message) else {
            return true; // checked by the socket task
        };
        let now_s = header.capture_ms / 1000.0;
        if now_s <= self.last_pts_s {
            return self.refuse(format!(
                "frame refused: its capture time {:.1} ms is not later than the previous frame's",
                header.capture_ms
            ));
        }
        let index = self.counters.analysed.load(Ordering::Relaxed);
        if let Err(problem) = decode_into(&header, pixels, index, &mut self.frame) {
            return self.refuse(format!("frame refused: {problem}"));
        }
        self.last_pts_s = now_s;
        if let Err(failure) = self.analyzer.process(&self.frame, &mut self.events) {
            return self.send(ServerMessage::Error {
                message: format!("face analysis failed on this frame: {failure}"),
            });
        }
        let faces = self.analyzer.faces();
        self.counters.analysed.fetch_add(1, Ordering::Relaxed);
        let boxes = faces
            .iter()
            .filter_map(|face| face_box(face, self.frame.width, self.frame.height))
            .collect();
        let baseline = faces.first().map(|face| {
            let since_s = match self.face_since {
                Some((track, since_s)) if track == face.track => since_s,
                _ => {
                    self.face_since = Some((face.track, face.pts_s));
                    face.pts_s
                }
            };
            let config = &self.analyzer.spotter().config().baseline;
            BaselineStatus {
                ready: self
                    .analyzer
                    .spotter()
                    .baseline_ready(face.track)
                    .unwrap_or(false),
                face_s: face.pts_s - since_s,
                needed_s: config.warmup_s + config.commit_delay_s,
            }
        });
        // The coach sees the events before it is asked for an outcome.
        let mut cues = Vec::with_capacity(self.events.len());
        if let Some(attempt) = self.mirror.as_mut() {
            let (start_s, end_s) = (attempt.start_s, attempt.end_s);
            attempt.events.extend(
                self.events
                    .iter()
                    .filter(|e| e.offset_s >= start_s && e.onset_s <= end_s)
                    .cloned(),
            );
        }
        for event in self.events.drain(..) {
            let update = self.coach.on_event(&event, now_s);
            cues.push(ServerMessage::Cue {
                cue: Box::new(update.cue),
                suggestion: Box::new(update.suggestion),
                hypothesis: Box::new(update.hypothesis),
            });
        }
        let call = self.coach.on_frame(faces, now_s);
        let counts = self.counters.snapshot();
        let report = ServerMessage::Frame {
            capture_ms: header.capture_ms,
            faces: boxes,
            baseline,
            counts,
            server_ms: received.elapsed().as_secs_f64() * 1e3,
        };
        if !self.send(report) {
            return false;
        }
        for cue in cues {
            if !self.send(cue) {
                return false;
            }
        }
        let mirror_done = self
            .mirror
            .as_ref()
            .is_some_and(|attempt| now_s > attempt.end_s + MIRROR_SETTLE_S);
        if mirror_done
            && let Some(attempt) = self.mirror.take()
            && !self.finish_mirror(attempt)
        {
            return false;
        }
        match call {
            Some(call) => self.log_outcome(call),
            None => true,
        }
    }

    /// Scores a finished mirror attempt with the drill's own scorer, writes it to the journal
    /// as the record `microcue drill record --kind mirror` writes, and tells the page.
    fn finish_mirror(&self, attempt: MirrorAttempt) -> bool {
        let score = score_mirror(
            &attempt.prompt,
            attempt.start_s,
            attempt.end_s,
            &attempt.events,
        );
        let today = self.journal.today();
        let session = format!("mirror-web-{today}");
        let record = score.record(today, Some(session.as_str()));
        let (journal_uid, journal_error) =
            match self.journal.write(|journal| journal.add_trial(&record)) {
                Ok(uid) => (Some(uid), None),
                Err(failure) => (None, Some(failure.to_string())),
            };
        let requested = attempt.prompt.cue;
        self.send(ServerMessage::Mirror {
            mirror: Box::new(MirrorView {
                requested,
                name: microcue_core::lexicon::entry(requested).name,
                window_s: [attempt.start_s, attempt.end_s],
                score,
                journal_uid,
                journal_error,
            }),
        })
    }

    fn control(&mut self, message: ClientMessage) -> bool {
        match message {
            ClientMessage::Start { .. } => true,
            ClientMessage::Context { kind, at_ms } => {
                let hypothesis = self.coach.on_context(kind, at_ms / 1000.0, self.last_pts_s);
                self.send(ServerMessage::Hypothesis {
                    hypothesis: Box::new(hypothesis),
                })
            }
            ClientMessage::Responded { at_ms } => match self.coach.on_responded(at_ms / 1000.0) {
                Ok((cue, responded_at_s)) => self.send(ServerMessage::Watching {
                    cue,
                    responded_at_s,
                }),
                Err(problem) => self.send(ServerMessage::Error {
                    message: format!("not watching: {problem}"),
                }),
            },
            ClientMessage::Mirror {
                cue,
                at_ms,
                window_s,
            } => {
                self.mirror_prompts += 1;
                let start_s = at_ms / 1000.0;
                let end_s = start_s + window_s;
                // A new attempt replaces one still running (the user pressed Go again).
                self.mirror = Some(MirrorAttempt {
                    prompt: MirrorPrompt::for_cue(self.mirror_prompts, cue),
                    start_s,
                    end_s,
                    events: Vec::new(),
                });
                self.send(ServerMessage::MirrorStarted {
                    cue,
                    window_s: [start_s, end_s],
                })
            }
        }
    }

    /// Writes the outcome to the journal (as `microcue log add` would) and tells the page.
    fn log_outcome(&self, call: OutcomeCall) -> bool {
        let entry = call.journal_entry(self.journal.today());
        let (journal_uid, journal_error) = match self.journal.add_log_entry(&entry) {
            Ok(uid) => (Some(uid), None),
            Err(failure) => (None, Some(failure.to_string())),
        };
        self.send(ServerMessage::Outcome {
            outcome: Box::new(OutcomeView {
                outcome: call.decision.outcome,
                journal_outcome: crate::coach::journal_outcome(call.decision.outcome),
                sign: call.decision.sign,
                after_s: call.after_s(),
                cue: call.cue.cue,
                journal_uid,
                journal_error,
            }),
        })
    }
}

/// The face's box from its landmarks, as fractions of the frame.
fn face_box(face: &FaceSignals, width: u32, height: u32) -> Option<FaceBox> {
    crate::frames::face_rect(&face.landmarks_in_image, width, height).map(|rect| FaceBox {
        rect,
        presence: face.presence,
    })
}
