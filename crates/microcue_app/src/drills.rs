//! The Drills page: the flash test (METT style) in the browser, on the drill engine of
//! `microcue drill flash` (`microcue_train::flash`: pre-test, learn cards, practice with
//! feedback, post-test; the exposure staircase; catch trials) and its stimuli (the bundled real
//! face warped by `render::WarpRenderer`, the expression held at its apex).
//!
//! The server renders each trial's two pictures (neutral face, face at the apex) as JPEG; the
//! page decodes both before the trial, then times the flash in display frames with
//! `requestAnimationFrame`: the apex picture is drawn on one frame and the neutral face back
//! on the frame the requested exposure ends, and the time between those two frames is the
//! exposure achieved. That measured time is what the journal stores as the trial's exposure,
//! as the terminal drill stores the time its flash was on screen; the page shows it with the
//! requested one.

use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use microcue_core::CueId;
use microcue_core::lexicon;
use microcue_train::flash::{FlashConfig, FlashDrill, FlashStep, FlashTrial};
use microcue_train::{DrillKind, StimulusRenderer, TrialRecord};
use microcue_vision::source::Mp4Source;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::AppState;
use crate::pages::shell;
use crate::render::{
    BUNDLED_CLIP, BUNDLED_CLIP_NAME, DRILL_INTENSITY, FlashShape, NeutralFace, RenderSettings,
    WarpRenderer,
};

/// The cues of a browser session: one per face region (brows, nose, mouth), as the terminal
/// drill's quick session.
const CUES: [CueId; 3] = [CueId::EyebrowFlash, CueId::NoseWrinkle, CueId::GenuineSmile];
/// Trials per phase (pre-test, practice, post-test).
const TRIALS_PER_PHASE: u32 = 6;
/// Neutral face before and after each flash, ms.
const NEUTRAL_MS: f64 = 600.0;
/// Width of the face picture, pixels.
const PICTURE_WIDTH_PX: u32 = 320;

/// The trial on screen and its pictures.
struct Current {
    trial: FlashTrial,
    neutral_jpeg: Vec<u8>,
    flash_jpeg: Vec<u8>,
}

/// One flash session in progress.
pub struct FlashSession {
    drill: FlashDrill,
    renderer: WarpRenderer,
    session: String,
    current: Option<Current>,
    saved: usize,
}

/// The app's flash session (one at a time) and the neutral face, found once.
#[derive(Default)]
pub struct DrillStore {
    flash: Mutex<Option<FlashSession>>,
    face: OnceLock<NeutralFace>,
}

impl std::fmt::Debug for DrillStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DrillStore").finish_non_exhaustive()
    }
}

fn failure(status: StatusCode, message: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        json!({ "error": message }).to_string(),
    )
        .into_response()
}

fn json_response(value: &Value) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

fn jpeg(frame: &microcue_vision::Frame) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 92)
        .encode(
            &frame.rgb,
            frame.width,
            frame.height,
            image::ExtendedColorType::Rgb8,
        )
        .map_err(|error| format!("cannot encode the picture: {error}"))?;
    Ok(bytes)
}

fn cue_choice(cue: CueId) -> Value {
    json!({ "id": cue.as_str(), "name": lexicon::entry(cue).name })
}

/// Moves the drill to its next step, rendering a trial's pictures; the step as JSON.
fn advance(session: &mut FlashSession) -> Result<Value, String> {
    match session.drill.next_step() {
        FlashStep::Trial(trial) => {
            let rendered = session
                .renderer
                .render(&trial.stimulus)
                .map_err(|error| error.to_string())?;
            let neutral_jpeg = jpeg(&rendered.pictures[0])?;
            let flash_jpeg = jpeg(rendered.apex_picture())?;
            let step = json!({
                "kind": "trial",
                "id": trial.id,
                "phase": trial.phase.as_str(),
                "number": trial.number_in_phase,
                "of": trial.trials_in_phase,
                "requested_ms": trial.stimulus.exposure_ms,
                "neutral_ms": NEUTRAL_MS,
                "choices": trial.choices.iter().map(|c| cue_choice(*c)).collect::<Vec<_>>(),
                "gives_feedback": trial.gives_feedback,
            });
            session.current = Some(Current {
                trial,
                neutral_jpeg,
                flash_jpeg,
            });
            Ok(step)
        }
        FlashStep::Learn(cards) => {
            session.current = None;
            let cards: Vec<Value> = cards
                .iter()
                .map(|card| {
                    json!({
                        "name": card.entry.name,
                        "looks_like": card.entry.looks_like,
                        "meaning": card.entry.meaning,
                        "facs": card.entry.facs,
                        "regions": card.entry.regions.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
                    })
                })
                .collect();
            Ok(json!({ "kind": "learn", "cards": cards }))
        }
        FlashStep::Finished => {
            session.current = None;
            Ok(json!({
                "kind": "finished",
                "summary": session.drill.summary(),
                "saved": session.saved,
                "session": session.session,
            }))
        }
    }
}

/// `POST /drills/flash/start`: a new session (replacing one in progress; its answered trials
/// are already in the journal).
pub async fn start(State(state): State<AppState>) -> Response {
    let today = state.journal.today();
    let drills = state.drills.clone();
    let started = tokio::task::spawn_blocking(move || -> Result<Value, String> {
        let face = match drills.face.get() {
            Some(face) => face,
            None => {
                let mut source = Mp4Source::from_bytes(BUNDLED_CLIP_NAME, BUNDLED_CLIP.to_vec())
                    .map_err(|error| error.to_string())?;
                let face = NeutralFace::find(&mut source, 0.0, BUNDLED_CLIP_NAME)
                    .map_err(|error| error.to_string())?;
                drills.face.get_or_init(|| face)
            }
        };
        let settings = RenderSettings {
            shape: FlashShape::Apex,
            fps: 30.0,
            neutral_before_ms: NEUTRAL_MS,
            neutral_after_ms: NEUTRAL_MS,
        };
        let renderer = WarpRenderer::face_view(face, PICTURE_WIDTH_PX, settings)
            .map_err(|error| error.to_string())?;
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let config = FlashConfig {
            cues: CUES.to_vec(),
            pre_test_trials: TRIALS_PER_PHASE,
            practice_trials: TRIALS_PER_PHASE,
            post_test_trials: TRIALS_PER_PHASE,
            intensity: DRILL_INTENSITY,
            sources: vec![BUNDLED_CLIP_NAME.to_owned()],
            ..FlashConfig::default()
        };
        let drill = FlashDrill::new(config, seed).map_err(|error| error.to_string())?;
        let mut session = FlashSession {
            drill,
            renderer,
            session: format!("flash-web-{today}-{:08x}", seed as u32),
            current: None,
            saved: 0,
        };
        let step = advance(&mut session)?;
        *drills.flash.lock().unwrap_or_else(PoisonError::into_inner) = Some(session);
        Ok(step)
    })
    .await;
    match started {
        Ok(Ok(step)) => json_response(&step),
        Ok(Err(message)) => failure(StatusCode::INTERNAL_SERVER_ERROR, message),
        Err(_) => failure(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the drill could not start".to_owned(),
        ),
    }
}

/// `GET /drills/flash/picture/{neutral|flash}`: the current trial's pictures.
pub async fn picture(State(state): State<AppState>, UrlPath(which): UrlPath<String>) -> Response {
    let guard = state
        .drills
        .flash
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let Some(current) = guard.as_ref().and_then(|s| s.current.as_ref()) else {
        return (StatusCode::NOT_FOUND, "no trial on screen\n").into_response();
    };
    let bytes = match which.as_str() {
        "neutral" => current.neutral_jpeg.clone(),
        "flash" => current.flash_jpeg.clone(),
        _ => return (StatusCode::NOT_FOUND, "neutral or flash\n").into_response(),
    };
    ([(header::CONTENT_TYPE, "image/jpeg")], bytes).into_response()
}

/// The body of `POST /drills/flash/answer`.
#[derive(Debug, Deserialize)]
struct AnswerBody {
    id: u32,
    /// The cue answered; `None`: "nothing".
    response: Option<String>,
    reaction_ms: f64,
    /// The exposure measured in the page, ms.
    achieved_ms: f64,
}

/// What the page gets back after an answer.
#[derive(Debug, Serialize)]
struct Answered {
    correct: Option<bool>,
    message: String,
    achieved_ms: f64,
    requested_ms: f64,
}

/// `POST /drills/flash/answer`: the answer and the measured exposure; the trial goes to the
/// journal as the terminal drill saves it. Answers with the feedback and the next step.
pub async fn answer(State(state): State<AppState>, body: Bytes) -> Response {
    let answer: AnswerBody = match serde_json::from_slice(&body) {
        Ok(answer) => answer,
        Err(error) => return failure(StatusCode::BAD_REQUEST, format!("bad answer: {error}")),
    };
    let response = match answer.response.as_deref() {
        None => None,
        Some(text) => match CueId::parse(text) {
            Some(cue) => Some(cue),
            None => return failure(StatusCode::BAD_REQUEST, format!("unknown cue `{text}`")),
        },
    };
    let plausible = answer.achieved_ms.is_finite()
        && answer.achieved_ms > 0.0
        && answer.achieved_ms < 10_000.0
        && answer.reaction_ms.is_finite()
        && answer.reaction_ms >= 0.0;
    if !plausible {
        return failure(
            StatusCode::BAD_REQUEST,
            "the exposure and reaction times must be positive milliseconds".to_owned(),
        );
    }
    let today = state.journal.today();
    let drills = state.drills.clone();
    let journal = state.journal.clone();
    let done = tokio::task::spawn_blocking(move || -> Result<Value, (StatusCode, String)> {
        let mut guard = drills.flash.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(session) = guard.as_mut() else {
            return Err((StatusCode::CONFLICT, "no flash drill is running".to_owned()));
        };
        let Some(current) = session.current.take() else {
            return Err((
                StatusCode::CONFLICT,
                "no trial is waiting for an answer".to_owned(),
            ));
        };
        if current.trial.id != answer.id {
            let id = current.trial.id;
            session.current = Some(current);
            return Err((
                StatusCode::CONFLICT,
                format!("trial {} is not the one on screen ({id})", answer.id),
            ));
        }
        let trial = current.trial;
        let feedback = session
            .drill
            .answer(trial.id, response, answer.reaction_ms)
            .map_err(|error| (StatusCode::BAD_REQUEST, error.to_string()))?;
        let record = TrialRecord {
            date: today,
            kind: DrillKind::Flash,
            phase: trial.phase,
            target: trial.stimulus.cue,
            response,
            exposure_ms: Some(answer.achieved_ms),
            reaction_ms: Some(answer.reaction_ms),
            session: Some(session.session.clone()),
        };
        journal
            .write(|journal| journal.add_trial(&record))
            .map_err(|error| {
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("{error} (the trials answered before it are saved)"),
                )
            })?;
        session.saved += 1;
        let answered = Answered {
            correct: feedback.reveal.map(|r| r.correct),
            message: feedback.message,
            achieved_ms: answer.achieved_ms,
            requested_ms: trial.stimulus.exposure_ms,
        };
        let step = advance(session).map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e))?;
        Ok(json!({ "answered": answered, "step": step }))
    })
    .await;
    match done {
        Ok(Ok(value)) => json_response(&value),
        Ok(Err((status, message))) => failure(status, message),
        Err(_) => failure(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the answer could not be handled".to_owned(),
        ),
    }
}

/// `POST /drills/flash/learned`: the learn cards are read; on to practice.
pub async fn learned(State(state): State<AppState>) -> Response {
    let drills = state.drills.clone();
    let done = tokio::task::spawn_blocking(move || -> Result<Value, String> {
        let mut guard = drills.flash.lock().unwrap_or_else(PoisonError::into_inner);
        let session = guard.as_mut().ok_or("no flash drill is running")?;
        session
            .drill
            .finish_learning()
            .map_err(|error| error.to_string())?;
        advance(session)
    })
    .await;
    match done {
        Ok(Ok(step)) => json_response(&step),
        Ok(Err(message)) => failure(StatusCode::CONFLICT, message),
        Err(_) => failure(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the drill stopped".to_owned(),
        ),
    }
}

/// `GET /drills`.
pub async fn page() -> Response {
    let cues: Vec<&str> = CUES.iter().map(|c| lexicon::entry(*c).name).collect();
    let body = format!(
        "<h1>Drills</h1>\
         <section id=\"flash\" class=\"card\"><h2>Flash test</h2>\
         <p>A face flashes an expression for a moment — 500 ms at first, then shorter as you get \
         them right (down to 40 ms), longer when you miss — and you say what you saw: {cues}, \
         or nothing (some trials show no flash at all). {per} trials before and after a short \
         lesson, and {per} practice trials with feedback in between, as in Ekman's METT. The \
         face is a real one, warped by microcue; the flash is timed in your screen's frames and \
         the time it was really on screen is measured, shown and saved with each answer.</p>\
         <div id=\"flash-stage\" class=\"flash-stage\"><canvas id=\"flash-canvas\" width=\"{w}\" height=\"{w}\" \
           aria-label=\"the face\"></canvas></div>\
         <p id=\"flash-status\" role=\"status\" aria-live=\"polite\">Press Start when you are ready; keep your eyes on the face.</p>\
         <div id=\"flash-choices\" class=\"buttons\" hidden></div>\
         <div id=\"flash-learn\" hidden></div>\
         <p id=\"flash-exposure\" class=\"muted\"></p>\
         <button type=\"button\" id=\"flash-start\">Start the flash test</button>\
         <div id=\"flash-result\" hidden></div></section>\
         <section id=\"slowmo-card\" class=\"card\"><h2>Slow-motion study</h2>\
         <p>The movements you confirmed in your own videos on the Review page, replayed at 0.25× \
         or 0.5× with the region outlined: name each one. The answers count in the week's \
         slow-motion accuracy, as <code>microcue drill slowmo</code>'s do.</p>\
         <p><a href=\"/drills/slowmo\" id=\"slowmo-link\">Open the slow-motion study</a></p></section>\
         <section id=\"mirror\" class=\"card\"><h2>Mirror drill</h2>\
         <p>The camera watches you make a cue you are asked for; the spotter says whether it saw \
         that cue, how long it lasted and on which side. Frames stay on this computer, in \
         memory.</p>\
         <form method=\"get\" action=\"/drills/mirror\" class=\"consent\">\
         <label><input type=\"radio\" name=\"consent\" value=\"self\" required checked> Only me on camera</label>\
         <label><input type=\"radio\" name=\"consent\" value=\"given\"> Everyone on camera has agreed to this analysis</label>\
         <button type=\"submit\" id=\"mirror-start\">Start the mirror drill</button></form></section>\
         <section id=\"roleplay-card\" class=\"card\"><h2>Roleplay cards</h2>\
         <p>Cards for practice with a partner: a scenario, the cue to perform and the guide's \
         response (the deck of <code>microcue drill card</code>).</p>\
         <p><a href=\"/drills/roleplay\" id=\"roleplay-link\">Draw roleplay cards</a></p></section>",
        cues = cues.join(", "),
        per = TRIALS_PER_PHASE,
        w = PICTURE_WIDTH_PX,
    );
    shell("/drills", "Drills", &body, Some("drills.js")).into_response()
}

/// The store as shared state.
pub type Drills = Arc<DrillStore>;
