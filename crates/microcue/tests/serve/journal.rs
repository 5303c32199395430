//! The Journal page in a real browser (headless Chromium through chromedriver, as the live
//! coach's test): start the plan, log an outcome from the form at phone width and see it on
//! the dashboard, tick a task, export and import, forget everything and see the dashboard empty.
//! The records are compared with the ones the CLI writes for the same answers.

use std::path::Path;
use std::time::Duration;

use fantoccini::{Client, Locator};
use serde_json::Value;

use crate::browser::{
    click, fetch_text, files_under, microcue, screenshot, start_browser, start_server,
    text_when_shown, wait_for,
};

/// `microcue ARGS` on the journal in `home`.
fn cli(home: &Path, args: &[&str]) -> std::process::Output {
    microcue(home, args, "")
}

/// The log entries of a journal as `microcue log list --json` prints them, without their uids.
fn log_records(home: &Path) -> Value {
    let listed = cli(home, &["log", "list", "--json"]);
    let mut entries: Value = serde_json::from_slice(&listed.stdout).unwrap();
    for entry in entries.as_array_mut().unwrap() {
        entry.as_object_mut().unwrap().remove("uid");
    }
    entries
}

async fn dashboard(client: &Client, key: &str) -> Value {
    client
        .execute(
            &format!("const d = document.getElementById('dashboard'); return d && d.dataset.{key}"),
            vec![],
        )
        .await
        .unwrap()
}

async fn fill(client: &Client, id: &str, text: &str) {
    let field = client.find(Locator::Id(id)).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
}

async fn choose(client: &Client, id: &str, value: &str) {
    client
        .find(Locator::Id(id))
        .await
        .unwrap()
        .select_by_value(value)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_journal_logs_an_outcome_from_the_form_and_forgets_everything() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let cwd = dir.path().join("cwd");
    std::fs::create_dir_all(&cwd).unwrap();
    let (_server, url) = start_server(&home, &cwd);
    let (_driver, client) = start_browser(None).await;
    let base = url.trim_end_matches('/');

    // A new user: an empty journal, and viewing it creates no file.
    client.goto(&format!("{base}/journal")).await.unwrap();
    assert_eq!(dashboard(&client, "entries").await, "0");
    let page = client.source().await.unwrap();
    assert!(page.contains("Nothing in your journal yet"), "{page}");
    assert!(files_under(&home).is_empty(), "reading made no journal");
    for title in ["Start", "Live", "Journal"] {
        assert!(
            page.contains(&format!(">{title}</a>")),
            "the navigation links {title}"
        );
    }
    click(&client, Locator::Id("start-plan")).await;
    wait_for(
        &client,
        "const d = document.getElementById('dashboard'); return d && d.dataset.week",
        Duration::from_secs(10),
        "the plan's first week",
        |week| week == "1",
    )
    .await;

    // At phone width: the form fits the screen (nothing wider than the viewport) and logs.
    client.set_window_rect(0, 0, 390, 844).await.unwrap();
    let widths = client
        .execute(
            "const f = document.querySelector('#log-form form'); \
             return [document.documentElement.clientWidth, document.documentElement.scrollWidth, \
                     f.getBoundingClientRect().right]",
            vec![],
        )
        .await
        .unwrap();
    let viewport = widths[0].as_f64().unwrap();
    assert!(viewport <= 390.0, "phone viewport: {widths}");
    assert!(
        widths[1].as_f64().unwrap() <= viewport && widths[2].as_f64().unwrap() <= viewport,
        "the page and the log form fit a phone screen: {widths}"
    );
    screenshot(&client, "journal-390-empty.png").await;
    if std::env::var_os("MICROCUE_SCREENSHOTS").is_some() {
        client.goto(&format!("{base}/")).await.unwrap();
        screenshot(&client, "start-390.png").await;
        client.goto(&format!("{base}/journal")).await.unwrap();
    }
    choose(&client, "log-cue", "eyebrow_flash").await;
    fill(&client, "log-context", "I asked about her trip").await;
    fill(&client, "log-hypothesis", "positive").await;
    choose(&client, "log-response", "invite").await;
    choose(&client, "log-outcome", "improved").await;
    choose(&client, "log-confirmed", "yes").await;
    click(&client, Locator::Id("log-save")).await;
    wait_for(
        &client,
        "const d = document.getElementById('dashboard'); return d && d.dataset.detections",
        Duration::from_secs(10),
        "the detection on the dashboard",
        |count| count == "1",
    )
    .await;
    let notice = client
        .find(Locator::Id("notice"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(notice, "Saved to the journal.");
    let week = client
        .find(Locator::Id("week-kpis"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        week.contains("Approach success 100% (1/1)") && week.contains("False positives 0% (0/1)"),
        "the week's KPIs count the entry: {week}"
    );
    let bar = client
        .execute(
            "const b = document.querySelector('#chart-approach rect[data-week=\"1\"]'); \
             return b && b.dataset.value",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(bar, "1.000", "week 1's bar in the approach chart");
    screenshot(&client, "journal-390-logged.png").await;

    // The same record `microcue log add` writes for the same answers.
    let cli_home = dir.path().join("cli-home");
    cli(
        &cli_home,
        &[
            "log",
            "add",
            "--cue",
            "eyebrow_flash",
            "--context",
            "I asked about her trip",
            "--hypothesis",
            "positive",
            "--response",
            "invite",
            "--outcome",
            "improved",
            "--confirmed",
            "yes",
        ],
    );
    assert_eq!(log_records(&home), log_records(&cli_home));

    // Tick one of today's tasks.
    client.set_window_rect(0, 0, 1280, 1500).await.unwrap();
    let task = client
        .execute(
            "return document.querySelector('button.tick').dataset.task",
            vec![],
        )
        .await
        .unwrap();
    let task = task.as_str().unwrap().to_owned();
    click(&client, Locator::Css("button.tick")).await;
    wait_for(
        &client,
        &format!("const t = document.querySelector('li[data-task=\"{task}\"]'); return t && t.dataset.done"),
        Duration::from_secs(10),
        "the task ticked",
        |done| done == "true",
    )
    .await;
    screenshot(&client, "journal-1280.png").await;

    // Export: the bytes `microcue journal export --format json` writes.
    let exported = fetch_text(&client, "/journal/export.json").await;
    let cli_export = cli(&home, &["journal", "export", "--format", "json"]);
    assert_eq!(exported, String::from_utf8(cli_export.stdout).unwrap());
    let csv = fetch_text(&client, "/journal/export.csv?table=log").await;
    let cli_csv = cli(
        &home,
        &["journal", "export", "--format", "csv", "--table", "log"],
    );
    assert_eq!(csv, String::from_utf8(cli_csv.stdout).unwrap());
    let backup = dir.path().join("backup.json");
    std::fs::write(&backup, &exported).unwrap();

    // Forget everything: refused without the typed confirmation, done with it.
    click(&client, Locator::Id("forget")).await;
    assert_eq!(
        dashboard(&client, "entries").await,
        "1",
        "the browser's own check keeps an unconfirmed form from being sent"
    );
    fill(&client, "forget-confirm", "forget").await;
    click(&client, Locator::Id("forget")).await;
    wait_for(
        &client,
        "return document.getElementById('notice') && document.getElementById('notice').textContent",
        Duration::from_secs(10),
        "the forget notice",
        |text| {
            text.as_str()
                .is_some_and(|t| t.starts_with("Everything is forgotten"))
        },
    )
    .await;
    assert_eq!(dashboard(&client, "entries").await, "0");
    assert_eq!(dashboard(&client, "week").await, "0");
    let page = client.source().await.unwrap();
    assert!(page.contains("Nothing in your journal yet"));
    assert!(files_under(&home).is_empty(), "the journal files are gone");
    screenshot(&client, "journal-1280-forgotten.png").await;

    // Import the backup: everything is back; a second import adds nothing.
    fill(&client, "import-path", backup.to_str().unwrap()).await;
    click(&client, Locator::Id("import")).await;
    wait_for(
        &client,
        "const d = document.getElementById('dashboard'); return d && d.dataset.detections",
        Duration::from_secs(10),
        "the imported entry on the dashboard",
        |count| count == "1",
    )
    .await;
    fill(&client, "import-path", backup.to_str().unwrap()).await;
    click(&client, Locator::Id("import")).await;
    wait_for(
        &client,
        "const n = document.getElementById('notice'); return n && n.textContent",
        Duration::from_secs(10),
        "the second import's notice",
        |text| {
            text.as_str()
                .is_some_and(|t| t.starts_with("Imported 0 new rows"))
        },
    )
    .await;
    assert_eq!(log_records(&home), log_records(&cli_home));

    // A path that is not an export: a clear error naming it, nothing lost.
    fill(&client, "import-path", "/nonexistent/journal.json").await;
    click(&client, Locator::Id("import")).await;
    let problem = text_when_shown(&client, "problem", "the error page").await;
    assert!(
        problem.contains("/nonexistent/journal.json") && problem.contains("hint:"),
        "{problem}"
    );
    assert_eq!(log_records(&home), log_records(&cli_home));
    client.close().await.unwrap();
}
