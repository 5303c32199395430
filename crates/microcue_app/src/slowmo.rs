//! The slow-motion study in the browser: the quiz of `microcue drill slowmo` over the events the
//! user confirmed (or corrected) in Review or `drill review`, on the same engine
//! (`microcue_train::slowmo`): the same items (0.25x for flashes up to 200 ms, 0.5x above, a
//! pause at the apex), the same answer choices, and each answer saved as the same journal record
//! (`SlowMotionQuiz::record`), so it counts in the week's slow-motion accuracy.
//!
//! Playback goes through the Review page's Range route (`GET /review/video`): when the video of
//! the quiz's label is the one open on the Review page, each item plays from it with the cue's
//! region outlined; otherwise the page gives the times to watch in the user's own player, as the
//! terminal quiz does without `--video`.

use std::fmt::Write as _;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use microcue_core::lexicon;
use microcue_core::{CueId, Event};
use microcue_train::slowmo::{
    SlowMotionConfig, SlowMotionQuiz, confirmed_events, confirmed_feedback, labels_with_reviews,
    session_name,
};
use microcue_train::{ReviewedEvent, TrainError};
use serde::Deserialize;

use crate::AppState;
use crate::journal_page::blocking;
use crate::pages::{bad_request, escape, problem, shell};
use crate::review::{label_in_review, regions_in_review};

/// Items in one study at most (the terminal quiz's `--items` default).
const MAX_ITEMS: usize = 10;

/// The answer to the last item, shown above the next one.
struct Feedback {
    correct: bool,
    message: String,
}

/// One slow-motion study in progress.
pub struct SlowmoSession {
    label: String,
    quiz: SlowMotionQuiz,
    /// The confirmed events the quiz was built from (`QuizItem::event_index` points here).
    events: Vec<Event>,
    session: String,
    /// Index of the item on screen; `items().len()` once all are answered.
    next: usize,
    /// When the item on screen came up: the reaction time when the page measured none.
    shown_at: Instant,
    last: Option<Feedback>,
    saved: usize,
}

/// The app's slow-motion study (one at a time).
#[derive(Default)]
pub struct SlowmoStore {
    session: Mutex<Option<SlowmoSession>>,
}

impl std::fmt::Debug for SlowmoStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlowmoStore").finish_non_exhaustive()
    }
}

impl SlowmoStore {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<SlowmoSession>> {
        self.session.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn bad(message: &str, detail: String, hint: &str) -> Response {
    bad_request(message, detail, hint, "/drills/slowmo")
}

/// The user's reviews in the journal (none when there is no journal yet).
async fn reviews(state: &AppState) -> Result<Vec<ReviewedEvent>, Response> {
    let store = state.journal.clone();
    blocking(move || {
        store.read(|journal| {
            Ok(journal
                .reviewed_events()?
                .into_iter()
                .map(|r| r.record)
                .collect::<Vec<_>>())
        })
    })
    .await
    .map(Option::unwrap_or_default)
}

/// The form of `POST /drills/slowmo/start`.
#[derive(Debug, Deserialize)]
pub struct StartForm {
    label: String,
}

/// `POST /drills/slowmo/start`: a study of the confirmed events of one video label.
pub async fn start(State(state): State<AppState>, Form(form): Form<StartForm>) -> Response {
    let reviews = match reviews(&state).await {
        Ok(reviews) => reviews,
        Err(response) => return response,
    };
    let events = confirmed_events(&reviews, &form.label);
    if events.is_empty() {
        return bad(
            "No confirmed events to study",
            format!("the journal has no confirmed events of `{}`", form.label),
            "confirm some first: open the video on the Review page, play its events and press Yes (or correct them)",
        );
    }
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let config = SlowMotionConfig {
        max_items: MAX_ITEMS,
        ..SlowMotionConfig::default()
    };
    let quiz = match SlowMotionQuiz::new(&events, &config, seed) {
        Ok(quiz) => quiz,
        Err(error) => {
            return problem(
                StatusCode::BAD_REQUEST,
                "No events to study",
                &error,
                "confirm events of cues that video can show on the Review page",
                "/drills/slowmo",
            );
        }
    };
    *state.slowmo.lock() = Some(SlowmoSession {
        label: form.label,
        quiz,
        events,
        session: session_name(state.journal.today(), seed),
        next: 0,
        shown_at: Instant::now(),
        last: None,
        saved: 0,
    });
    Redirect::to("/drills/slowmo").into_response()
}

/// The form of `POST /drills/slowmo/answer`.
#[derive(Debug, Deserialize)]
pub struct AnswerForm {
    item: u32,
    answer: String,
    /// Measured in the page from the end of the last playback; empty without a script.
    #[serde(default)]
    reaction_ms: String,
}

/// `POST /drills/slowmo/answer`: scores the answer and saves it as `microcue drill slowmo` does.
pub async fn answer(State(state): State<AppState>, Form(form): Form<AnswerForm>) -> Response {
    let Some(answer) = CueId::parse(&form.answer) else {
        return bad(
            "The answer was not saved",
            format!("unknown cue `{}`", form.answer),
            "choose one of the answers offered",
        );
    };
    let today = state.journal.today();
    let slowmo = state.slowmo.clone();
    let journal = state.journal.clone();
    let saved = tokio::task::spawn_blocking(move || -> Result<(), (String, String)> {
        let mut guard = slowmo.lock();
        let Some(session) = guard.as_mut() else {
            return Err((
                "no slow-motion study is running".to_owned(),
                "start one on this page".to_owned(),
            ));
        };
        let Some(item) = session.quiz.items().get(session.next).cloned() else {
            return Err((
                "the study is finished".to_owned(),
                "start another on this page".to_owned(),
            ));
        };
        if item.id != form.item {
            return Err((
                format!("item {} is not the one on screen ({})", form.item, item.id),
                "reload the page".to_owned(),
            ));
        }
        let reaction_ms = form
            .reaction_ms
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|ms| ms.is_finite() && *ms >= 0.0)
            .unwrap_or_else(|| session.shown_at.elapsed().as_secs_f64() * 1000.0);
        session
            .quiz
            .answer(item.id, answer, reaction_ms)
            .map_err(|error| (error.to_string(), "choose one of the answers offered".to_owned()))?;
        let record = session
            .quiz
            .record(item.id, today, &session.session)
            .ok_or_else(|| ("the answer was not kept".to_owned(), "try again".to_owned()))?;
        // The quiz has taken the answer: move on whether or not the journal took it.
        session.next += 1;
        session.shown_at = Instant::now();
        journal
            .write(|journal| journal.add_trial(&record))
            .map_err(|error: TrainError| {
                (
                    format!("{error} (the answers given before it are saved)"),
                    "check the journal file's permissions and free space, then go on with the next item".to_owned(),
                )
            })?;
        session.saved += 1;
        let labelled = session.events[item.event_index].cue;
        session.last = Some(Feedback {
            correct: labelled == answer,
            message: confirmed_feedback(labelled, answer),
        });
        Ok(())
    })
    .await;
    match saved {
        Ok(Ok(())) => Redirect::to("/drills/slowmo#slowmo").into_response(),
        Ok(Err((detail, hint))) => bad("The answer was not saved", detail, &hint),
        Err(_) => bad(
            "The answer was not saved",
            "the answer could not be handled".to_owned(),
            "try again",
        ),
    }
}

/// `POST /drills/slowmo/stop`: ends the study (its answers are already in the journal).
pub async fn stop(State(state): State<AppState>) -> Response {
    *state.slowmo.lock() = None;
    Redirect::to("/drills/slowmo").into_response()
}

/// `GET /drills/slowmo`.
pub async fn page(State(state): State<AppState>) -> Response {
    let reviews = match reviews(&state).await {
        Ok(reviews) => reviews,
        Err(response) => return response,
    };
    let mut body = String::from(
        "<h1>Slow-motion study</h1>\
         <p class=\"muted\">The movements you confirmed in your own videos, replayed slowly \
         (0.25× for flashes up to 200 ms, 0.5× for longer ones, with a pause at the apex): name \
         each one. The answer is the label you gave it in your review. Each answer is saved as a \
         slow-motion test trial, as <code>microcue drill slowmo</code> saves it, and counts in \
         the week's slow-motion accuracy (the guide's week-2 target: 50 %).</p>",
    );
    let guard = state.slowmo.lock();
    match guard.as_ref() {
        Some(session) if session.next < session.quiz.items().len() => {
            body.push_str(&item_section(&state, session));
        }
        Some(session) => {
            body.push_str(&result_section(session));
            body.push_str(&labels_section(&state, &reviews));
        }
        None => body.push_str(&labels_section(&state, &reviews)),
    }
    drop(guard);
    shell("/drills", "Slow-motion study", &body, Some("slowmo.js")).into_response()
}

fn feedback_html(last: Option<&Feedback>) -> String {
    last.map_or(String::new(), |f| {
        format!(
            "<p id=\"slowmo-feedback\" class=\"feedback\" data-correct=\"{}\" role=\"status\">{}</p>",
            f.correct,
            escape(&f.message)
        )
    })
}

fn item_section(state: &AppState, session: &SlowmoSession) -> String {
    let items = session.quiz.items();
    let item = &items[session.next];
    let event = &session.events[item.event_index];
    let region = regions_in_review(&state.review, &session.label, std::slice::from_ref(event));
    let playable = region.is_some();
    let region = region
        .and_then(|regions| regions.into_iter().next().flatten())
        .map(|r| format!("{:.4},{:.4},{:.4},{:.4}", r[0], r[1], r[2], r[3]))
        .unwrap_or_default();
    let region_name = lexicon::entry(event.cue)
        .regions
        .first()
        .map_or("face", |r| r.as_str());
    let mut html = format!(
        "<section id=\"slowmo\" class=\"card\" data-item=\"{id}\" data-start=\"{start:.3}\" \
         data-end=\"{end:.3}\" data-onset=\"{onset:.3}\" data-offset=\"{offset:.3}\" \
         data-apex=\"{apex:.3}\" data-rate=\"{rate}\" data-region=\"{region}\" \
         data-region-name=\"{region_name}\" data-playable=\"{playable}\">\
         {feedback}<h2>Item {number} of {count} · <span class=\"muted\">{label}</span></h2>",
        id = item.id,
        start = item.window_start_s,
        end = item.window_end_s,
        onset = event.onset_s,
        offset = event.offset_s,
        apex = item.pause_at_s,
        rate = item.playback_speed,
        feedback = feedback_html(session.last.as_ref()),
        number = session.next + 1,
        count = items.len(),
        label = escape(&session.label),
    );
    if playable {
        let _ = write!(
            html,
            "<div class=\"player\"><div class=\"stage\"><video id=\"slowmo-video\" src=\"/review/video\" \
             preload=\"auto\" muted playsinline></video>\
             <canvas id=\"slowmo-overlay\" aria-hidden=\"true\"></canvas></div>\
             <p id=\"slowmo-playing\" class=\"muted\" role=\"status\">{start:.2}–{end:.2} s at {rate}×, \
             pausing at the apex; the region that moves is outlined while it moves.</p>\
             <div class=\"buttons\"><button type=\"button\" class=\"play\" id=\"slowmo-play\" data-rate=\"{rate}\">Play at {rate}× (r)</button>\
             <button type=\"button\" class=\"play\" data-rate=\"{other}\">Play at {other}×</button></div></div>",
            start = item.window_start_s,
            end = item.window_end_s,
            rate = item.playback_speed,
            other = if item.playback_speed < 0.5 { 0.5 } else { 0.25 },
        );
    } else {
        let _ = write!(
            html,
            "<p id=\"slowmo-times\">Watch {start:.2}–{end:.2} s of the video at {rate}× in your own \
             player (e.g. <code>mpv --start={start:.2} --end={end:.2} --speed={rate} VIDEO</code>), \
             or open the video on the <a href=\"/review\">Review page</a> with the label \
             <b>{label}</b> to watch it here.</p>",
            start = item.window_start_s,
            end = item.window_end_s,
            rate = item.playback_speed,
            label = escape(&session.label),
        );
    }
    let _ = write!(
        html,
        "<form method=\"post\" action=\"/drills/slowmo/answer\" id=\"slowmo-answer\">\
         <input type=\"hidden\" name=\"item\" value=\"{id}\">\
         <input type=\"hidden\" name=\"reaction_ms\" id=\"slowmo-reaction\" value=\"\">\
         <p><b>What was it?</b> <span class=\"muted\">(keys 1–{n})</span></p><div class=\"buttons\">",
        id = item.id,
        n = item.choices.len(),
    );
    for (index, cue) in item.choices.iter().enumerate() {
        let _ = write!(
            html,
            "<button type=\"submit\" name=\"answer\" value=\"{id}\" class=\"choice\" data-key=\"{key}\">{key}. {name}</button>",
            id = cue.as_str(),
            key = index + 1,
            name = escape(lexicon::entry(*cue).name),
        );
    }
    html.push_str(
        "</div></form>\
         <form method=\"post\" action=\"/drills/slowmo/stop\" class=\"stop\">\
         <button type=\"submit\" class=\"secondary\" id=\"slowmo-stop\">Stop the study</button></form></section>",
    );
    html
}

fn result_section(session: &SlowmoSession) -> String {
    let summary = session.quiz.summary();
    format!(
        "<section id=\"slowmo-result\" class=\"card\">{feedback}<h2>Finished: {label}</h2>\
         <p id=\"slowmo-summary\">{saved} answer(s) saved, {correct} correct{accuracy}. They are \
         slow-motion test trials: the <a href=\"/journal\" id=\"slowmo-journal\">Journal page</a> \
         counts them in the week's slow-motion accuracy.</p>\
         <p class=\"muted\">The right answer is your own label from the review, itself a reading \
         of a face: replay the ones you missed and judge again.</p></section>",
        feedback = feedback_html(session.last.as_ref()),
        label = escape(&session.label),
        saved = session.saved,
        correct = summary.correct,
        accuracy = summary
            .accuracy
            .map_or(String::new(), |a| format!(" ({:.0} %)", a * 100.0)),
    )
}

fn labels_section(state: &AppState, reviews: &[ReviewedEvent]) -> String {
    let labels: Vec<(String, usize)> = labels_with_reviews(reviews)
        .into_iter()
        .filter(|(_, confirmed)| *confirmed > 0)
        .collect();
    if labels.is_empty() {
        return "<section id=\"slowmo-empty\" class=\"card\" role=\"status\"><h2>No confirmed events yet</h2>\
                <p>The study replays movements <em>you</em> confirmed in your own videos. To get \
                some: open a video on the <a href=\"/review\">Review page</a>, play its events and \
                press <b>Yes</b> (or correct the cue); or, in a terminal, <code>microcue analyze \
                VIDEO --consent self --out events.jsonl</code> then <code>microcue drill review \
                events.jsonl --video VIDEO --consent self</code>. Then come back here.</p></section>"
            .to_owned();
    }
    let open = label_in_review(&state.review);
    let mut html = String::from(
        "<section id=\"slowmo-labels\"><h2>Your reviewed videos</h2><ul class=\"plain\">",
    );
    for (label, confirmed) in &labels {
        let here = if open.as_deref() == Some(label.as_str()) {
            "open on the Review page: it plays here"
        } else {
            "not open on the Review page: you get the times to watch"
        };
        let _ = write!(
            html,
            "<li><form method=\"post\" action=\"/drills/slowmo/start\">\
             <input type=\"hidden\" name=\"label\" value=\"{value}\">\
             <button type=\"submit\" class=\"start\">Study {label}</button> \
             <span class=\"muted\">{confirmed} confirmed event(s) (up to {MAX_ITEMS} items); {here}</span></form></li>",
            value = escape(label),
            label = escape(label),
        );
    }
    html.push_str("</ul></section>");
    html
}
