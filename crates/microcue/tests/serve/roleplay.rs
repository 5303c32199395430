//! Roleplay cards in a real browser: the deck of `microcue drill card`, walked with the keyboard
//! (arrow keys and `n`/`p`), each card the one the terminal draws with the same seed.

use std::time::Duration;

use fantoccini::{Client, Locator};
use serde_json::Value;

use crate::browser::{click, microcue, screenshot, start_browser, start_server, wait_for};

/// The card on the page: number, cue id, title.
async fn card(client: &Client) -> (u64, String, String) {
    let value = wait_for(
        client,
        "const c = document.getElementById('roleplay'); \
         return c && [Number(c.dataset.card), c.dataset.cue, document.getElementById('roleplay-cue').textContent]",
        Duration::from_secs(10),
        "a roleplay card",
        Value::is_array,
    )
    .await;
    (
        value[0].as_u64().unwrap(),
        value[1].as_str().unwrap().to_owned(),
        value[2].as_str().unwrap().to_owned(),
    )
}

/// Presses `key` (a WebDriver key code or a character) and waits for card `expected`.
async fn press(client: &Client, key: &str, expected: u64) -> (u64, String, String) {
    client
        .active_element()
        .await
        .unwrap()
        .send_keys(key)
        .await
        .unwrap();
    wait_for(
        client,
        "const c = document.getElementById('roleplay'); return c && Number(c.dataset.card)",
        Duration::from_secs(10),
        "the next card",
        |number| number.as_u64() == Some(expected),
    )
    .await;
    card(client).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roleplay_cards_are_walked_with_the_keyboard() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let cwd = dir.path().join("cwd");
    std::fs::create_dir_all(&cwd).unwrap();
    let (_server, url) = start_server(&home, &cwd);
    let (_driver, client) = start_browser(None).await;
    let base = url.trim_end_matches('/');

    client.goto(&format!("{base}/drills")).await.unwrap();
    click(&client, Locator::Id("roleplay-link")).await;
    let first = card(&client).await;
    assert_eq!(first.0, 1);
    let seed = client
        .execute(
            "return document.getElementById('roleplay').dataset.seed",
            vec![],
        )
        .await
        .unwrap();
    let seed = seed.as_str().unwrap().to_owned();
    let page = client
        .find(Locator::Id("roleplay"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for part in ["Scenario", "Performer", "Looks like"] {
        assert!(page.contains(part), "the card shows `{part}`: {page}");
    }
    screenshot(&client, "roleplay-1280.png").await;

    // → and n go forward, ← and p back.
    let second = press(&client, "\u{E014}", 2).await;
    let third = press(&client, "n", 3).await;
    assert_eq!(press(&client, "\u{E012}", 2).await, second);
    assert_eq!(press(&client, "p", 1).await, first);
    client.set_window_rect(0, 0, 390, 844).await.unwrap();
    screenshot(&client, "roleplay-390.png").await;
    client.close().await.unwrap();

    // The terminal draws the same cards from the same seed.
    let output = microcue(
        &home,
        &["drill", "card", "--count", "3", "--seed", &seed],
        "",
    );
    let terminal: Vec<String> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .filter(|line| line.starts_with("Card "))
        .map(str::to_owned)
        .collect();
    assert_eq!(terminal.len(), 3, "{terminal:?}");
    for (number, (_, _, title)) in [first, second, third].iter().enumerate() {
        let name = title.split(" — ").next().unwrap();
        assert!(
            terminal[number].starts_with(&format!("Card {}: {name} — ", number + 1)),
            "card {}: page `{title}`, terminal `{}`",
            number + 1,
            terminal[number]
        );
    }
}
