//! The pages and the embedded assets.
//!
//! Every page is the same shell ([`shell`]): the navigation ([`NAV`]), the page's body, the
//! limits of what the results mean. Texts the command line prints too (limits, ethics, the
//! two-cue rule) come from `microcue_core::lexicon`, one source of truth.

use axum::extract::{Path, Query};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use microcue_core::lexicon::{CHEAT_SHEET, ETHICS, LIMITS, TWO_CUE_RULE};
use serde::Deserialize;

/// One entry of the navigation.
#[derive(Debug, Clone, Copy)]
pub struct NavItem {
    pub path: &'static str,
    pub title: &'static str,
}

/// The navigation, the same on every page. Review, drills and the journal join it as their
/// pages arrive.
pub const NAV: &[NavItem] = &[
    NavItem {
        path: "/",
        title: "Start",
    },
    NavItem {
        path: "/live",
        title: "Live",
    },
    NavItem {
        path: "/review",
        title: "Review",
    },
    NavItem {
        path: "/drills",
        title: "Drills",
    },
    NavItem {
        path: "/journal",
        title: "Journal",
    },
];

/// Assets embedded in the binary: name, content type, bytes.
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("../assets/app.css"),
    ),
    (
        "live.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/live.js"),
    ),
    (
        "drills.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/drills.js"),
    ),
    (
        "review.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/review.js"),
    ),
    (
        "slowmo.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/slowmo.js"),
    ),
    (
        "mirror.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/mirror.js"),
    ),
    (
        "roleplay.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/roleplay.js"),
    ),
];

/// Escapes text for HTML.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Titled items (`<b>title</b>: text`) as an HTML list.
fn titled_list<'a>(
    tag: &str,
    class: &str,
    items: impl Iterator<Item = (&'a str, &'a str)>,
) -> String {
    let mut html = format!("<{tag} class=\"{class}\">");
    for (title, text) in items {
        html.push_str(&format!(
            "<li><b>{}</b>: {}</li>",
            escape(title),
            escape(text)
        ));
    }
    html.push_str(&format!("</{tag}>"));
    html
}

/// The limits, as a list.
fn limits_html() -> String {
    titled_list(
        "ul",
        "limits",
        LIMITS.iter().map(|limit| (limit.topic, limit.text)),
    )
}

/// A page: navigation, body, and the limits at the foot.
pub fn shell(active: &str, title: &str, body: &str, script: Option<&str>) -> Html<String> {
    let mut nav = String::new();
    for item in NAV {
        let current = if item.path == active {
            " aria-current=\"page\""
        } else {
            ""
        };
        nav.push_str(&format!(
            "<a href=\"{}\"{current}>{}</a>",
            item.path,
            escape(item.title)
        ));
    }
    let script = script
        .map(|name| format!("<script src=\"/assets/{name}\" defer></script>"))
        .unwrap_or_default();
    Html(format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · microcue</title><link rel=\"stylesheet\" href=\"/assets/app.css\">{script}</head>\
         <body><header><span class=\"brand\">microcue</span><nav aria-label=\"main\">{nav}</nav></header>\
         <main>{body}</main>\
         <footer><details><summary>Limits of what these results mean</summary>{limits}</details>\
         <p>Everything runs on this computer: no frame is stored or sent anywhere.</p></footer>\
         </body></html>\n",
        title = escape(title),
        limits = limits_html(),
    ))
}

/// An error page: what went wrong (the error and its causes), what to do (`hint:`), and a
/// link back to `back`.
pub fn problem(
    status: StatusCode,
    message: &str,
    error: &dyn std::error::Error,
    hint: &str,
    back: &str,
) -> Response {
    let mut causes = format!("<li>{}</li>", escape(&error.to_string()));
    let mut source = error.source();
    while let Some(cause) = source {
        causes.push_str(&format!("<li>{}</li>", escape(&cause.to_string())));
        source = cause.source();
    }
    let body = format!(
        "<h1>{message}</h1><div class=\"card problem\" role=\"alert\" id=\"problem\">\
         <ul class=\"error\">{causes}</ul><p><b>hint:</b> {hint}</p></div>\
         <p><a href=\"{back}\" id=\"back\">Back</a></p>",
        message = escape(message),
        back = escape(back),
        hint = escape(hint),
    );
    (status, shell("", message, &body, None)).into_response()
}

/// A problem with the user's request (400), from a plain message.
pub fn bad_request(message: &str, detail: String, hint: &str, back: &str) -> Response {
    problem(
        StatusCode::BAD_REQUEST,
        message,
        &std::io::Error::other(detail),
        hint,
        back,
    )
}

/// The consent choice of a camera page's query: `self` or `given`, else `None`.
pub(crate) fn consent_choice(consent: Option<&str>) -> Option<&'static str> {
    match consent {
        Some("self") => Some("self"),
        Some("given") => Some("given"),
        _ => None,
    }
}

/// `GET /`: the first-run page: what microcue can and cannot do, the guide's ethics, whose face
/// will be on camera.
pub async fn welcome() -> Html<String> {
    let ethics = titled_list(
        "ol",
        "ethics",
        ETHICS.iter().map(|rule| (rule.title, rule.text)),
    );
    let mut steps = String::from("<ol>");
    for step in CHEAT_SHEET.steps {
        steps.push_str(&format!("<li>{}</li>", escape(step)));
    }
    steps.push_str("</ol>");
    let body = format!(
        "<h1>The live coach</h1>\
         <section><h2>What it does</h2>\
         <p>microcue watches your camera on this computer and spots brief facial movements \
         (40–500 ms micro-expressions, longer macro ones) against the person's own resting face. \
         It names each cue (region, side, confidence), suggests one calibrated micro-response \
         with an example line, and after you respond it watches the next 5–15 s: did the face \
         relax, match or withdraw? The outcome goes to your training journal.</p>\
         <p>The guide's loop, from the moment of the movement:</p>{steps}</section>\
         <section><h2>What it cannot do</h2>\
         <p><b>Results are hypotheses with a confidence, never verdicts.</b> {rule}</p>{limits}</section>\
         <section><h2>The guide's ethics</h2>{ethics}</section>\
         <section id=\"consent\"><h2>Whose face will be on camera?</h2>\
         <form method=\"get\" action=\"/live\" class=\"consent\">\
         <label><input type=\"radio\" name=\"consent\" value=\"self\" required> Only me</label>\
         <label><input type=\"radio\" name=\"consent\" value=\"given\"> Everyone on camera has agreed to this analysis</label>\
         <p class=\"muted\">microcue analyses other people only with their consent. The camera starts only after this choice.</p>\
         <button type=\"submit\" id=\"start\">Start the live coach</button></form></section>",
        rule = escape(TWO_CUE_RULE),
        limits = limits_html(),
    );
    shell("/", "Start", &body, None)
}

/// The camera picture, the status lines and the baseline warm-up: the elements `live.js`
/// drives, on the Live page and the mirror drill's.
pub(crate) const CAMERA: &str = "<div class=\"stage\"><video id=\"video\" autoplay muted playsinline></video>\
    <canvas id=\"overlay\" aria-hidden=\"true\"></canvas></div>\
    <p id=\"status\" role=\"status\">Starting the camera…</p>\
    <p id=\"stats\" class=\"muted\"></p>\
    <div id=\"baseline\" class=\"baseline\" hidden><span id=\"baseline-text\"></span>\
    <progress id=\"baseline-bar\" max=\"1\" value=\"0\"></progress></div>";

/// The query of `GET /live`.
#[derive(Debug, Deserialize)]
pub struct LiveQuery {
    consent: Option<String>,
}

/// `GET /live?consent=self|given`: the live coach. Without a consent choice it sends the user
/// back to the first page.
pub async fn live(Query(query): Query<LiveQuery>) -> Response {
    let Some(consent) = consent_choice(query.consent.as_deref()) else {
        return Redirect::to("/#consent").into_response();
    };
    let buttons: String = ["joke", "question", "compliment", "touch"]
        .iter()
        .map(|kind| {
            format!(
                "<button type=\"button\" class=\"context\" data-kind=\"{kind}\">{kind}</button>"
            )
        })
        .collect();
    let body = format!(
        "<div id=\"live\" data-consent=\"{consent}\">\
         <section class=\"camera\" aria-label=\"camera\">{CAMERA}\
           <label class=\"sensitivity\">Sensitivity \
             <select id=\"sensitivity\">\
               <option value=\"0.3\">low: fewer cues, fewer false alarms</option>\
               <option value=\"0.5\" selected>normal</option>\
               <option value=\"0.7\">high: more cues, more false alarms</option>\
             </select></label>\
           <p class=\"muted\">Changing it restarts the session and the baseline warm-up \
             (docs/evaluation.md has the measured trade-off).</p>\
         </section>\
         <section class=\"coach\" aria-label=\"coach\">\
           <div id=\"cue\" class=\"card\" aria-live=\"polite\"><p class=\"muted\">No cue yet. Cues appear here as they are read.</p></div>\
           <ol id=\"timeline\" class=\"timeline\"></ol>\
           <div class=\"card\"><h3>What happened just before?</h3><div class=\"buttons\">{buttons}</div>\
             <p id=\"hypothesis\" class=\"hypothesis\"></p></div>\
           <div id=\"suggestion\" class=\"card\" hidden></div>\
           <div class=\"card\"><button type=\"button\" id=\"responded\" disabled>I responded</button>\
             <p id=\"watch\" class=\"muted\">After you respond, the coach watches the face for 5–15 s.</p></div>\
           <details><summary>Recent cues</summary><ol id=\"history\" reversed></ol></details>\
         </section></div>"
    );
    shell("/live", "Live", &body, Some("live.js")).into_response()
}

/// The path of `GET /assets/NAME`.
#[derive(Debug, Deserialize)]
pub struct AssetPath {
    name: String,
}

/// `GET /assets/NAME`: an embedded asset.
pub async fn asset(Path(AssetPath { name }): Path<AssetPath>) -> Response {
    match ASSETS.iter().find(|(asset, _, _)| *asset == name) {
        Some((_, content_type, body)) => {
            ([(header::CONTENT_TYPE, *content_type)], *body).into_response()
        }
        None => (StatusCode::NOT_FOUND, "no such asset\n").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn every_page_states_the_limits_from_the_lexicon() {
        let page = shell("/", "Start", "<p>body</p>", None).0;
        for limit in LIMITS {
            assert!(page.contains(&escape(limit.text)), "{}", limit.topic);
        }
        for item in NAV {
            assert!(page.contains(&format!("href=\"{}\"", item.path)));
        }
    }
}
