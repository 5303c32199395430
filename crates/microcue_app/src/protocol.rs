//! The live WebSocket's messages.
//!
//! **Page -> server.** Camera frames are binary messages: a 20-byte header, then the pixels.
//!
//! | bytes | field |
//! |---|---|
//! | 0..4 | magic `MCF1` |
//! | 4 | pixel format: 1 = JPEG, 2 = raw RGBA8 (row-major, no padding) |
//! | 5..8 | zero |
//! | 8..10 | width, u16 little-endian |
//! | 10..12 | height, u16 little-endian |
//! | 12..20 | capture time, milliseconds on the page's clock (`performance.now()`), f64 LE |
//!
//! Everything else is a JSON text message with a `type`: [`ClientMessage`].
//!
//! **Server -> page.** JSON text messages: [`ServerMessage`]. Times of events are seconds on
//! the page's clock (capture time / 1000), so the page can place them against its own frames.

use microcue_core::coach::Suggestion;
use microcue_core::{CueId, Event, Hypothesis};
use serde::{Deserialize, Serialize};

/// The four bytes that start a frame message.
pub const FRAME_MAGIC: [u8; 4] = *b"MCF1";
/// Length of a frame message's header.
pub const FRAME_HEADER_LEN: usize = 20;
/// Largest frame accepted, in pixels (1280x720).
pub const MAX_FRAME_PIXELS: usize = 1280 * 720;
/// Largest message the socket accepts, bytes (a raw 1280x720 RGBA frame and its header).
pub const MAX_MESSAGE_BYTES: usize = MAX_FRAME_PIXELS * 4 + FRAME_HEADER_LEN;
/// Largest JSON message accepted, bytes.
pub const MAX_TEXT_BYTES: usize = 4096;

/// How a frame's pixels are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PixelFormat {
    /// A baseline JPEG (what `canvas.toBlob('image/jpeg')` makes).
    Jpeg,
    /// Raw RGBA, 4 bytes per pixel (what `getImageData` gives).
    Rgba,
}

/// The header of a frame message.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameHeader {
    pub format: PixelFormat,
    pub width: u32,
    pub height: u32,
    /// Capture time on the page's clock, milliseconds.
    pub capture_ms: f64,
}

/// Why a frame message was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FrameMessageError {
    #[error("a frame message is {FRAME_HEADER_LEN} header bytes and pixels; got {0} bytes")]
    TooShort(usize),
    #[error("not a frame message (it must start with `MCF1`)")]
    BadMagic,
    #[error("unknown pixel format {0} (1 = JPEG, 2 = RGBA)")]
    UnknownFormat(u8),
    #[error("frame size {width}x{height} is outside 16x16..=1280x720 pixels")]
    BadSize { width: u32, height: u32 },
    #[error("capture time must be a finite, non-negative number of milliseconds")]
    BadTime,
    #[error("a raw {width}x{height} RGBA frame has {expected} bytes of pixels; got {got}")]
    WrongLength {
        width: u32,
        height: u32,
        expected: usize,
        got: usize,
    },
}

/// Reads and checks a frame message's header; returns it and the pixel bytes.
pub fn parse_frame(message: &[u8]) -> Result<(FrameHeader, &[u8]), FrameMessageError> {
    if message.len() < FRAME_HEADER_LEN {
        return Err(FrameMessageError::TooShort(message.len()));
    }
    let (head, pixels) = message.split_at(FRAME_HEADER_LEN);
    if head[0..4] != FRAME_MAGIC {
        return Err(FrameMessageError::BadMagic);
    }
    let format = match head[4] {
        1 => PixelFormat::Jpeg,
        2 => PixelFormat::Rgba,
        other => return Err(FrameMessageError::UnknownFormat(other)),
    };
    let width = u32::from(u16::from_le_bytes([head[8], head[9]]));
    let height = u32::from(u16::from_le_bytes([head[10], head[11]]));
    if width < 16 || height < 16 || width as usize * height as usize > MAX_FRAME_PIXELS {
        return Err(FrameMessageError::BadSize { width, height });
    }
    let mut time = [0_u8; 8];
    time.copy_from_slice(&head[12..20]);
    let capture_ms = f64::from_le_bytes(time);
    if !(capture_ms.is_finite() && capture_ms >= 0.0) {
        return Err(FrameMessageError::BadTime);
    }
    if format == PixelFormat::Rgba {
        let expected = width as usize * height as usize * 4;
        if pixels.len() != expected {
            return Err(FrameMessageError::WrongLength {
                width,
                height,
                expected,
                got: pixels.len(),
            });
        }
    }
    Ok((
        FrameHeader {
            format,
            width,
            height,
            capture_ms,
        },
        pixels,
    ))
}

/// Writes a frame message (the page does the same in JavaScript; tests and benches use this).
pub fn frame_message(header: &FrameHeader, pixels: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(FRAME_HEADER_LEN + pixels.len());
    message.extend_from_slice(&FRAME_MAGIC);
    message.push(match header.format {
        PixelFormat::Jpeg => 1,
        PixelFormat::Rgba => 2,
    });
    message.extend_from_slice(&[0, 0, 0]);
    message.extend_from_slice(&(header.width.min(u32::from(u16::MAX)) as u16).to_le_bytes());
    message.extend_from_slice(&(header.height.min(u32::from(u16::MAX)) as u16).to_le_bytes());
    message.extend_from_slice(&header.capture_ms.to_le_bytes());
    message.extend_from_slice(pixels);
    message
}

/// Whose face is on camera: the consent choice made before the camera starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Consent {
    /// Only me.
    #[serde(rename = "self")]
    OnlyMe,
    /// Everyone on camera agreed.
    Given,
}

/// A context button.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContextButton {
    Joke,
    Question,
    Compliment,
    Touch,
}

/// JSON messages from the page.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMessage {
    /// Must come first: the consent choice, and the spotter's sensitivity (0..1; the default
    /// when absent).
    Start {
        consent: Consent,
        #[serde(default)]
        sensitivity: Option<f32>,
    },
    /// Something just happened (or happened just before the cue on screen).
    Context { kind: ContextButton, at_ms: f64 },
    /// The user responded to the cue on screen: start the outcome watch.
    Responded { at_ms: f64 },
    /// Mirror drill: the user starts flashing `cue` now; the spotter's events in the next
    /// `window_s` seconds are scored against it.
    Mirror {
        cue: CueId,
        at_ms: f64,
        window_s: f64,
    },
}

/// A face in a frame, for the page's overlay.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FaceBox {
    /// Left, top, right, bottom as fractions of the frame's width and height.
    pub rect: [f32; 4],
    pub presence: f32,
}

/// The person's baseline: warming up until `ready`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BaselineStatus {
    pub ready: bool,
    /// Seconds of face seen since the track started (the warm-up needs about `needed_s`).
    pub face_s: f64,
    pub needed_s: f64,
}

/// Counters of one live session.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct FrameCounts {
    /// Frame messages received.
    pub received: u64,
    /// Frames analysed.
    pub analysed: u64,
    /// Dropped because inference was behind (the queue was full).
    pub dropped_busy: u64,
    /// Dropped for coming faster than the rate limit.
    pub dropped_rate: u64,
    /// Refused as malformed (or not later than the previous frame).
    pub refused: u64,
}

/// A cue as the page shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CueView {
    pub cue: CueId,
    /// The cue's name in the lexicon.
    pub name: &'static str,
    /// Where it shows: brows, eyes, mouth, nose, gaze.
    pub region: &'static str,
    pub facs: &'static str,
    pub meaning: &'static str,
    pub event: Event,
}

/// The outcome of a response, as watched and as logged.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutcomeView {
    /// relaxed, matched, withdrew or unclear.
    pub outcome: microcue_core::Outcome,
    /// What went to the journal: improved, same or worse.
    pub journal_outcome: microcue_train::Outcome,
    /// The signal that made it clear.
    pub sign: Option<microcue_core::coach::OutcomeSign>,
    /// Seconds from the response to the call.
    pub after_s: f64,
    pub cue: CueId,
    /// Uid of the journal entry; `None` when it could not be written (see `journal_error`).
    pub journal_uid: Option<String>,
    pub journal_error: Option<String>,
}

/// What the spotter saw of one mirror-drill attempt, and what went to the journal.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MirrorView {
    /// The cue the user was asked to make, and its name in the lexicon.
    pub requested: CueId,
    pub name: &'static str,
    /// The attempt window on the page's clock, seconds.
    pub window_s: [f64; 2],
    pub score: microcue_train::mirror::MirrorScore,
    /// Uid of the journal's trial; `None` when it could not be written (see `journal_error`).
    pub journal_uid: Option<String>,
    pub journal_error: Option<String>,
}

/// JSON messages to the page.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// The session started.
    Ready {
        /// The guide's real-time pipeline, for the timeline.
        pipeline: &'static [microcue_core::lexicon::PipelineStage],
        two_cue_rule: &'static str,
        /// Outcome watch: earliest call and final call, seconds after the response.
        observe_window_s: [f64; 2],
    },
    /// One frame was analysed.
    Frame {
        capture_ms: f64,
        faces: Vec<FaceBox>,
        baseline: Option<BaselineStatus>,
        counts: FrameCounts,
        /// Time from receiving the frame to sending this message, milliseconds.
        server_ms: f64,
    },
    /// A cue was read.
    Cue {
        cue: Box<CueView>,
        suggestion: Box<Suggestion>,
        hypothesis: Box<Hypothesis>,
    },
    /// The hypothesis changed (a context tag arrived).
    Hypothesis { hypothesis: Box<Hypothesis> },
    /// The outcome watch started.
    Watching { cue: CueId, responded_at_s: f64 },
    /// The outcome watch ended.
    Outcome { outcome: Box<OutcomeView> },
    /// A mirror-drill attempt began (the page's clock, seconds).
    MirrorStarted { cue: CueId, window_s: [f64; 2] },
    /// A mirror-drill attempt was scored.
    Mirror { mirror: Box<MirrorView> },
    /// A message was refused; the session goes on.
    Error { message: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_message_round_trips() {
        let header = FrameHeader {
            format: PixelFormat::Rgba,
            width: 16,
            height: 20,
            capture_ms: 1234.5,
        };
        let pixels = vec![7_u8; 16 * 20 * 4];
        let message = frame_message(&header, &pixels);
        let (parsed, parsed_pixels) = parse_frame(&message).unwrap();
        assert_eq!(parsed, header);
        assert_eq!(parsed_pixels, &pixels[..]);
    }

    #[test]
    fn malformed_frames_are_refused_with_a_reason() {
        let good = FrameHeader {
            format: PixelFormat::Jpeg,
            width: 640,
            height: 480,
            capture_ms: 10.0,
        };
        assert_eq!(parse_frame(b"MCF"), Err(FrameMessageError::TooShort(3)));
        let mut bad_magic = frame_message(&good, b"x");
        bad_magic[0] = b'X';
        assert_eq!(parse_frame(&bad_magic), Err(FrameMessageError::BadMagic));
        let mut bad_format = frame_message(&good, b"x");
        bad_format[4] = 9;
        assert_eq!(
            parse_frame(&bad_format),
            Err(FrameMessageError::UnknownFormat(9))
        );
        let huge = FrameHeader {
            width: 4000,
            ..good
        };
        assert!(matches!(
            parse_frame(&frame_message(&huge, b"x")),
            Err(FrameMessageError::BadSize { .. })
        ));
        let nan = FrameHeader {
            capture_ms: f64::NAN,
            ..good
        };
        assert_eq!(
            parse_frame(&frame_message(&nan, b"x")),
            Err(FrameMessageError::BadTime)
        );
        let short_raw = FrameHeader {
            format: PixelFormat::Rgba,
            ..good
        };
        assert!(matches!(
            parse_frame(&frame_message(&short_raw, &[0; 100])),
            Err(FrameMessageError::WrongLength { got: 100, .. })
        ));
    }

    #[test]
    fn client_messages_parse_and_unknown_ones_do_not() {
        let start: ClientMessage =
            serde_json::from_str(r#"{"type":"start","consent":"self"}"#).unwrap();
        assert_eq!(
            start,
            ClientMessage::Start {
                consent: Consent::OnlyMe,
                sensitivity: None,
            }
        );
        let start: ClientMessage =
            serde_json::from_str(r#"{"type":"start","consent":"given","sensitivity":0.7}"#)
                .unwrap();
        assert_eq!(
            start,
            ClientMessage::Start {
                consent: Consent::Given,
                sensitivity: Some(0.7),
            }
        );
        let context: ClientMessage =
            serde_json::from_str(r#"{"type":"context","kind":"joke","at_ms":5.0}"#).unwrap();
        assert!(matches!(
            context,
            ClientMessage::Context {
                kind: ContextButton::Joke,
                ..
            }
        ));
        let mirror: ClientMessage = serde_json::from_str(
            r#"{"type":"mirror","cue":"eyebrow_flash","at_ms":5.0,"window_s":4.0}"#,
        )
        .unwrap();
        assert!(matches!(
            mirror,
            ClientMessage::Mirror {
                cue: CueId::EyebrowFlash,
                ..
            }
        ));
        for bad in [
            r#"{"type":"mirror","cue":"frown","at_ms":5.0,"window_s":4.0}"#,
            r#"{"type":"start"}"#,
            r#"{"type":"start","consent":"maybe"}"#,
            r#"{"type":"explode"}"#,
            r#"{"type":"responded","at_ms":1,"extra":2}"#,
            "not json",
        ] {
            assert!(serde_json::from_str::<ClientMessage>(bad).is_err(), "{bad}");
        }
    }
}
