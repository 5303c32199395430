//! The slow-motion study in a real browser: with no confirmed event the page says how to get
//! some; an event of the bundled clip confirmed on the Review page is then replayed slowly from
//! the video (paused at the apex, its region outlined), answered with the keyboard, saved as
//! the trial `microcue drill slowmo` saves for the same answer, and counted in the week's
//! slow-motion accuracy on the Journal page.

use std::path::Path;
use std::time::Duration;

use fantoccini::Locator;
use serde_json::Value;

use crate::browser::{
    assert_only_the_journal_written, click, microcue, screenshot, start_browser, start_server,
    text_of, text_when_shown, wait_for,
};
use crate::review::{analyse_on_the_review_page, clip};

/// The journal of `home` as `microcue journal export` writes it.
fn export(home: &Path) -> Value {
    let output = microcue(home, &["journal", "export", "--format", "json"], "");
    serde_json::from_slice(&output.stdout).unwrap()
}

/// The slow-motion trials of a journal, without what differs between two sessions (uid,
/// session name, reaction time).
fn slowmo_trials(home: &Path) -> Vec<Value> {
    let mut exported = export(home);
    let mut trials = exported["trials"].take();
    trials
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .filter(|t| t["kind"] == "slow_motion")
        .map(|trial| {
            let object = trial.as_object_mut().unwrap();
            for key in ["uid", "session", "reaction_ms"] {
                object.remove(key);
            }
            Value::Object(object.clone())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confirmed_events_are_studied_in_slow_motion_and_counted_on_the_dashboard() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let cwd = dir.path().join("cwd");
    std::fs::create_dir_all(&cwd).unwrap();
    let video = dir.path().join("single_face.mp4");
    std::fs::copy(clip(), &video).unwrap();
    microcue(&home, &["plan", "today", "--json"], "");
    let (_server, url) = start_server(&home, &cwd);
    let (_driver, client) = start_browser(None).await;
    let base = url.trim_end_matches('/');

    // Nothing confirmed yet: the page says how to get confirmed events.
    client.goto(&format!("{base}/drills")).await.unwrap();
    click(&client, Locator::Id("slowmo-link")).await;
    let empty = text_when_shown(&client, "slowmo-empty", "the empty study").await;
    assert!(
        empty.contains("Review page") && empty.contains("microcue drill review"),
        "{empty}"
    );
    screenshot(&client, "slowmo-1280-empty.png").await;

    // Confirm the first event of the clip on the Review page.
    analyse_on_the_review_page(&client, base, &video).await;
    let cue = client
        .execute(
            "return document.querySelector('#events li.event').dataset.cue",
            vec![],
        )
        .await
        .unwrap();
    let cue = cue.as_str().unwrap().to_owned();
    click(&client, Locator::Css("#events li.event button.confirm")).await;
    wait_for(
        &client,
        "const e = document.querySelector('#events li.event'); return e && e.dataset.verdict",
        Duration::from_secs(10),
        "the confirmation on the page",
        |verdict| verdict == "confirmed",
    )
    .await;
    // The terminal quiz gets the same reviews, for the comparison below.
    let reviewed = dir.path().join("reviewed.json");
    std::fs::write(&reviewed, serde_json::to_vec(&export(&home)).unwrap()).unwrap();
    let cli_home = dir.path().join("cli-home");
    microcue(
        &cli_home,
        &["journal", "import", reviewed.to_str().unwrap()],
        "",
    );

    // The study: one item, played from the video at its speed, paused at the apex, its region
    // outlined while it moves.
    client.goto(&format!("{base}/drills/slowmo")).await.unwrap();
    click(&client, Locator::Css("#slowmo-labels button.start")).await;
    let playable = wait_for(
        &client,
        "const s = document.getElementById('slowmo'); return s && s.dataset.playable",
        Duration::from_secs(10),
        "the first item",
        Value::is_string,
    )
    .await;
    assert_eq!(playable, "true", "the video open on the Review page plays");
    let played = wait_for(
        &client,
        "return window.microcueSlowmo.state()",
        Duration::from_secs(60),
        "the slow playback to end",
        |state| {
            state["finished"].as_u64().unwrap_or(0) > 0 || state["lastPlay"]["error"].is_string()
        },
    )
    .await;
    assert!(played["lastPlay"]["error"].is_null(), "{played}");
    assert!(played["pausedAtApex"].as_u64().unwrap_or(0) > 0, "{played}");
    assert!(played["highlighted"].as_u64().unwrap_or(0) > 0, "{played}");
    let rate = client
        .execute(
            "return [document.getElementById('slowmo-video').playbackRate, Number(document.getElementById('slowmo').dataset.rate)]",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(rate[0], rate[1], "played at the item's speed");
    assert!(rate[0] == 0.25 || rate[0] == 0.5, "{rate}");
    screenshot(&client, "slowmo-1280-item.png").await;
    client.set_window_rect(0, 0, 390, 844).await.unwrap();
    screenshot(&client, "slowmo-390-item.png").await;
    client.set_window_rect(0, 0, 1280, 1500).await.unwrap();

    // Answer with the keyboard: the key of the confirmed cue.
    let key = client
        .execute(
            &format!("return document.querySelector('button.choice[value=\"{cue}\"]').dataset.key"),
            vec![],
        )
        .await
        .unwrap();
    let key = key
        .as_str()
        .expect("the confirmed cue is a choice")
        .to_owned();
    client
        .active_element()
        .await
        .unwrap()
        .send_keys(&key)
        .await
        .unwrap();
    let summary = text_when_shown(&client, "slowmo-summary", "the end of the study").await;
    assert!(
        summary.contains("1 answer(s) saved, 1 correct (100 %)"),
        "{summary}"
    );
    let feedback = text_of(&client, Locator::Id("slowmo-feedback")).await;
    assert!(
        feedback.contains(&cue) && feedback.starts_with('✓'),
        "{feedback}"
    );
    screenshot(&client, "slowmo-1280-done.png").await;

    // The same answer in the terminal quiz gives the same trial.
    microcue(
        &cli_home,
        &[
            "drill",
            "slowmo",
            "--label",
            "single_face.mp4",
            "--seed",
            "7",
        ],
        &format!("{cue}\n"),
    );
    let app = slowmo_trials(&home);
    assert_eq!(app.len(), 1, "{app:?}");
    assert_eq!(app, slowmo_trials(&cli_home));
    let exported = export(&home);
    let stored = &exported["trials"][0];
    assert!(stored["reaction_ms"].as_f64().unwrap_or(-1.0) >= 0.0);
    assert!(
        stored["session"]
            .as_str()
            .unwrap_or_default()
            .starts_with("slowmo-2026-03-02-"),
        "{stored}"
    );

    // The Journal page counts it in the week's slow-motion accuracy.
    click(&client, Locator::Id("slowmo-journal")).await;
    let week = text_when_shown(&client, "week-kpis", "the Journal page").await;
    assert!(
        week.lines()
            .any(|line| line.contains("slow motion") && line.contains("100% (1/1)")),
        "the slow-motion accuracy is on the dashboard: {week}"
    );
    let bar = client
        .execute(
            "return document.querySelectorAll('#chart-slow-motion rect[data-week=\"1\"]').length",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(bar, 1, "week 1 has a slow-motion bar");
    client.close().await.unwrap();

    assert_only_the_journal_written(&home, &cwd);
}
