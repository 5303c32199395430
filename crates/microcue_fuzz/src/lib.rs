//! # microcue_fuzz
//!
//! One entry function per reader of outside bytes, shared by the cargo-fuzz targets in `fuzz/`
//! (libFuzzer, nightly) and by this crate's `replay` test, which runs every committed corpus
//! input and every regression input on stable: CI checks what the fuzzers found without
//! libFuzzer.
//!
//! Each entry takes raw bytes, reads them the way microcue does and checks the reader's
//! promises: frames of the size they claim with times that never go back, errors that name
//! their input, events with finite times and `onset <= apex <= offset`, an import that can be
//! exported again. A broken promise panics, and a panic that escapes an entry is a crash
//! ([`run`]). Panics a reader catches itself and turns into an error (`re_mp4`'s, behind the
//! MP4 reader's guard) are what a user sees as an error message, so they are not crashes; they
//! are listed in [`Outcome::caught`].
//!
//! | target | reads |
//! |---|---|
//! | `mp4` | MP4/MOV demux (`re_mp4`) and H.264 decoding (openh264): [`mp4`] |
//! | `y4m` | a Y4M file: [`y4m`] |
//! | `ffmpeg_pipe` | ffmpeg's Y4M through a pipe, ffprobe's stream facts and frame times: [`ffmpeg_pipe`] |
//! | `image_frame` | a JPEG/PNG/BMP frame of an image folder: [`image_frame`] |
//! | `signals_jsonl` | face-signals JSON Lines into the spotter: [`signals_jsonl`] |
//! | `openface_csv` | OpenFace 2.x CSV into the spotter: [`openface_csv`] |
//! | `spotter_config` | spotter settings JSON, `validate()`, then a spotter run: [`spotter_config`] |
//! | `journal_import` | a journal export imported into a fresh SQLite journal: [`journal_import`] |
//! | `truth_csv` | a truth CSV (`microcue eval score`), scored against spotted events: [`truth_csv`] |
//! | `face_stream` | random face-signal streams (`arbitrary`) through spotter, reader, coach: [`face_stream`] |
//!
//! ```
//! // An empty file is not an MP4: a clear error, no panic.
//! let outcome = microcue_fuzz::run(microcue_fuzz::mp4, b"");
//! assert!(outcome.panic.is_none());
//! ```

mod checks;
mod journal;
mod stream;
mod text;
mod video;

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Mutex, Once};

pub use journal::journal_import;
pub use stream::face_stream;
pub use text::{openface_csv, signals_jsonl, spotter_config, truth_csv};
pub use video::{encode_pipe_input, ffmpeg_pipe, image_frame, mp4, y4m};

/// One fuzz target: its name (the folder of its corpus and regression inputs, and the name of
/// its cargo-fuzz binary) and its entry function.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// Name of the target.
    pub name: &'static str,
    /// Entry function: reads one input.
    pub run: fn(&[u8]),
}

/// Every target.
pub const TARGETS: &[Target] = &[
    Target {
        name: "mp4",
        run: mp4,
    },
    Target {
        name: "y4m",
        run: y4m,
    },
    Target {
        name: "ffmpeg_pipe",
        run: ffmpeg_pipe,
    },
    Target {
        name: "image_frame",
        run: image_frame,
    },
    Target {
        name: "signals_jsonl",
        run: signals_jsonl,
    },
    Target {
        name: "openface_csv",
        run: openface_csv,
    },
    Target {
        name: "spotter_config",
        run: spotter_config,
    },
    Target {
        name: "journal_import",
        run: journal_import,
    },
    Target {
        name: "truth_csv",
        run: truth_csv,
    },
    Target {
        name: "face_stream",
        run: face_stream,
    },
];

/// What running one input did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// The message of a panic that escaped the entry function: a crash.
    pub panic: Option<String>,
    /// Panics caught inside (and turned into errors) on the way.
    pub caught: Vec<String>,
}

thread_local! {
    static PANICS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// Records panics instead of printing them: whether one is a crash depends on whether it
/// escapes the entry, which the hook cannot know.
fn install_panic_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let message = info.to_string();
            PANICS.with(|panics| panics.borrow_mut().push(message));
        }));
    });
}

/// Runs `entry` on `data`, catching a panic that escapes it.
pub fn run(entry: fn(&[u8]), data: &[u8]) -> Outcome {
    install_panic_hook();
    PANICS.with(|panics| panics.borrow_mut().clear());
    let escaped = catch_unwind(AssertUnwindSafe(|| entry(data))).is_err();
    let mut panics = PANICS.with(|panics| std::mem::take(&mut *panics.borrow_mut()));
    let panic = if escaped {
        Some(
            panics
                .pop()
                .unwrap_or_else(|| "a panic without a message".to_owned()),
        )
    } else {
        None
    };
    Outcome {
        panic,
        caught: panics,
    }
}

/// For the cargo-fuzz binaries: runs `entry` on `data` and aborts the process (a libFuzzer
/// crash, input saved) when a panic escapes it. Each distinct caught panic is printed once.
pub fn fuzz(entry: fn(&[u8]), data: &[u8]) {
    static SEEN: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
    let outcome = run(entry, data);
    for caught in outcome.caught {
        let first_line = caught.lines().next().unwrap_or_default().to_owned();
        let mut seen = SEEN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if seen.insert(first_line) {
            eprintln!("caught (an error for the user, not a crash): {caught}");
        }
    }
    if let Some(panic) = outcome.panic {
        eprintln!("crash: {panic}");
        std::process::abort();
    }
}
