//! The server's security rules and message handling, against a running server (real models,
//! real sockets): wrong Host, foreign Origin, missing token, malformed and excessive messages.

use std::io::{Cursor, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::OnceLock;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use microcue_app::protocol::{FrameHeader, PixelFormat, frame_message};
use microcue_app::{ServeOptions, Server};
use microcue_vision::source::{FrameSource, Mp4Source};
use microcue_vision::{Frame, Pipeline};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

/// The bundled real-face clip (MIT, assets/README.md).
const CLIP: &[u8] = include_bytes!("../../../../assets/single_face.mp4");

fn pipeline() -> Pipeline {
    static PIPELINE: OnceLock<Pipeline> = OnceLock::new();
    PIPELINE
        .get_or_init(|| Pipeline::load().expect("the embedded models load"))
        .clone()
}

/// A running server on `ip`, port chosen by the system; returns its address and URL. It runs
/// until the test binary ends.
fn start_server(ip: &str, journal_dir: &std::path::Path) -> (SocketAddr, String) {
    let options = ServeOptions::new(ip.parse().unwrap(), 0, journal_dir.join("journal.sqlite3"));
    let server = Server::bind(options, pipeline()).expect("binds");
    let (address, url) = (server.address(), server.url());
    std::thread::spawn(move || server.run_until(std::future::pending()));
    (address, url)
}

/// Sends a raw HTTP/1.1 request; returns the status code and the response text (up to the end
/// of the headers only when `headers_only`: an upgrade keeps the connection open).
fn http(address: SocketAddr, request: &str, headers_only: bool) -> (u16, String) {
    let mut stream = TcpStream::connect(address).expect("connects");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = Vec::new();
    let mut buffer = [0_u8; 65536];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => {
                response.extend_from_slice(&buffer[..n]);
                if headers_only && response.windows(4).any(|w| w == b"\r\n\r\n") {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    (status, text)
}

fn get(address: SocketAddr, path: &str, host: &str, extra: &str) -> (u16, String) {
    http(
        address,
        &format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n{extra}\r\n"),
        false,
    )
}

const UPGRADE: &str = "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\
                       Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";

fn upgrade(address: SocketAddr, host: &str, extra: &str) -> u16 {
    http(
        address,
        &format!("GET /ws/live HTTP/1.1\r\nHost: {host}\r\n{UPGRADE}{extra}\r\n"),
        true,
    )
    .0
}

#[test]
fn pages_answer_on_loopback_with_the_lexicon_limits_and_hardened_headers() {
    let home = tempfile::tempdir().unwrap();
    let (address, url) = start_server("127.0.0.1", home.path());
    assert_eq!(url, format!("http://{address}/"), "no token on 127.0.0.1");
    let host = address.to_string();
    let (status, page) = get(address, "/", &host, "");
    assert_eq!(status, 200, "{page}");
    for limit in microcue_core::lexicon::LIMITS {
        assert!(
            page.contains(&microcue_app::pages::escape(limit.topic)),
            "the first page states `{}`",
            limit.topic
        );
    }
    assert!(page.contains("not a lie detector"));
    assert!(page.contains("name=\"consent\" value=\"self\""));
    assert!(page.contains("name=\"consent\" value=\"given\""));
    let lower = page.to_ascii_lowercase();
    for header in [
        "content-security-policy: default-src 'self'",
        "x-frame-options: deny",
        "x-content-type-options: nosniff",
        "referrer-policy: same-origin",
    ] {
        assert!(lower.contains(header), "missing `{header}`");
    }
    let (status, script) = get(address, "/assets/live.js", &host, "");
    assert_eq!(status, 200);
    assert!(script.contains("text/javascript"));
    assert_eq!(get(address, "/assets/nothing.js", &host, "").0, 404);
}

#[test]
fn the_live_page_needs_the_consent_choice_first() {
    let home = tempfile::tempdir().unwrap();
    let (address, _) = start_server("127.0.0.1", home.path());
    let host = address.to_string();
    let (status, response) = get(address, "/live", &host, "");
    assert_eq!(status, 303, "{response}");
    assert!(
        response
            .to_ascii_lowercase()
            .contains("location: /#consent")
    );
    let (status, page) = get(address, "/live?consent=maybe", &host, "");
    assert_eq!(status, 303, "{page}");
    let (status, page) = get(address, "/live?consent=self", &host, "");
    assert_eq!(status, 200);
    assert!(page.contains("data-consent=\"self\""));
    assert!(page.contains("I responded"));
}

#[test]
fn a_host_that_is_a_domain_name_is_refused_dns_rebinding() {
    let home = tempfile::tempdir().unwrap();
    let (address, _) = start_server("127.0.0.1", home.path());
    let port = address.port();
    for host in [
        format!("evil.example:{port}"),
        format!("127.0.0.1.nip.io:{port}"),
    ] {
        let (status, body) = get(address, "/", &host, "");
        assert_eq!(status, 403, "Host {host}: {body}");
        assert!(body.contains("DNS rebinding"));
        assert_eq!(upgrade(address, &host, ""), 403, "socket via Host {host}");
    }
    assert_eq!(get(address, "/", &format!("localhost:{port}"), "").0, 200);
}

#[test]
fn a_websocket_from_another_site_is_refused() {
    let home = tempfile::tempdir().unwrap();
    let (address, _) = start_server("127.0.0.1", home.path());
    let host = address.to_string();
    for origin in [
        "http://evil.example".to_owned(),
        "null".to_owned(),
        format!("https://{host}"),
        format!("http://127.0.0.1:{}", address.port() + 1),
    ] {
        let status = upgrade(address, &host, &format!("Origin: {origin}\r\n"));
        assert_eq!(status, 403, "Origin {origin}");
    }
    assert_eq!(
        upgrade(address, &host, "Sec-Fetch-Site: cross-site\r\n"),
        403
    );
    assert_eq!(
        upgrade(address, &host, &format!("Origin: http://{host}\r\n")),
        101,
        "the app's own origin gets the socket"
    );
}

#[test]
fn any_other_address_needs_the_printed_token_then_a_cookie() {
    let home = tempfile::tempdir().unwrap();
    // Still loopback, but not 127.0.0.1: the token rule applies.
    let (address, url) = start_server("127.0.0.2", home.path());
    let token = url
        .split("?token=")
        .nth(1)
        .expect("the URL carries the token")
        .to_owned();
    assert_eq!(token.len(), 32);
    let host = address.to_string();
    let (status, body) = get(address, "/", &host, "");
    assert_eq!(status, 403);
    assert!(body.contains("access token"));
    assert_eq!(get(address, "/?token=0123", &host, "").0, 403);
    assert_eq!(
        upgrade(address, &host, &format!("Origin: http://{host}\r\n")),
        403
    );
    let (status, response) = get(address, &format!("/?token={token}"), &host, "");
    assert_eq!(status, 200);
    let cookie_line = response
        .lines()
        .find(|line| line.to_ascii_lowercase().starts_with("set-cookie:"))
        .expect("the token becomes a cookie");
    assert!(cookie_line.contains("HttpOnly") && cookie_line.contains("SameSite=Strict"));
    let cookie = format!("Cookie: microcue_token={token}\r\n");
    assert_eq!(get(address, "/live?consent=self", &host, &cookie).0, 200);
    assert_eq!(
        upgrade(
            address,
            &host,
            &format!("Origin: http://{host}\r\n{cookie}")
        ),
        101
    );
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(address: SocketAddr) -> Socket {
    let mut request = format!("ws://{address}/ws/live")
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "origin",
        HeaderValue::from_str(&format!("http://{address}")).unwrap(),
    );
    tokio_tungstenite::connect_async(request)
        .await
        .expect("the socket opens")
        .0
}

/// The next JSON message, skipping those whose type is in `skip`.
async fn next_json(socket: &mut Socket, skip: &[&str]) -> serde_json::Value {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(30), socket.next())
            .await
            .expect("a reply within 30 s")
            .expect("the socket stays open")
            .expect("a message");
        if let Message::Text(text) = message {
            let value: serde_json::Value = serde_json::from_str(text.as_str()).unwrap();
            if !skip.contains(&value["type"].as_str().unwrap_or("")) {
                return value;
            }
        }
    }
}

async fn expect_error(socket: &mut Socket, containing: &str) {
    let reply = next_json(socket, &["frame"]).await;
    assert_eq!(reply["type"], "error", "{reply}");
    let message = reply["message"].as_str().unwrap();
    assert!(
        message.contains(containing),
        "`{message}` lacks `{containing}`"
    );
}

/// The first frame of the bundled clip as a JPEG message.
fn face_frame_jpeg(capture_ms: f64) -> Vec<u8> {
    let mut source = Mp4Source::from_bytes("single_face.mp4", CLIP.to_vec()).unwrap();
    let mut frame = Frame::default();
    assert!(source.next_frame(&mut frame).unwrap());
    let image = image::RgbImage::from_raw(frame.width, frame.height, frame.rgb).unwrap();
    let mut jpeg = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut jpeg), image::ImageFormat::Jpeg)
        .unwrap();
    let header = FrameHeader {
        format: PixelFormat::Jpeg,
        width: frame.width,
        height: frame.height,
        capture_ms,
    };
    frame_message(&header, &jpeg)
}

#[tokio::test]
async fn malformed_messages_get_an_error_reply_and_the_session_goes_on() {
    let home = tempfile::tempdir().unwrap();
    let (address, _) = start_server("127.0.0.1", home.path());
    let mut socket = connect(address).await;
    socket
        .send(Message::Binary(face_frame_jpeg(1.0).into()))
        .await
        .unwrap();
    expect_error(&mut socket, "after the consent choice").await;
    socket
        .send(Message::Text("{nonsense".into()))
        .await
        .unwrap();
    expect_error(&mut socket, "not a valid message").await;
    socket
        .send(Message::Text(
            r#"{"type":"start","consent":"self","sensitivity":2}"#.into(),
        ))
        .await
        .unwrap();
    expect_error(&mut socket, "sensitivity 2 is outside 0..1").await;
    socket
        .send(Message::Text(
            r#"{"type":"start","consent":"self","sensitivity":0.7}"#.into(),
        ))
        .await
        .unwrap();
    let ready = next_json(&mut socket, &[]).await;
    assert_eq!(ready["type"], "ready", "{ready}");
    assert_eq!(ready["pipeline"].as_array().unwrap().len(), 5);

    for (bad, reason) in [
        (b"MCF".to_vec(), "header bytes"),
        (
            b"XXXX0000000000000000jpeg".to_vec(),
            "must start with `MCF1`",
        ),
        (
            frame_message(
                &FrameHeader {
                    format: PixelFormat::Jpeg,
                    width: 640,
                    height: 360,
                    capture_ms: 5.0,
                },
                b"not a jpeg at all",
            ),
            "not a readable JPEG",
        ),
    ] {
        socket.send(Message::Binary(bad.into())).await.unwrap();
        expect_error(&mut socket, reason).await;
    }
    socket
        .send(Message::Text("x".repeat(5000).into()))
        .await
        .unwrap();
    expect_error(&mut socket, "message too long").await;
    socket
        .send(Message::Text(r#"{"type":"explode"}"#.into()))
        .await
        .unwrap();
    expect_error(&mut socket, "not a valid message").await;
    socket
        .send(Message::Text(r#"{"type":"responded","at_ms":10}"#.into()))
        .await
        .unwrap();
    expect_error(&mut socket, "no cue on screen").await;

    // The session goes on: a real face is found in a real frame.
    socket
        .send(Message::Binary(face_frame_jpeg(100.0).into()))
        .await
        .unwrap();
    let result = next_json(&mut socket, &["error"]).await;
    assert_eq!(result["type"], "frame", "{result}");
    assert_eq!(result["capture_ms"], 100.0);
    let faces = result["faces"].as_array().unwrap();
    assert_eq!(
        faces.len(),
        1,
        "the face in the bundled clip is found: {result}"
    );
    let rect: Vec<f64> = faces[0]["rect"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert!(
        rect[0] < rect[2] && rect[1] < rect[3] && rect[2] <= 1.0,
        "{rect:?}"
    );
    assert_eq!(result["counts"]["refused"], 3, "the three malformed frames");
    // A frame not later than the last one is refused; the session still goes on.
    socket
        .send(Message::Binary(face_frame_jpeg(100.0).into()))
        .await
        .unwrap();
    expect_error(&mut socket, "not later than the previous frame").await;

    // Only one live session at a time.
    let mut second = connect(address).await;
    second
        .send(Message::Text(
            r#"{"type":"start","consent":"given"}"#.into(),
        ))
        .await
        .unwrap();
    expect_error(&mut second, "already running").await;
}

#[tokio::test]
async fn frames_beyond_the_rate_limit_are_dropped_and_counted() {
    let home = tempfile::tempdir().unwrap();
    let (address, _) = start_server("127.0.0.1", home.path());
    let mut socket = connect(address).await;
    socket
        .send(Message::Text(r#"{"type":"start","consent":"self"}"#.into()))
        .await
        .unwrap();
    assert_eq!(next_json(&mut socket, &[]).await["type"], "ready");
    let pixels = vec![128_u8; 32 * 32 * 4];
    for i in 0..200 {
        let header = FrameHeader {
            format: PixelFormat::Rgba,
            width: 32,
            height: 32,
            capture_ms: 10.0 + f64::from(i),
        };
        socket
            .send(Message::Binary(frame_message(&header, &pixels).into()))
            .await
            .unwrap();
    }
    expect_error(&mut socket, "too many frames").await;
    // After a pause (the queue empties, the limit refills) one more frame is analysed, and its
    // counts add up: every frame was analysed or knowingly dropped.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let header = FrameHeader {
        format: PixelFormat::Rgba,
        width: 32,
        height: 32,
        capture_ms: 5000.0,
    };
    socket
        .send(Message::Binary(frame_message(&header, &pixels).into()))
        .await
        .unwrap();
    let last = loop {
        let value = next_json(&mut socket, &["error"]).await;
        if value["capture_ms"] == 5000.0 {
            break value;
        }
    };
    let counts = &last["counts"];
    let received = counts["received"].as_u64().unwrap();
    let analysed = counts["analysed"].as_u64().unwrap();
    let busy = counts["dropped_busy"].as_u64().unwrap();
    let rate = counts["dropped_rate"].as_u64().unwrap();
    assert_eq!(received, 201, "{counts}");
    assert!(
        rate >= 100,
        "most of a 200-frame burst is over the limit: {counts}"
    );
    assert_eq!(analysed + busy + rate, received, "{counts}");
}
