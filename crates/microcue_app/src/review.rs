//! The Review page: a video file on this computer, analysed by the same pipeline and settings
//! as `microcue analyze`, its events on a timeline by cue, each playable slowly with its region
//! highlighted, confirmed or corrected into the journal as `microcue drill review` records it,
//! and exported in the bytes `microcue analyze --format` writes (`microcue_core::export`).
//!
//! The user types the file's path: the server reads the file where it is, so no frame is
//! uploaded, copied or written anywhere. Decoding streams frame by frame through
//! `Pipeline::run` (a bounded queue of reused frames), so a 10-minute 720p file takes the memory
//! of a few frames plus its events and one face box per frame (20 bytes).
//!
//! Playback: the browser plays the file itself through `GET /review/video`, which serves the
//! file's bytes with HTTP Range support (at most [`MAX_RANGE_BYTES`] per response), rather than
//! having the pipeline re-decode frames on demand: the browser's decoder seeks and plays at
//! 0.25x/0.5x smoothly, and nothing but the original file is ever read.

use std::fmt::Write as _;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use axum::extract::{Form, Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use microcue_core::export::{ExportFormat, export_events};
use microcue_core::lexicon::{self, CueRegion};
use microcue_core::{CueId, Event, Scale, Side};
use microcue_train::ReviewedEvent;
use microcue_train::review::parse_side;
use microcue_vision::pipeline::{RunError, Step};
use microcue_vision::recording::RecordingSettings;
use microcue_vision::source::{SourceSpec, open_source};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::frames::face_rect;
use crate::journal_page::{blocking, download};
use crate::pages::{bad_request, escape, problem, shell};

/// Most bytes of the video sent in one response (an open-ended range gets this much).
pub const MAX_RANGE_BYTES: u64 = 4 << 20;

/// Where an analysis stands.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum JobState {
    Running,
    Done,
    Failed { error: String },
    Cancelled,
}

/// The face's box (fractions of the frame) at one time.
#[derive(Debug, Clone, Copy)]
struct FaceAt {
    pts_s: f32,
    rect: [f32; 4],
}

/// What an analysis has found so far.
#[derive(Debug)]
struct Found {
    state: JobState,
    frames: u64,
    frames_with_face: u64,
    pts_s: f64,
    events: Vec<Event>,
    faces: Vec<FaceAt>,
    wall_s: f64,
}

/// One analysis of one file.
#[derive(Debug)]
pub struct ReviewJob {
    id: u64,
    path: PathBuf,
    label: String,
    width: u32,
    height: u32,
    frame_count: Option<u64>,
    duration_s: Option<f64>,
    started: Instant,
    cancel: AtomicBool,
    found: Mutex<Found>,
}

impl ReviewJob {
    fn found(&self) -> std::sync::MutexGuard<'_, Found> {
        self.found.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The current review (one at a time: an analysis takes a core).
#[derive(Debug, Default)]
pub struct ReviewStore {
    current: Mutex<Option<Arc<ReviewJob>>>,
    next_id: AtomicU64,
}

impl ReviewStore {
    fn current(&self) -> Option<Arc<ReviewJob>> {
        self.current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// The region to outline for each of `events` (as the Review page outlines an event), when the
/// video under review is the one labelled `label` and the browser can play it; `None`
/// otherwise. The slow-motion study plays confirmed events through `GET /review/video`.
pub(crate) fn regions_in_review(
    store: &ReviewStore,
    label: &str,
    events: &[Event],
) -> Option<Vec<Option<[f32; 4]>>> {
    let job = store.current()?;
    if job.label != label || media_type(&job.path).is_none() {
        return None;
    }
    let found = job.found();
    Some(
        events
            .iter()
            .map(|e| face_near(&found.faces, e.apex_s).map(|face| region_rect(face, e.cue, e.side)))
            .collect(),
    )
}

/// The label of the video under review, if any.
pub(crate) fn label_in_review(store: &ReviewStore) -> Option<String> {
    store.current().map(|job| job.label.clone())
}

/// The status of `GET /review/status`.
#[derive(Debug, Serialize)]
struct Status {
    id: u64,
    #[serde(flatten)]
    state: JobState,
    frames: u64,
    frame_count: Option<u64>,
    pts_s: f64,
    duration_s: Option<f64>,
    events: usize,
    elapsed_s: f64,
}

fn status_of(job: &ReviewJob) -> Status {
    let found = job.found();
    Status {
        id: job.id,
        state: found.state.clone(),
        frames: found.frames,
        frame_count: job.frame_count,
        pts_s: found.pts_s,
        duration_s: job.duration_s,
        events: found.events.len(),
        elapsed_s: if found.state == JobState::Running {
            job.started.elapsed().as_secs_f64()
        } else {
            found.wall_s
        },
    }
}

/// The part of the face box where `cue` shows (its main region, and the subject's side: the
/// subject's left is the picture's right), as fractions of the frame.
pub fn region_rect(face: [f32; 4], cue: CueId, side: Side) -> [f32; 4] {
    let region = lexicon::entry(cue)
        .regions
        .first()
        .copied()
        .unwrap_or(CueRegion::Mouth);
    // Fractions of the landmark box (forehead top to chin) where each region lies.
    let (x0, y0, x1, y1) = match region {
        CueRegion::Brows => (0.05, 0.10, 0.95, 0.38),
        CueRegion::Eyes | CueRegion::Gaze => (0.08, 0.26, 0.92, 0.50),
        CueRegion::Nose => (0.28, 0.36, 0.72, 0.70),
        CueRegion::Mouth => (0.18, 0.62, 0.82, 0.92),
    };
    let (x0, x1) = match side {
        Side::Both => (x0, x1),
        Side::Left => (0.5_f32.max(x0), x1),
        Side::Right => (x0, 0.5_f32.min(x1)),
    };
    let (w, h) = (face[2] - face[0], face[3] - face[1]);
    [
        face[0] + w * x0,
        face[1] + h * y0,
        face[0] + w * x1,
        face[1] + h * y1,
    ]
}

/// The face box nearest in time to `pts_s` (the trace is in time order).
fn face_near(faces: &[FaceAt], pts_s: f64) -> Option<[f32; 4]> {
    let target = pts_s as f32;
    let index = faces.partition_point(|f| f.pts_s < target);
    [index.checked_sub(1), Some(index)]
        .into_iter()
        .flatten()
        .filter_map(|i| faces.get(i))
        .min_by(|a, b| {
            (a.pts_s - target)
                .abs()
                .total_cmp(&(b.pts_s - target).abs())
        })
        .map(|f| f.rect)
}

/// Runs the analysis on this thread (the caller spawns it).
fn analyse(
    state: &AppState,
    job: &ReviewJob,
    source: Box<dyn microcue_vision::source::FrameSource>,
) {
    // The settings of `microcue analyze VIDEO`: the same settings give the same events, so the
    // exports match.
    let settings = RecordingSettings::default().run_settings();
    let (width, height) = (job.width, job.height);
    let run = state.pipeline.run(source, &settings, &mut |step| {
        if job.cancel.load(Ordering::Relaxed) {
            return Err("cancelled");
        }
        let mut found = job.found();
        match step {
            Step::Frame(report) => {
                found.frames += 1;
                found.pts_s = report.frame.pts_s;
                if let Some(face) = report.faces.first() {
                    found.frames_with_face += 1;
                    if let Some(rect) = face_rect(&face.landmarks_in_image, width, height) {
                        found.faces.push(FaceAt {
                            pts_s: report.frame.pts_s as f32,
                            rect,
                        });
                    }
                }
                found.events.extend_from_slice(report.events);
            }
            Step::End { events } => found.events.extend_from_slice(events),
        }
        Ok(())
    });
    let mut found = job.found();
    found.wall_s = job.started.elapsed().as_secs_f64();
    found.state = match run {
        Ok(summary) => match summary.decode_error {
            Some(error) => JobState::Failed {
                error: format!(
                    "{error} (the {} event(s) found before it are kept)",
                    found.events.len()
                ),
            },
            None if summary.frames == 0 => JobState::Failed {
                error: format!("`{}` has no frames", job.path.display()),
            },
            None => JobState::Done,
        },
        Err(RunError::Caller(_)) => JobState::Cancelled,
        Err(RunError::Setup(error)) => JobState::Failed {
            error: error.to_string(),
        },
        Err(RunError::Analysis {
            frame_index,
            source,
        }) => JobState::Failed {
            error: format!(
                "face analysis failed on frame {frame_index} of `{}`: {source}",
                job.path.display()
            ),
        },
    };
}

/// The form of `POST /review/open`.
#[derive(Debug, Deserialize)]
pub struct OpenForm {
    path: String,
    #[serde(default)]
    label: String,
    #[serde(default)]
    consent: String,
}

fn bad(message: &str, detail: String, hint: &str) -> Response {
    bad_request(message, detail, hint, "/review")
}

/// `POST /review/open`: checks the path and the consent, opens the video and starts the
/// analysis on its own thread.
pub async fn open(State(state): State<AppState>, Form(form): Form<OpenForm>) -> Response {
    if !matches!(form.consent.as_str(), "self" | "given") {
        return bad(
            "Whose recording is it?",
            "no consent choice was made".to_owned(),
            "choose `only me` or `everyone on it agreed`: microcue analyses other people only with their consent",
        );
    }
    let path = PathBuf::from(form.path.trim());
    if path.as_os_str().is_empty() {
        return bad(
            "No video given",
            "the path is empty".to_owned(),
            "type the path of a video file on this computer",
        );
    }
    if let Some(job) = state.review.current()
        && job.found().state == JobState::Running
    {
        return bad(
            "An analysis is already running",
            format!("`{}` is being analysed", job.path.display()),
            "wait for it or cancel it on the Review page",
        );
    }
    let spec = SourceSpec::new(&path).with_ffmpeg(true);
    let opened = tokio::task::spawn_blocking(move || open_source(&spec)).await;
    let source = match opened {
        Ok(Ok(source)) => source,
        Ok(Err(error)) => {
            return problem(
                StatusCode::BAD_REQUEST,
                "The video could not be opened",
                &error,
                "give the path of a video file on this computer (MP4/MOV H.264, Y4M, or anything ffmpeg reads when it is installed)",
                "/review",
            );
        }
        Err(_) => {
            return bad(
                "The video could not be opened",
                "the opening task stopped".to_owned(),
                "try again",
            );
        }
    };
    let info = source.info().clone();
    let label = match form.label.trim() {
        "" => path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        label => label.to_owned(),
    };
    let job = Arc::new(ReviewJob {
        id: state.review.next_id.fetch_add(1, Ordering::Relaxed) + 1,
        path,
        label,
        width: info.width,
        height: info.height,
        frame_count: info.frame_count,
        duration_s: info.duration_s,
        started: Instant::now(),
        cancel: AtomicBool::new(false),
        found: Mutex::new(Found {
            state: JobState::Running,
            frames: 0,
            frames_with_face: 0,
            pts_s: 0.0,
            events: Vec::new(),
            faces: Vec::new(),
            wall_s: 0.0,
        }),
    });
    *state
        .review
        .current
        .lock()
        .unwrap_or_else(PoisonError::into_inner) = Some(job.clone());
    let worker_state = state.clone();
    let spawned = std::thread::Builder::new()
        .name("microcue-review".to_owned())
        .spawn(move || analyse(&worker_state, &job, source));
    if spawned.is_err() {
        return bad(
            "The analysis could not start",
            "no thread for the analysis".to_owned(),
            "try again",
        );
    }
    Redirect::to("/review").into_response()
}

/// `POST /review/cancel`.
pub async fn cancel(State(state): State<AppState>) -> Response {
    if let Some(job) = state.review.current() {
        job.cancel.store(true, Ordering::Relaxed);
    }
    Redirect::to("/review").into_response()
}

/// `GET /review/status`: the progress of the current analysis, as JSON.
pub async fn status(State(state): State<AppState>) -> Response {
    let body = match state.review.current() {
        Some(job) => serde_json::to_string(&status_of(&job)).unwrap_or_else(|_| "null".into()),
        None => "null".to_owned(),
    };
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// The media type browsers expect for a file name.
fn media_type(path: &Path) -> Option<&'static str> {
    let extension = path.extension()?.to_str()?.to_ascii_lowercase();
    Some(match extension.as_str() {
        "mp4" | "m4v" => "video/mp4",
        "mov" => "video/quicktime",
        "webm" => "video/webm",
        "mkv" => "video/x-matroska",
        "ogv" => "video/ogg",
        _ => return None,
    })
}

/// Parses a single `bytes=A-B`, `bytes=A-` or `bytes=-N` range against a file of `length`
/// bytes; the end is capped so a response carries at most [`MAX_RANGE_BYTES`].
fn parse_range(value: &str, length: u64) -> Option<(u64, u64)> {
    let spec = value.trim().strip_prefix("bytes=")?;
    if spec.contains(',') || length == 0 {
        return None;
    }
    let (start, end) = spec.split_once('-')?;
    let (start, end) = match (start.trim(), end.trim()) {
        ("", suffix) => {
            let suffix: u64 = suffix.parse().ok()?;
            (length.saturating_sub(suffix), length - 1)
        }
        (start, "") => (start.parse().ok()?, length - 1),
        (start, end) => (
            start.parse().ok()?,
            end.parse::<u64>().ok()?.min(length - 1),
        ),
    };
    if start > end || start >= length {
        return None;
    }
    Some((start, end.min(start + MAX_RANGE_BYTES - 1)))
}

/// `GET /review/video`: the bytes of the file under review, with Range support, so the
/// browser's own decoder plays and seeks it.
pub async fn video(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(job) = state.review.current() else {
        return (StatusCode::NOT_FOUND, "no video under review\n").into_response();
    };
    let Some(content_type) = media_type(&job.path) else {
        return (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "browsers cannot play this file type\n",
        )
            .into_response();
    };
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let path = job.path.clone();
    let read = tokio::task::spawn_blocking(move || -> std::io::Result<_> {
        let mut file = std::fs::File::open(&path)?;
        let length = file.metadata()?.len();
        let (start, end, partial) = match range.as_deref() {
            Some(value) => match parse_range(value, length) {
                Some((start, end)) => (start, end, true),
                None => return Ok(Err(length)),
            },
            None => (
                0,
                length.saturating_sub(1).min(MAX_RANGE_BYTES - 1),
                length > MAX_RANGE_BYTES,
            ),
        };
        file.seek(SeekFrom::Start(start))?;
        let mut bytes = Vec::with_capacity((end + 1 - start) as usize);
        file.take(end + 1 - start).read_to_end(&mut bytes)?;
        Ok(Ok((bytes, start, end, length, partial)))
    })
    .await;
    match read {
        Ok(Ok(Ok((bytes, start, end, length, partial)))) => {
            let mut response = (
                if partial {
                    StatusCode::PARTIAL_CONTENT
                } else {
                    StatusCode::OK
                },
                [
                    (header::CONTENT_TYPE, content_type.to_owned()),
                    (header::ACCEPT_RANGES, "bytes".to_owned()),
                ],
                bytes,
            )
                .into_response();
            if partial && let Ok(value) = format!("bytes {start}-{end}/{length}").parse() {
                response.headers_mut().insert(header::CONTENT_RANGE, value);
            }
            response
        }
        Ok(Ok(Err(length))) => {
            let mut response = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
            if let Ok(value) = format!("bytes */{length}").parse() {
                response.headers_mut().insert(header::CONTENT_RANGE, value);
            }
            response
        }
        _ => (StatusCode::NOT_FOUND, "the video cannot be read any more\n").into_response(),
    }
}

/// `GET /review/export/{format}`: the events in `jsonl`, `csv` or `vtt`, the bytes `microcue
/// analyze --format F` writes for the same video.
pub async fn export(State(state): State<AppState>, UrlPath(format): UrlPath<String>) -> Response {
    let Some(format) = ExportFormat::ALL
        .into_iter()
        .find(|f| f.extension() == format)
    else {
        return (StatusCode::NOT_FOUND, "formats: jsonl, csv, vtt\n").into_response();
    };
    let Some(job) = state.review.current() else {
        return bad(
            "Nothing to export",
            "no video has been analysed".to_owned(),
            "open a video on the Review page first",
        );
    };
    let events = job.found().events.clone();
    let stem = Path::new(&job.label)
        .file_stem()
        .map_or_else(|| "events".to_owned(), |s| s.to_string_lossy().into_owned());
    download(
        format.media_type(),
        &format!("{}.{}", stem.replace('"', ""), format.extension()),
        export_events(format, &events),
    )
}

/// The form of `POST /review/verdict`.
#[derive(Debug, Deserialize)]
pub struct VerdictForm {
    job: u64,
    event: usize,
    verdict: String,
    #[serde(default)]
    cue: String,
    #[serde(default)]
    side: String,
}

/// `POST /review/verdict`: the user's verdict on one event, saved as `microcue drill review`
/// saves it.
pub async fn verdict(State(state): State<AppState>, Form(form): Form<VerdictForm>) -> Response {
    let Some(job) = state.review.current().filter(|job| job.id == form.job) else {
        return bad(
            "That review is over",
            "the event belongs to an earlier analysis".to_owned(),
            "reload the Review page",
        );
    };
    let Some(event) = job.found().events.get(form.event).cloned() else {
        return bad(
            "No such event",
            format!("event {} is not in this analysis", form.event),
            "reload the Review page",
        );
    };
    let today = state.journal.today();
    let review = match form.verdict.as_str() {
        "confirm" => ReviewedEvent::confirm(today, &job.label, &event),
        "reject" => ReviewedEvent::reject(today, &job.label, &event),
        "correct" => {
            let (Some(cue), Some(side)) = (CueId::parse(&form.cue), parse_side(&form.side)) else {
                return bad(
                    "The correction was not saved",
                    format!("unknown cue `{}` or side `{}`", form.cue, form.side),
                    "choose the cue and the side you saw",
                );
            };
            ReviewedEvent::correct(today, &job.label, &event, cue, side)
        }
        other => {
            return bad(
                "The verdict was not saved",
                format!("unknown verdict `{other}`"),
                "confirm, correct or reject",
            );
        }
    };
    let store = state.journal.clone();
    match blocking(move || store.write(|journal| journal.save_review(&review))).await {
        Ok(_) => Redirect::to(&format!("/review#event-{}", form.event)).into_response(),
        Err(response) => response,
    }
}

/// `GET /review`.
pub async fn page(State(state): State<AppState>) -> Response {
    let mut body = String::from("<h1>Review a recording</h1>");
    let job = state.review.current();
    let reviews = match &job {
        Some(job) => {
            let store = state.journal.clone();
            let label = job.label.clone();
            match blocking(move || {
                store.read(|journal| {
                    Ok(journal
                        .reviewed_events()?
                        .into_iter()
                        .map(|r| r.record)
                        .filter(|r| r.video == label)
                        .collect::<Vec<_>>())
                })
            })
            .await
            {
                Ok(reviews) => reviews.unwrap_or_default(),
                Err(response) => return response,
            }
        }
        None => Vec::new(),
    };
    body.push_str(&open_form(job.as_deref()));
    if let Some(job) = &job {
        body.push_str(&job_section(job, &reviews));
    }
    shell("/review", "Review", &body, Some("review.js")).into_response()
}

fn open_form(job: Option<&ReviewJob>) -> String {
    let path = job
        .map(|j| j.path.display().to_string())
        .unwrap_or_default();
    format!(
        "<section id=\"open\"><p class=\"muted\">Study a recording on this computer: microcue \
         finds the brief movements in it (the same analysis as <code>microcue analyze</code>), \
         you watch each one slowly and say whether it is right. The file is read where it is: \
         nothing is uploaded, no frame is saved; the journal keeps your verdicts (times and \
         labels).</p>\
         <form method=\"post\" action=\"/review/open\" class=\"stack\">\
         <label>Video file: its path on this computer \
           <input name=\"path\" id=\"review-path\" required value=\"{path}\" \
           placeholder=\"/home/me/Videos/call.mp4\"></label>\
         <label>Label in the journal (default: the file name; not a person's name) \
           <input name=\"label\" id=\"review-label\" maxlength=\"120\"></label>\
         <fieldset><legend>Whose recording is it?</legend>\
         <label><input type=\"radio\" name=\"consent\" value=\"self\" required> Only me</label>\
         <label><input type=\"radio\" name=\"consent\" value=\"given\"> Everyone on it has agreed to this analysis</label>\
         </fieldset>\
         <button type=\"submit\" id=\"review-open\">Analyse</button></form></section>",
        path = escape(&path),
    )
}

fn job_section(job: &ReviewJob, reviews: &[ReviewedEvent]) -> String {
    let status = status_of(job);
    let found = job.found();
    let mut html = format!(
        "<section id=\"job\" data-job=\"{id}\" data-state=\"{state}\" data-events=\"{events}\">\
         <h2>{label}</h2>",
        id = job.id,
        state = match &status.state {
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Failed { .. } => "failed",
            JobState::Cancelled => "cancelled",
        },
        events = found.events.len(),
        label = escape(&job.label),
    );
    let total = job
        .frame_count
        .map_or(String::new(), |n| format!(" of {n}"));
    match &status.state {
        JobState::Running => {
            let _ = write!(
                html,
                "<div id=\"progress\" role=\"status\"><progress id=\"progress-bar\" max=\"1\" value=\"{fraction:.3}\"></progress>\
                 <p id=\"progress-text\">Analysing: frame {frames}{total}, {events} event(s) so far.</p></div>\
                 <form method=\"post\" action=\"/review/cancel\"><button type=\"submit\" id=\"review-cancel\">Cancel</button></form>",
                fraction = job
                    .frame_count
                    .map_or(0.0, |n| status.frames as f64 / n.max(1) as f64),
                frames = status.frames,
                events = status.events,
            );
        }
        JobState::Failed { error } => {
            let _ = write!(
                html,
                "<p class=\"error\" role=\"alert\">The analysis stopped: {}</p>",
                escape(error)
            );
        }
        JobState::Cancelled => html.push_str("<p role=\"status\">Cancelled.</p>"),
        JobState::Done => {}
    }
    if status.state != JobState::Running {
        let _ = write!(
            html,
            "<p id=\"summary\">{frames} frames in {wall:.1} s; a face in {faces}; {events} event(s). \
             Each is a hypothesis with a confidence, never a verdict.</p>",
            frames = found.frames,
            wall = found.wall_s,
            faces = found.frames_with_face,
            events = found.events.len(),
        );
        html.push_str(&events_section(job, &found, reviews));
    }
    html.push_str("</section>");
    html
}

fn events_section(job: &ReviewJob, found: &Found, reviews: &[ReviewedEvent]) -> String {
    let mut html = String::new();
    let playable = media_type(&job.path).is_some();
    if playable {
        html.push_str(
            "<div class=\"player\"><div class=\"stage\"><video id=\"review-video\" src=\"/review/video\" \
             preload=\"auto\" muted playsinline controls></video>\
             <canvas id=\"review-overlay\" aria-hidden=\"true\"></canvas></div>\
             <p id=\"playing\" class=\"muted\" role=\"status\">Choose an event to play it slowly; its region is outlined while it moves.</p></div>",
        );
    } else {
        html.push_str(
            "<p class=\"muted\">The browser cannot play this file type (MP4, MOV or WebM play); \
             the timeline and the verdicts still work.</p>",
        );
    }
    let _ = write!(
        html,
        "<p class=\"exports\">Export the events: \
         <a href=\"/review/export/jsonl\" id=\"export-jsonl\" download>JSON Lines</a> · \
         <a href=\"/review/export/csv\" id=\"export-csv\" download>CSV</a> · \
         <a href=\"/review/export/vtt\" id=\"export-vtt\" download>WebVTT</a> \
         <span class=\"muted\">(the bytes <code>microcue analyze --format</code> writes)</span></p>"
    );
    if found.events.is_empty() {
        html.push_str("<p>No brief movement was found.</p>");
        return html;
    }
    let mut cues: Vec<CueId> = found.events.iter().map(|e| e.cue).collect();
    cues.sort_by_key(|c| c.as_str());
    cues.dedup();
    html.push_str("<fieldset class=\"filters\"><legend>Show cues</legend>");
    for cue in &cues {
        let count = found.events.iter().filter(|e| e.cue == *cue).count();
        let _ = write!(
            html,
            "<label><input type=\"checkbox\" class=\"filter\" data-cue=\"{id}\" checked> {name} ({count})</label>",
            id = cue.as_str(),
            name = escape(lexicon::entry(*cue).name),
        );
    }
    html.push_str(
        "<label><input type=\"checkbox\" id=\"filter-open\"> only those without a verdict</label></fieldset>",
    );
    let duration = job
        .duration_s
        .unwrap_or(found.pts_s)
        .max(found.events.iter().map(|e| e.offset_s).fold(0.0, f64::max))
        .max(0.001);
    html.push_str(
        "<div class=\"timeline-rows\" id=\"timeline\" aria-label=\"timeline of events by cue\">",
    );
    for cue in &cues {
        let _ = write!(
            html,
            "<div class=\"row\" data-cue=\"{id}\"><span class=\"row-name\">{name}</span><div class=\"track\">",
            id = cue.as_str(),
            name = escape(lexicon::entry(*cue).name),
        );
        for (index, event) in found
            .events
            .iter()
            .enumerate()
            .filter(|(_, e)| e.cue == *cue)
        {
            let left = 100.0 * event.onset_s / duration;
            let width = (100.0 * (event.offset_s - event.onset_s) / duration).max(0.6);
            let _ = write!(
                html,
                "<a class=\"mark\" href=\"#event-{index}\" data-event=\"{index}\" style=\"--left:{left:.2}%;--width:{width:.2}%\" \
                 title=\"{name} at {apex:.2} s\"></a>",
                name = escape(cue.as_str()),
                apex = event.apex_s,
            );
        }
        html.push_str("</div></div>");
    }
    html.push_str("</div><ol class=\"events\" id=\"events\">");
    let cue_options: String = CueId::ALL
        .iter()
        .map(|c| format!("<option value=\"{0}\">{0}</option>", c.as_str()))
        .collect();
    for (index, event) in found.events.iter().enumerate() {
        let verdict = reviews.iter().rev().find(|r| r.is_about(&job.label, event));
        let region = face_near(&found.faces, event.apex_s)
            .map(|face| region_rect(face, event.cue, event.side))
            .map(|r| format!("{:.4},{:.4},{:.4},{:.4}", r[0], r[1], r[2], r[3]))
            .unwrap_or_default();
        let entry = lexicon::entry(event.cue);
        let verdict_text = match verdict {
            Some(r) => format!(
                "<span class=\"verdict {v}\">{v}{what}</span>",
                v = r.verdict.as_str(),
                what = match (r.cue, r.side) {
                    (Some(cue), Some(side)) if r.verdict.as_str() == "corrected" =>
                        format!(": {} ({})", cue.as_str(), side.as_str()),
                    _ => String::new(),
                }
            ),
            None => "<span class=\"verdict open\">no verdict yet</span>".to_owned(),
        };
        let _ = write!(
            html,
            "<li class=\"event card\" id=\"event-{index}\" data-event=\"{index}\" data-cue=\"{cue}\" \
             data-onset=\"{onset:.3}\" data-apex=\"{apex:.3}\" data-offset=\"{offset:.3}\" \
             data-region=\"{region}\" data-region-name=\"{region_name}\" data-verdict=\"{verdict_state}\">\
             <p class=\"facts\">{name} — {onset:.2}–{offset:.2} s ({duration:.0} ms, {scale}) · side: {side} · \
             confidence {confidence:.2}</p>\
             <p class=\"muted\">{looks}. Region: {region_name}. {verdict_text}</p>\
             <div class=\"buttons\">\
             <button type=\"button\" class=\"play\" data-rate=\"0.25\">Play at 0.25×</button>\
             <button type=\"button\" class=\"play\" data-rate=\"0.5\">Play at 0.5×</button></div>\
             <div class=\"buttons verdicts\">\
             <form method=\"post\" action=\"/review/verdict\"><input type=\"hidden\" name=\"job\" value=\"{job}\">\
             <input type=\"hidden\" name=\"event\" value=\"{index}\"><input type=\"hidden\" name=\"verdict\" value=\"confirm\">\
             <button type=\"submit\" class=\"confirm\">Yes, {cue}</button></form>\
             <form method=\"post\" action=\"/review/verdict\"><input type=\"hidden\" name=\"job\" value=\"{job}\">\
             <input type=\"hidden\" name=\"event\" value=\"{index}\"><input type=\"hidden\" name=\"verdict\" value=\"reject\">\
             <button type=\"submit\" class=\"reject\">Not a facial movement</button></form>\
             <form method=\"post\" action=\"/review/verdict\" class=\"correct\"><input type=\"hidden\" name=\"job\" value=\"{job}\">\
             <input type=\"hidden\" name=\"event\" value=\"{index}\"><input type=\"hidden\" name=\"verdict\" value=\"correct\">\
             <label>It was <select name=\"cue\" aria-label=\"the cue you saw\">{cue_options}</select></label>\
             <label>side <select name=\"side\" aria-label=\"the side you saw\"><option>both</option><option>left</option><option>right</option></select></label>\
             <button type=\"submit\" class=\"correct\">Correct</button></form></div></li>",
            cue = event.cue.as_str(),
            onset = event.onset_s,
            apex = event.apex_s,
            offset = event.offset_s,
            region_name = entry.regions.first().map_or("face", |r| r.as_str()),
            verdict_state = verdict.map_or("open", |r| r.verdict.as_str()),
            name = escape(entry.name),
            duration = event.duration_ms,
            scale = match event.scale {
                Scale::Micro => "micro",
                Scale::Macro => "macro",
            },
            side = event.side.as_str(),
            confidence = event.confidence,
            looks = escape(entry.looks_like),
            job = job.id,
        );
    }
    html.push_str("</ol>");
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_parsed_and_capped() {
        assert_eq!(parse_range("bytes=0-99", 1000), Some((0, 99)));
        assert_eq!(parse_range("bytes=900-", 1000), Some((900, 999)));
        assert_eq!(parse_range("bytes=-100", 1000), Some((900, 999)));
        assert_eq!(parse_range("bytes=0-5000", 1000), Some((0, 999)));
        assert_eq!(parse_range("bytes=1000-", 1000), None);
        assert_eq!(parse_range("bytes=5-1", 1000), None);
        assert_eq!(parse_range("bytes=0-1,5-6", 1000), None);
        assert_eq!(
            parse_range("bytes=0-", 1 << 40),
            Some((0, MAX_RANGE_BYTES - 1))
        );
    }

    #[test]
    fn the_region_lies_in_the_face_on_the_subjects_side() {
        let face = [0.2, 0.1, 0.6, 0.9];
        let brows = region_rect(face, CueId::EyebrowFlash, Side::Both);
        assert!(brows[1] < 0.5 && brows[0] >= 0.2 && brows[2] <= 0.6);
        let left = region_rect(face, CueId::UnilateralLipCorner, Side::Left);
        assert!(
            left[0] >= 0.4,
            "the subject's left is the picture's right: {left:?}"
        );
    }

    #[test]
    fn the_nearest_face_box_in_time_is_found() {
        let faces = [
            FaceAt {
                pts_s: 0.0,
                rect: [0.0; 4],
            },
            FaceAt {
                pts_s: 1.0,
                rect: [1.0; 4],
            },
        ];
        assert_eq!(face_near(&faces, 0.4), Some([0.0; 4]));
        assert_eq!(face_near(&faces, 0.6), Some([1.0; 4]));
        assert_eq!(face_near(&faces, 7.0), Some([1.0; 4]));
        assert_eq!(face_near(&[], 1.0), None);
    }
}
