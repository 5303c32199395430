//! Roleplay cards in the browser: the deck of `microcue drill card`
//! (`microcue_train::roleplay::RoleplayDeck`, seeded, so a seed gives the same cards in the
//! terminal and here): one card at a time with the scenario, the cue to perform (and its side),
//! and the guide's response; previous and next by links, arrow keys or `p`/`n`.

use std::fmt::Write as _;

use axum::extract::Query;
use axum::response::{IntoResponse, Redirect, Response};
use microcue_core::{Side, lexicon};
use microcue_train::roleplay::{CueCard, ROLEPLAY_INSTRUCTION, RoleplayDeck};
use serde::Deserialize;

use crate::pages::{escape, shell};

/// Highest card number a link can ask for (the deck reshuffles after every cue).
const MAX_CARD: u32 = 999;

/// The query of `GET /drills/roleplay`.
#[derive(Debug, Deserialize)]
pub struct RoleplayQuery {
    seed: Option<u64>,
    card: Option<u32>,
}

/// Card `number` (from 1) of the deck shuffled with `seed`.
fn card_of(seed: u64, number: u32) -> CueCard {
    let mut deck = RoleplayDeck::new(&[], seed);
    let mut card = deck.draw();
    for _ in 1..number {
        card = deck.draw();
    }
    card
}

/// `GET /drills/roleplay?seed=S&card=N`: card N of the deck shuffled with S. Without a seed it
/// picks one and redirects, so the page's links (and a reload) keep the same deck.
pub async fn page(Query(query): Query<RoleplayQuery>) -> Response {
    let Some(seed) = query.seed else {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64 % 1_000_000_000);
        return Redirect::to(&format!("/drills/roleplay?seed={seed}&card=1")).into_response();
    };
    let number = query.card.unwrap_or(1).clamp(1, MAX_CARD);
    let card = card_of(seed, number);
    let entry = lexicon::entry(card.cue);
    let side = match card.side {
        Side::Both => String::new(),
        side => format!(" — on your {} side", side.as_str()),
    };
    let scenario = match entry.scripts.first() {
        Some(script) => format!(
            "{}. Goal: {}.",
            capitalised(script.setting),
            script.goal.trim_end_matches('.')
        ),
        None => "Any everyday exchange: your partner says a line, you read their face and \
                 answer."
            .to_owned(),
    };
    let mut response = String::new();
    if let Some(family) = card.expected_response {
        let _ = write!(
            response,
            "<p><b>The guide's response</b> ({family}): {what}</p>",
            family = escape(lexicon::family_name(family)),
            what = escape(entry.response),
        );
    }
    if let Some(line) = entry.lines.first() {
        let _ = write!(
            response,
            "<p class=\"line\" id=\"roleplay-line\">“{}”</p>",
            escape(line)
        );
    }
    let previous = if number > 1 {
        format!(
            "<a href=\"/drills/roleplay?seed={seed}&amp;card={p}\" id=\"roleplay-prev\" rel=\"prev\" \
             class=\"button\">← Previous</a>",
            p = number - 1
        )
    } else {
        "<span class=\"button disabled\" aria-disabled=\"true\">← Previous</span>".to_owned()
    };
    let next = if number < MAX_CARD {
        format!(
            "<a href=\"/drills/roleplay?seed={seed}&amp;card={n}\" id=\"roleplay-next\" rel=\"next\" \
             class=\"button\">Next →</a>",
            n = number + 1
        )
    } else {
        String::new()
    };
    let body = format!(
        "<h1>Roleplay cards</h1>\
         <p class=\"muted\">With a partner: one draws a card and performs its cue while saying \
         any line; the other spots it and answers with the guide's response. Then swap roles. \
         The same seed gives the same cards as <code>microcue drill card --seed {seed}</code>.</p>\
         <section id=\"roleplay\" class=\"card\" data-card=\"{number}\" data-cue=\"{cue}\" \
         data-side=\"{side_id}\" data-seed=\"{seed}\" aria-live=\"polite\">\
         <p class=\"muted\">Card {number}</p>\
         <h2 id=\"roleplay-cue\">{name}{side}</h2>\
         <p><b>Looks like</b>: {looks} <span class=\"muted\">({facs})</span></p>\
         <p><b>Scenario</b>: {scenario}</p>\
         <p><b>Performer</b>: {instruction}</p>\
         {response}</section>\
         <nav class=\"buttons\" aria-label=\"cards\">{previous}{next}\
         <a href=\"/drills/roleplay\" class=\"button secondary\" id=\"roleplay-shuffle\">New deck</a></nav>\
         <p class=\"muted\">Keys: → or n for the next card, ← or p for the previous one. To keep \
         score: <code>microcue drill record --kind roleplay --cue {cue} --answered CUE|none</code>.</p>",
        cue = card.cue.as_str(),
        side_id = card.side.as_str(),
        name = escape(entry.name),
        looks = escape(entry.looks_like),
        facs = escape(entry.facs),
        scenario = escape(&scenario),
        instruction = escape(ROLEPLAY_INSTRUCTION),
    );
    shell("/drills", "Roleplay cards", &body, Some("roleplay.js")).into_response()
}

/// `text` with its first letter in upper case.
fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_card_number_is_the_same_card_as_the_terminal_draws() {
        let mut deck = RoleplayDeck::new(&[], 42);
        for number in 1..=14 {
            assert_eq!(card_of(42, number), deck.draw(), "card {number}");
        }
    }
}
