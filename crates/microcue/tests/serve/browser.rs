//! The live coach in a real browser: `microcue serve` as a user starts it, Debian's Chromium
//! headless (driven through WebDriver: fantoccini and chromedriver), and as its camera a real
//! face with a real movement in it (a brow flash rendered by `microcue stimuli make` on the
//! bundled clip, padded to 640x480 in this test; Chromium loops the file).
//!
//! Asserts that the cue appears on the live page, that "I responded" leads to an outcome that
//! reaches the journal (a temporary MICROCUE_HOME), and that no frame reached the disk.
//!
//! Needs `chromium` and `chromedriver` (Debian: `apt-get install chromium chromium-driver`;
//! `scripts/ci-deps.sh` installs them). With `MICROCUE_SCREENSHOTS=DIR` the test saves the
//! pages it saw there as PNG files (they show the camera picture: only when asked).
//!
//! The latency benchmark (`cargo test --release -p microcue --test serve -- --ignored`) is
//! described in docs/benchmarks.md.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use microcue_vision::Frame;
use microcue_vision::source::{FrameSource, Y4mSource, Y4mWriter};
use serde_json::{Value, json};

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_microcue");

/// Ends a child process when dropped (a failing test leaves no browser or server behind).
pub(crate) struct Running(pub(crate) Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The first of `names` found on PATH.
fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

fn require(names: &[&str]) -> PathBuf {
    find_program(names).unwrap_or_else(|| {
        panic!(
            "`{}` is not installed; this test drives a real browser.\n\
             hint: on Debian/Ubuntu `apt-get install chromium chromium-driver` \
             (scripts/ci-deps.sh installs them)",
            names[0]
        )
    })
}

/// A free local port (another process may take it before us; good enough for a test).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
}

/// Renders the camera clip: `microcue stimuli make` (640x360 at 30 fps), then letterboxed to
/// 640x480, the size of a common webcam.
pub(crate) fn make_camera_clip(dir: &Path, neutral_ms: u32) -> PathBuf {
    let flash = dir.join("flash.y4m");
    let status = Command::new(BIN)
        .args([
            "stimuli",
            "make",
            "--cue",
            "eyebrow_flash",
            "--exposure-ms",
            "300",
        ])
        .args(["--intensity", "0.8", "--fps", "30", "--neutral-ms"])
        .arg(neutral_ms.to_string())
        .arg("--out")
        .arg(&flash)
        .status()
        .expect("microcue runs");
    assert!(status.success(), "stimuli make failed");
    let camera = dir.join("camera.y4m");
    let mut source = Y4mSource::open(&flash).expect("the flash clip opens");
    let (width, height) = (640_u32, 480_u32);
    let file = std::io::BufWriter::new(std::fs::File::create(&camera).unwrap());
    let mut writer = Y4mWriter::with_fps(file, width, height, 30.0).unwrap();
    let mut frame = Frame::default();
    let mut padded = Frame::default();
    while source.next_frame(&mut frame).expect("decodes") {
        assert!(frame.width == width && frame.height <= height);
        padded.resize(width, height);
        padded.rgb.fill(16);
        let top = ((height - frame.height) / 2) as usize * width as usize * 3;
        padded.rgb[top..top + frame.rgb.len()].copy_from_slice(&frame.rgb);
        padded.index = frame.index;
        writer.write_frame(&padded).unwrap();
    }
    writer.finish().unwrap();
    std::fs::remove_file(&flash).unwrap();
    camera
}

/// Starts `microcue serve --port 0` and returns it with the URL it printed.
pub(crate) fn start_server(home: &Path, cwd: &Path) -> (Running, String) {
    let mut child = Command::new(BIN)
        .args(["serve", "--port", "0", "--date", "2026-03-02", "--home"])
        .arg(home)
        .current_dir(cwd)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("microcue serve starts");
    let stdout = child.stdout.take().unwrap();
    let running = Running(child);
    let mut lines = BufReader::new(stdout);
    let mut first = String::new();
    lines.read_line(&mut first).unwrap();
    // The rest of what it prints is read too, so the server never writes into a closed pipe.
    std::thread::spawn(move || std::io::copy(&mut lines, &mut std::io::sink()));
    let url = first
        .split_whitespace()
        .find(|word| word.starts_with("http://"))
        .unwrap_or_else(|| panic!("serve printed no URL: {first:?}"))
        .to_owned();
    assert!(
        url.starts_with("http://127.0.0.1:"),
        "loopback by default: {url}"
    );
    (running, url)
}

/// Starts chromedriver and a headless Chromium session whose camera is `camera` (none: the
/// fake device's test pattern).
pub(crate) async fn start_browser(camera: Option<&Path>) -> (Running, Client) {
    let chromium = require(&["chromium", "chromium-browser", "google-chrome"]);
    let chromedriver = require(&["chromedriver"]);
    let port = free_port();
    let driver = Running(
        Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts"),
    );
    let mut args = vec![
        "--headless=new".to_owned(),
        "--no-sandbox".to_owned(),
        "--disable-dev-shm-usage".to_owned(),
        "--window-size=1280,1500".to_owned(),
        "--use-fake-ui-for-media-stream".to_owned(),
        "--use-fake-device-for-media-stream".to_owned(),
        "--autoplay-policy=no-user-gesture-required".to_owned(),
    ];
    if let Some(camera) = camera {
        args.push(format!(
            "--use-file-for-fake-video-capture={}",
            camera.display()
        ));
    }
    let capabilities = json!({
        "goog:chromeOptions": { "binary": chromium, "args": args }
    });
    let Value::Object(capabilities) = capabilities else {
        unreachable!()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let client = loop {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(capabilities.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(client) => break client,
            Err(error) if Instant::now() < deadline => {
                let _ = error;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(error) => panic!("cannot start a Chromium session through chromedriver: {error}"),
        }
    };
    (driver, client)
}

/// Polls `script` (returning a value) until `done` accepts it or `timeout` passes.
pub(crate) async fn wait_for(
    client: &Client,
    script: &str,
    timeout: Duration,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + timeout;
    loop {
        let value = client.execute(script, vec![]).await.expect("script runs");
        if done(&value) {
            return value;
        }
        if Instant::now() > deadline {
            let stats = client
                .execute("return window.microcue && window.microcue.stats()", vec![])
                .await
                .unwrap_or(Value::Null);
            panic!("timed out waiting for {what}; last value {value}; page stats {stats}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits for the element `id` (on the page a click led to) and returns its text.
pub(crate) async fn text_when_shown(client: &Client, id: &str, what: &str) -> String {
    let text = wait_for(
        client,
        &format!("const e = document.getElementById('{id}'); return e && e.textContent"),
        Duration::from_secs(10),
        what,
        Value::is_string,
    )
    .await;
    text.as_str().unwrap_or_default().to_owned()
}

/// Fetches `path` from the page (same origin, as following a link would) as text.
pub(crate) async fn fetch_text(client: &Client, path: &str) -> String {
    let value = client
        .execute_async(
            &format!(
                "const done = arguments[arguments.length - 1]; \
                 fetch('{path}').then(r => r.text()).then(done, e => done('ERROR ' + e))"
            ),
            vec![],
        )
        .await
        .expect("script runs");
    value.as_str().unwrap_or_default().to_owned()
}

/// Runs `microcue ARGS` on the journal in `home` on the tests' date, with `stdin` as its input;
/// fails the test unless it succeeds.
pub(crate) fn microcue(home: &Path, args: &[&str], stdin: &str) -> std::process::Output {
    use std::io::Write as _;
    let mut child = Command::new(BIN)
        .args(args)
        .env("MICROCUE_HOME", home)
        .env("MICROCUE_TODAY", "2026-03-02")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("microcue runs");
    let mut input = child.stdin.take().expect("stdin");
    // A command may stop reading early: a closed pipe is fine.
    let _ = input.write_all(stdin.as_bytes());
    drop(input);
    let output = child.wait_with_output().expect("microcue finishes");
    assert!(
        output.status.success(),
        "microcue {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

pub(crate) async fn click(client: &Client, locator: Locator<'_>) {
    client.find(locator).await.unwrap().click().await.unwrap();
}

pub(crate) async fn text_of(client: &Client, locator: Locator<'_>) -> String {
    client.find(locator).await.unwrap().text().await.unwrap()
}

pub(crate) async fn screenshot(client: &Client, name: &str) {
    if let Some(dir) = std::env::var_os("MICROCUE_SCREENSHOTS") {
        let png = client.screenshot().await.expect("screenshot");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(Path::new(&dir).join(name), png).unwrap();
    }
}

/// Asserts that no frame reached the disk: `home` holds the journal only, `cwd` nothing.
pub(crate) fn assert_only_the_journal_written(home: &Path, cwd: &Path) {
    for file in files_under(home) {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with("journal"), "unexpected {}", file.display());
    }
    assert_eq!(files_under(cwd), Vec::<PathBuf>::new());
}

/// Files under `dir`, recursively.
pub(crate) fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_under(&path));
        } else {
            found.push(path);
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_coach_spots_a_cue_from_the_camera_and_logs_the_outcome() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let cwd = dir.path().join("cwd");
    std::fs::create_dir_all(&cwd).unwrap();
    let camera = make_camera_clip(dir.path(), 2500);
    let (_server, url) = start_server(&home, &cwd);
    let (_driver, client) = start_browser(Some(&camera)).await;

    // The camera is gated: the live page without a consent choice sends the browser back to the
    // first page, which has no video element and so never asks for the camera.
    client.goto(&format!("{url}live")).await.unwrap();
    let landed = client.current_url().await.unwrap();
    assert_eq!(landed.fragment(), Some("consent"), "redirected: {landed}");
    let video = client
        .execute("return document.querySelectorAll('video').length", vec![])
        .await
        .unwrap();
    assert_eq!(video, 0, "no camera before the consent choice");

    // First run: what it can and cannot do, the ethics, then the consent choice.
    client.goto(&url).await.unwrap();
    let page = client.source().await.unwrap();
    for text in [
        "not a lie detector",
        "Consent &amp; benefit",
        "Whose face will be on camera?",
    ] {
        assert!(page.contains(text), "the first page says `{text}`");
    }
    screenshot(&client, "1-start.png").await;
    click(&client, Locator::Css("input[name=consent][value=self]")).await;
    click(&client, Locator::Id("start")).await;

    // The live page: the face box and the baseline warm-up, then the flash read as a cue.
    wait_for(
        &client,
        "return window.microcue ? window.microcue.stats().latency_ms.count : 0",
        Duration::from_secs(30),
        "the first analysed frame",
        |count| count.as_u64().unwrap_or(0) > 0,
    )
    .await;
    let sensitivity = client
        .find(Locator::Id("sensitivity"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(
        sensitivity.as_deref(),
        Some("0.5"),
        "the default sensitivity"
    );
    let warmup = text_of(&client, Locator::Id("baseline-text")).await;
    assert!(
        warmup.contains("resting face"),
        "the warm-up is shown: {warmup}"
    );
    screenshot(&client, "2-warmup.png").await;
    let cue = wait_for(
        &client,
        "return document.getElementById('cue').dataset.cue || null",
        Duration::from_secs(40),
        "a cue on the live page",
        |cue| cue.is_string(),
    )
    .await;
    assert_eq!(
        cue, "eyebrow_flash",
        "the brow flash in the camera clip is read"
    );
    let card = text_of(&client, Locator::Id("cue")).await;
    assert!(
        card.contains("brows") && card.contains("side: both") && card.contains("confidence"),
        "{card}"
    );
    let suggestion = text_of(&client, Locator::Id("suggestion")).await;
    assert!(suggestion.contains("“"), "an example line: {suggestion}");

    // A context button feeds the two-signal rule: cue + context = a hypothesis.
    click(&client, Locator::Css("button.context[data-kind=question]")).await;
    wait_for(
        &client,
        "return document.getElementById('hypothesis').dataset.state || null",
        Duration::from_secs(5),
        "a hypothesis from cue + context",
        |state| state == "hypothesis",
    )
    .await;
    screenshot(&client, "3-cue.png").await;

    // "I responded": the outcome watch, its call, the journal.
    click(&client, Locator::Id("responded")).await;
    let outcome = wait_for(
        &client,
        "return document.getElementById('watch').dataset.outcome || null",
        Duration::from_secs(25),
        "the outcome of the response",
        |outcome| outcome.is_string(),
    )
    .await;
    screenshot(&client, "4-outcome.png").await;
    if std::env::var_os("MICROCUE_SCREENSHOTS").is_some() {
        client.set_window_rect(0, 0, 390, 844).await.unwrap();
        screenshot(&client, "5-live-390.png").await;
    }
    let stats = client
        .execute("return window.microcue.stats()", vec![])
        .await
        .unwrap();
    let logged = &stats["outcomes"][0];
    assert_eq!(logged["outcome"], outcome);
    assert!(
        logged["journal_uid"].is_string(),
        "the outcome reached the journal: {logged}"
    );
    eprintln!(
        "browser test: cue after {:.1} s; stats {}",
        started.elapsed().as_secs_f64(),
        json!({
            "latency_ms": stats["latency_ms"],
            "server": stats["server"],
            "camera_frames": stats["camera_frames"],
            "skipped_page": stats["skipped_page"],
            "cues": stats["cues"],
        })
    );
    client.close().await.unwrap();
    drop(_server);

    // The journal holds the entry `microcue log add` would have written.
    let listed = Command::new(BIN)
        .args(["log", "list", "--json", "--home"])
        .arg(&home)
        .output()
        .unwrap();
    assert!(listed.status.success());
    let entries: Value = serde_json::from_slice(&listed.stdout).unwrap();
    let entry = &entries[0];
    assert_eq!(entry["cue"], "eyebrow_flash", "{entries}");
    assert_eq!(entry["date"], "2026-03-02");
    assert_eq!(entry["response"], "invite");
    assert_eq!(entry["context"], "live coach: question");
    assert!(entry["outcome"].is_string());

    assert_only_the_journal_written(&home, &cwd);
    assert!(
        started.elapsed() < Duration::from_secs(150),
        "the browser test stays bounded"
    );
}

/// One measured configuration of the live page.
struct Measured {
    label: String,
    stats: Value,
}

/// Runs the live page for `seconds` (after a warm-up) with `query` and returns its statistics.
async fn measure(client: &Client, url: &str, query: &str, seconds: u64) -> Value {
    let base = url.trim_end_matches('/');
    client
        .goto(&format!("{base}/live?consent=self{query}"))
        .await
        .unwrap();
    wait_for(
        client,
        "return window.microcue ? window.microcue.stats().latency_ms.count : 0",
        Duration::from_secs(30),
        "the first analysed frame",
        |count| count.as_u64().unwrap_or(0) > 0,
    )
    .await;
    // Let the JIT, the tracker and the baseline settle, then measure from zero.
    tokio::time::sleep(Duration::from_secs(5)).await;
    client
        .execute("window.microcue.reset(); window.microcueStart = window.microcue.stats().server; return null", vec![])
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    client
        .execute(
            "const s = window.microcue.stats(); s.server_at_start = window.microcueStart; return s",
            vec![],
        )
        .await
        .unwrap()
}

/// The latency benchmark of docs/benchmarks.md: capture -> result on the page (p50, p95),
/// frames dropped, and how long after a movement ends its cue is on screen, for JPEG frames with
/// and without the page's in-flight limit and raw RGBA frames (full and half size), each for 30 s
/// (`MICROCUE_BENCH_SECONDS`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark (about 3 minutes): cargo test --release -p microcue --test serve -- --ignored"]
async fn live_latency_benchmark() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let cwd = dir.path().join("cwd");
    std::fs::create_dir_all(&cwd).unwrap();
    let camera = make_camera_clip(dir.path(), 2500);
    let (_server, url) = start_server(&home, &cwd);
    let (_driver, client) = start_browser(Some(&camera)).await;
    let seconds = std::env::var("MICROCUE_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let mut results = Vec::new();
    for (label, query) in [
        ("JPEG q0.8, 640x480", "&format=jpeg&quality=0.8"),
        (
            "JPEG q0.8, 640x480, no in-flight limit",
            "&format=jpeg&quality=0.8&inflight=0",
        ),
        ("raw RGBA, 640x480", "&format=rgba&scale=1"),
        ("raw RGBA, 320x240", "&format=rgba&scale=0.5"),
    ] {
        let stats = measure(&client, &url, query, seconds).await;
        results.push(Measured {
            label: label.to_owned(),
            stats,
        });
    }
    client.close().await.unwrap();
    // What else ran: the machine's load over the last minute, at the end.
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average at the end: {}", load.trim());
    println!(
        "| frames | camera frames | analysed | dropped (busy) | skipped in page | dropped % | capture->result p50 ms | p95 ms | encode p50 ms | KB/frame | cue shown after offset, ms |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for Measured { label, stats } in &results {
        let count = |key: &str| {
            stats["server"][key].as_f64().unwrap_or(0.0)
                - stats["server_at_start"][key].as_f64().unwrap_or(0.0)
        };
        let camera = stats["camera_frames"].as_f64().unwrap_or(0.0);
        let skipped = stats["skipped_page"].as_f64().unwrap_or(0.0);
        let dropped = count("dropped_busy") + count("dropped_rate") + skipped;
        let sent = stats["sent"].as_f64().unwrap_or(1.0).max(1.0);
        let delays: Vec<String> = stats["cues"]
            .as_array()
            .map(|cues| {
                cues.iter()
                    .filter_map(|cue| cue["delay_after_offset_ms"].as_f64())
                    .map(|ms| format!("{ms:.0}"))
                    .collect()
            })
            .unwrap_or_default();
        println!(
            "| {label} | {camera:.0} | {:.0} | {:.0} | {skipped:.0} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {} |",
            count("analysed"),
            count("dropped_busy"),
            100.0 * dropped / camera.max(1.0),
            stats["latency_ms"]["p50"].as_f64().unwrap_or(f64::NAN),
            stats["latency_ms"]["p95"].as_f64().unwrap_or(f64::NAN),
            stats["encode_ms"]["p50"].as_f64().unwrap_or(f64::NAN),
            stats["bytes_sent"].as_f64().unwrap_or(0.0) / sent / 1024.0,
            delays.join(" ")
        );
    }
}
