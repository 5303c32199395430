//! The Review page in a real browser: the bundled real-face clip analysed by the server from
//! a typed path, the progress, the timeline, an event played at 0.25x with its region outlined,
//! a correction saved as `microcue drill review` saves it, and the exports compared byte for
//! byte with what `microcue analyze --format` writes for the same file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use fantoccini::{Client, Locator};
use serde_json::Value;

use crate::browser::{
    assert_only_the_journal_written, click, fetch_text, microcue, screenshot, start_browser,
    start_server, text_when_shown, wait_for,
};

/// The bundled clip (MIT, assets/README.md): a man, neutral, then a broad smile.
pub(crate) fn clip() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/single_face.mp4")
}

/// The reviewed events of a journal, without their uids.
fn reviews(home: &Path) -> Value {
    let output = microcue(home, &["journal", "export", "--format", "json"], "");
    let mut export: Value = serde_json::from_slice(&output.stdout).unwrap();
    let mut reviews = export["reviewed_events"].take();
    for review in reviews.as_array_mut().unwrap() {
        review.as_object_mut().unwrap().remove("uid");
    }
    reviews
}

/// Opens `video` on the Review page as a user does (its path typed, "only me") and waits for
/// the analysis to finish.
pub(crate) async fn analyse_on_the_review_page(client: &Client, base: &str, video: &Path) {
    client.goto(&format!("{base}/review")).await.unwrap();
    screenshot(client, "review-1280-empty.png").await;
    let field = client.find(Locator::Id("review-path")).await.unwrap();
    field.send_keys(video.to_str().unwrap()).await.unwrap();
    click(client, Locator::Css("input[name=consent][value=self]")).await;
    click(client, Locator::Id("review-open")).await;
    let state = wait_for(
        client,
        "const j = document.getElementById('job'); return j && j.dataset.state",
        Duration::from_secs(180),
        "the analysis to finish",
        |state| state.as_str().is_some_and(|s| s != "running"),
    )
    .await;
    assert_eq!(state, "done");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clip_is_reviewed_in_the_browser_and_exported_as_the_cli_writes_it() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let cwd = dir.path().join("cwd");
    std::fs::create_dir_all(&cwd).unwrap();
    let video = dir.path().join("single_face.mp4");
    std::fs::copy(clip(), &video).unwrap();
    let (_server, url) = start_server(&home, &cwd);
    let (_driver, client) = start_browser(None).await;
    let base = url.trim_end_matches('/');

    analyse_on_the_review_page(&client, base, &video).await;
    let events: usize = client
        .execute(
            "return document.getElementById('job').dataset.events",
            vec![],
        )
        .await
        .unwrap()
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(events >= 1, "the smile in the clip is found");

    // The exports: the same bytes as `microcue analyze --format F` on the same file.
    let cli_home = dir.path().join("cli-home");
    let jsonl = dir.path().join("events.jsonl");
    for format in ["jsonl", "csv", "vtt"] {
        let out = dir.path().join(format!("cli.{format}"));
        microcue(
            &cli_home,
            &[
                "analyze",
                video.to_str().unwrap(),
                "--consent",
                "self",
                "--quiet",
                "--format",
                format,
                "--out",
                out.to_str().unwrap(),
            ],
            "",
        );
        let app = fetch_text(&client, &format!("/review/export/{format}")).await;
        let cli = std::fs::read_to_string(&out).unwrap();
        assert_eq!(app, cli, "{format} export");
        if format == "jsonl" {
            std::fs::copy(&out, &jsonl).unwrap();
        }
    }

    // The timeline has a row per cue, the filter hides a cue's events.
    let cue = client
        .execute(
            "return document.querySelector('#events li.event').dataset.cue",
            vec![],
        )
        .await
        .unwrap();
    let cue = cue.as_str().unwrap().to_owned();
    let marks = client
        .execute(
            "return document.querySelectorAll('#timeline .mark').length",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(marks.as_u64(), Some(events as u64), "one mark per event");
    click(
        &client,
        Locator::Css(&format!("input.filter[data-cue={cue}]")),
    )
    .await;
    let hidden = client
        .execute(
            "return document.querySelector('#events li.event').hidden",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(hidden, true, "the filter hides the cue's events");
    click(
        &client,
        Locator::Css(&format!("input.filter[data-cue={cue}]")),
    )
    .await;

    // Play the first event at 0.25x: the video plays slowly, the region is outlined while the
    // movement lasts, and playback stops after it.
    click(
        &client,
        Locator::Css("#events li.event button.play[data-rate=\"0.25\"]"),
    )
    .await;
    let rate = client
        .execute(
            "return document.getElementById('review-video').playbackRate",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(rate.as_f64(), Some(0.25));
    wait_for(
        &client,
        "return window.microcueReview.state().highlighted",
        Duration::from_secs(30),
        "the region outlined during the movement",
        |count| count.as_u64().unwrap_or(0) > 0,
    )
    .await;
    screenshot(&client, "review-1280-playing.png").await;
    let played = wait_for(
        &client,
        "return window.microcueReview.state().lastPlay",
        Duration::from_secs(60),
        "the slow playback to end",
        |last| last["finished"] == true || last["error"].is_string(),
    )
    .await;
    assert_eq!(played["finished"], true, "{played}");

    // Correct the first event to a genuine smile: the journal row `drill review` writes.
    let event = client.find(Locator::Css("#events li.event")).await.unwrap();
    event
        .find(Locator::Css("select[name=cue]"))
        .await
        .unwrap()
        .select_by_value("genuine_smile")
        .await
        .unwrap();
    event
        .find(Locator::Css("button.correct"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(
        &client,
        "const e = document.querySelector('#events li.event'); return e && e.dataset.verdict",
        Duration::from_secs(10),
        "the verdict on the page",
        |verdict| verdict == "corrected" || verdict == "confirmed",
    )
    .await;
    screenshot(&client, "review-1280-done.png").await;
    client.set_window_rect(0, 0, 390, 844).await.unwrap();
    screenshot(&client, "review-390.png").await;
    // The CLI, same events, same answer (c, the cue, the default side, then quit).
    microcue(
        &cli_home,
        &[
            "drill",
            "review",
            jsonl.to_str().unwrap(),
            "--label",
            "single_face.mp4",
        ],
        "c\ngenuine_smile\n\nq\n",
    );
    let app_reviews = reviews(&home);
    assert_eq!(app_reviews.as_array().map(Vec::len), Some(1));
    assert_eq!(app_reviews, reviews(&cli_home));

    assert_only_the_journal_written(&home, &cwd);

    // A path that is not a video: a clear error naming it.
    client.goto(&format!("{base}/review")).await.unwrap();
    let field = client.find(Locator::Id("review-path")).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys("/nonexistent/clip.mp4").await.unwrap();
    click(&client, Locator::Css("input[name=consent][value=self]")).await;
    click(&client, Locator::Id("review-open")).await;
    let problem = text_when_shown(&client, "problem", "the error page").await;
    assert!(
        problem.contains("/nonexistent/clip.mp4") && problem.contains("hint:"),
        "{problem}"
    );
    client.close().await.unwrap();
}
