//! The mirror drill with the webcam: the user is asked to flash one cue of the lexicon (the next
//! card of `microcue_train::mirror::MirrorDrill`'s shuffled deck, or one they choose), the live
//! pipeline watches (the Live page's camera code and socket, the same worker), and after the
//! attempt window the drill's own scorer (`score_mirror`) says whether the spotter saw that
//! cue, how long it lasted and on which side, as a hypothesis with its confidence.
//!
//! The attempt is stored as one `mirror` trial, the record `microcue drill record --kind
//! mirror` writes (there is no terminal mirror drill with a camera): the requested cue, the
//! cue the spotter saw, the movement's duration as its exposure. Frames stay in memory, as on
//! the Live page.

use std::fmt::Write as _;

use axum::extract::Query;
use axum::response::{IntoResponse, Redirect, Response};
use microcue_core::{CueId, lexicon};
use microcue_train::mirror::{MirrorDrill, MirrorPrompt};
use serde::Deserialize;

use crate::pages::{CAMERA, consent_choice, escape, shell};

/// Attempt windows the page offers, seconds (the first is the default).
const WINDOWS_S: [u32; 3] = [4, 6, 8];

/// The query of `GET /drills/mirror`.
#[derive(Debug, Deserialize)]
pub struct MirrorQuery {
    consent: Option<String>,
    /// A cue to start with (default: the next card of a shuffled deck).
    cue: Option<String>,
}

/// `GET /drills/mirror?consent=self|given`: the drill. Without a consent choice it sends the
/// user back to the Drills page, where the choice is made.
pub async fn page(Query(query): Query<MirrorQuery>) -> Response {
    let Some(consent) = consent_choice(query.consent.as_deref()) else {
        return Redirect::to("/drills#mirror").into_response();
    };
    let chosen = query
        .cue
        .as_deref()
        .and_then(CueId::parse)
        .filter(|c| c.is_supported());
    let first = chosen.unwrap_or_else(|| {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        MirrorDrill::new(&[], seed).next_prompt().cue
    });
    let mut options = String::new();
    for cue in CueId::ALL.into_iter().filter(|c| c.is_supported()) {
        let prompt = MirrorPrompt::for_cue(0, cue);
        let _ = write!(
            options,
            "<option value=\"{id}\" data-instruction=\"{instruction}\"{selected}>{name}</option>",
            id = cue.as_str(),
            instruction = escape(&prompt.instruction),
            selected = if cue == first { " selected" } else { "" },
            name = escape(lexicon::entry(cue).name),
        );
    }
    let windows: String = WINDOWS_S
        .iter()
        .map(|s| format!("<option value=\"{s}\">{s} s</option>"))
        .collect();
    let body = format!(
        "<h1>Mirror drill</h1>\
         <div id=\"live\" data-consent=\"{consent}\">\
         <section class=\"camera\" aria-label=\"camera\">{CAMERA}</section>\
         <section class=\"coach\" aria-label=\"mirror drill\">\
           <div class=\"card\" id=\"mirror\">\
             <label>Make this cue <select id=\"mirror-cue\">{options}</select></label>\
             <p id=\"mirror-instruction\"></p>\
             <label>Time to make it <select id=\"mirror-window\">{windows}</select></label>\
             <p class=\"muted\">Face the camera in good light and keep a relaxed face until the \
             baseline is ready. Press <b>Go</b> (or Enter on it), then make the cue once, \
             briefly: the spotter watches the chosen time and says what it saw.</p>\
             <button type=\"button\" id=\"mirror-go\" disabled>Go</button>\
             <p id=\"mirror-status\" role=\"status\" aria-live=\"polite\">Waiting for the baseline…</p>\
           </div>\
           <div id=\"mirror-result\" class=\"card\" aria-live=\"polite\" hidden></div>\
           <details><summary>Earlier attempts</summary><ol id=\"mirror-history\" reversed></ol></details>\
           <p class=\"muted\">Each attempt is saved as a mirror trial in your journal (the cue \
           asked, the cue seen, its duration), as <code>microcue drill record --kind mirror</code> \
           saves one; no picture is kept. The spotter's reading is a hypothesis: a cue it misses \
           may still have been there, and one it sees may not be what you meant.</p>\
         </section></div>\
         <script src=\"/assets/mirror.js\" defer></script>"
    );
    shell("/drills", "Mirror drill", &body, Some("live.js")).into_response()
}
