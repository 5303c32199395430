//! The mirror drill in a real browser, with a real face as the webcam: the brow flash the live
//! test uses (`microcue stimuli make` on the bundled clip, looped by Chromium). The page is
//! asked for an eyebrow flash; what it reports (seen or not, side, duration) is compared with
//! what `microcue analyze` reads on the same file, and the journal's trial with the record
//! `microcue drill record --kind mirror` writes for that result.

use std::path::Path;
use std::time::Duration;

use fantoccini::Locator;
use serde_json::Value;

use crate::browser::{
    assert_only_the_journal_written, click, make_camera_clip, microcue, screenshot, start_browser,
    start_server, text_of, wait_for,
};

/// The trials of a journal, without uid and session.
fn trials(home: &Path) -> Vec<Value> {
    let output = microcue(home, &["journal", "export", "--format", "json"], "");
    let mut export: Value = serde_json::from_slice(&output.stdout).unwrap();
    export["trials"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .map(|trial| {
            let object = trial.as_object_mut().unwrap();
            object.remove("uid");
            object.remove("session");
            Value::Object(object.clone())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mirror_drill_reports_what_the_pipeline_saw_on_the_camera() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let cwd = dir.path().join("cwd");
    std::fs::create_dir_all(&cwd).unwrap();
    let camera = make_camera_clip(dir.path(), 2500);

    // What the analysis of a file reads on the camera clip.
    let events_file = dir.path().join("camera.jsonl");
    let cli_home = dir.path().join("cli-home");
    microcue(
        &cli_home,
        &[
            "analyze",
            camera.to_str().unwrap(),
            "--consent",
            "self",
            "--quiet",
            "--format",
            "jsonl",
            "--out",
            events_file.to_str().unwrap(),
        ],
        "",
    );
    let read: Vec<Value> = std::fs::read_to_string(&events_file)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .filter(|record: &Value| record["kind"] == "event")
        .collect();
    let flash = read
        .iter()
        .find(|event| event["cue"] == "eyebrow_flash")
        .unwrap_or_else(|| panic!("the analysis reads the brow flash: {read:?}"));

    let (_server, url) = start_server(&home, &cwd);
    let (_driver, client) = start_browser(Some(&camera)).await;
    let base = url.trim_end_matches('/');

    // The camera is gated by the consent choice on the Drills page.
    client.goto(&format!("{base}/drills/mirror")).await.unwrap();
    let landed = client.current_url().await.unwrap();
    assert_eq!(landed.fragment(), Some("mirror"), "redirected: {landed}");
    click(&client, Locator::Id("mirror-start")).await;
    let cue = client.find(Locator::Id("mirror-cue")).await.unwrap();
    cue.select_by_value("eyebrow_flash").await.unwrap();
    let instruction = text_of(&client, Locator::Id("mirror-instruction")).await;
    assert!(instruction.contains("eyebrow flash"), "{instruction}");
    // A window longer than the clip's loop (2.5 s, the flash, 2.5 s): one flash falls in it.
    client
        .find(Locator::Id("mirror-window"))
        .await
        .unwrap()
        .select_by_value("8")
        .await
        .unwrap();
    wait_for(
        &client,
        "return document.getElementById('mirror-go').disabled",
        Duration::from_secs(60),
        "the baseline to be ready",
        |disabled| disabled.as_bool() == Some(false),
    )
    .await;
    screenshot(&client, "mirror-1280-ready.png").await;
    click(&client, Locator::Id("mirror-go")).await;
    let seen = wait_for(
        &client,
        "const r = document.getElementById('mirror-result'); return r.hidden ? null : r.dataset.seen",
        Duration::from_secs(40),
        "the reading of the attempt",
        Value::is_string,
    )
    .await;
    screenshot(&client, "mirror-1280-result.png").await;
    client.set_window_rect(0, 0, 390, 844).await.unwrap();
    screenshot(&client, "mirror-390-result.png").await;
    let result = client
        .execute("return window.microcueMirror.results()[0]", vec![])
        .await
        .unwrap();
    let text = text_of(&client, Locator::Id("mirror-result")).await;
    eprintln!("mirror drill: {result}\nCLI: {flash}");

    // The page says what the analysis of the file says: the flash, its side, its duration
    // (within five frames at 30 fps: the page's frames arrive on its own clock, and a loaded
    // machine drops some).
    assert_eq!(seen, "true", "{text}");
    assert_eq!(result["score"]["side"], flash["side"], "{text}");
    let page_ms = result["score"]["duration_ms"].as_f64().unwrap();
    let cli_ms = flash["duration_ms"].as_f64().unwrap();
    assert!(
        (page_ms - cli_ms).abs() <= 170.0,
        "live {page_ms:.0} ms vs file {cli_ms:.0} ms"
    );
    assert!(
        text.contains("hypothesis") && text.contains("confidence"),
        "{text}"
    );
    assert!(
        result["journal_uid"].is_string(),
        "saved to the journal: {result}"
    );
    client.close().await.unwrap();
    drop(_server);

    // The journal holds the trial `microcue drill record --kind mirror` writes for that result.
    let exposure = format!("{page_ms}");
    microcue(
        &cli_home,
        &[
            "drill",
            "record",
            "--kind",
            "mirror",
            "--cue",
            "eyebrow_flash",
            "--answered",
            "eyebrow_flash",
            "--exposure-ms",
            &exposure,
        ],
        "",
    );
    assert_eq!(trials(&home), trials(&cli_home));

    assert_only_the_journal_written(&home, &cwd);
}
