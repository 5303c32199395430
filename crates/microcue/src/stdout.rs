//! Command output on stdout. A reader that goes away (`microcue analyze clip | head -1`) ends
//! the command quietly: the write that meets the closed pipe fails, the error travels up like
//! any other, and `main` ends with success and no message when [`was_closed`] says so.

use std::io::{self, BufWriter, StdoutLock, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;

/// Set once a write to stdout found the pipe closed.
static CLOSED: AtomicBool = AtomicBool::new(false);

/// Buffered stdout that notes a closed pipe (see the module docs).
pub struct Stdout {
    out: BufWriter<StdoutLock<'static>>,
}

impl Stdout {
    /// Locks stdout for this writer's lifetime.
    pub fn new() -> Self {
        Stdout {
            out: BufWriter::new(io::stdout().lock()),
        }
    }
}

impl Write for Stdout {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.out.write(bytes).inspect_err(note_closed)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush().inspect_err(note_closed)
    }
}

fn note_closed(error: &io::Error) {
    if error.kind() == io::ErrorKind::BrokenPipe {
        CLOSED.store(true, Ordering::Relaxed);
    }
}

/// Whether a write to stdout found the pipe closed: the reader has what it wanted, so the
/// command's error is no failure.
pub fn was_closed() -> bool {
    CLOSED.load(Ordering::Relaxed)
}

/// Writes `text` to stdout and flushes it.
pub fn print(text: &str) -> anyhow::Result<()> {
    let mut out = Stdout::new();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .context("cannot write to stdout")
}
