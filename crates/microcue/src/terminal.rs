//! Pictures and answers in the terminal, for the drills.
//!
//! **Pictures** are drawn with the upper-half-block character `▀`: its foreground colour is the
//! upper pixel, its background the lower one, both in 24-bit colour, so one character cell
//! shows two pixels stacked and a picture keeps square pixels. A picture is encoded to bytes
//! before it is needed ([`encode_picture`] for the first, [`encode_change`] for the cells that
//! differ from the previous one — a flash changes only the brows or the mouth), so showing it
//! is one write and one flush, and the drill can time the flash. The pictures are the drill's
//! content, so `NO_COLOR` does not turn them off; nothing here writes a picture to disk.
//!
//! **Answers** come from single key presses when stdin is a terminal (raw mode, restored on
//! drop, also on a panic), or line by line from stdin otherwise, so scripts and tests can
//! drive a drill.

use std::io::{BufRead, IsTerminal, Write};
use std::time::{Duration, Instant};

use anyhow::Context;
use crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use crossterm::{cursor, execute, terminal};
use microcue_vision::Frame;

/// Where a picture goes on the screen: 1-based row and column of its top-left cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin {
    pub row: u16,
    pub column: u16,
}

/// Tracks the colours last set, to skip repeating them.
#[derive(Default)]
struct Pen {
    foreground: Option<[u8; 3]>,
    background: Option<[u8; 3]>,
}

impl Pen {
    fn cell(&mut self, top: [u8; 3], bottom: [u8; 3], out: &mut Vec<u8>) {
        if self.foreground != Some(top) {
            let _ = write!(out, "\x1b[38;2;{};{};{}m", top[0], top[1], top[2]);
            self.foreground = Some(top);
        }
        if self.background != Some(bottom) {
            let _ = write!(out, "\x1b[48;2;{};{};{}m", bottom[0], bottom[1], bottom[2]);
            self.background = Some(bottom);
        }
        out.extend_from_slice("▀".as_bytes());
    }
}

fn pixel(picture: &Frame, x: usize, y: usize) -> [u8; 3] {
    if y >= picture.height as usize {
        return [0, 0, 0];
    }
    let i = (y * picture.width as usize + x) * 3;
    picture
        .rgb
        .get(i..i + 3)
        .map_or([0, 0, 0], |p| [p[0], p[1], p[2]])
}

fn move_to(out: &mut Vec<u8>, row: u16, column: u16) {
    let _ = write!(out, "\x1b[{row};{column}H");
}

/// Appends the bytes that draw `picture` at `origin`.
pub fn encode_picture(picture: &Frame, origin: Origin, out: &mut Vec<u8>) {
    let mut pen = Pen::default();
    for cell_row in 0..picture.height.div_ceil(2) as usize {
        move_to(out, origin.row + cell_row as u16, origin.column);
        for x in 0..picture.width as usize {
            pen.cell(
                pixel(picture, x, 2 * cell_row),
                pixel(picture, x, 2 * cell_row + 1),
                out,
            );
        }
    }
    out.extend_from_slice(b"\x1b[0m");
}

/// Appends the bytes that turn `previous` into `next` on screen (same size): only the cells
/// that differ. Nothing when the pictures are equal.
pub fn encode_change(previous: &Frame, next: &Frame, origin: Origin, out: &mut Vec<u8>) {
    if previous.width != next.width || previous.height != next.height {
        encode_picture(next, origin, out);
        return;
    }
    let mut pen = Pen::default();
    let mut wrote = false;
    for cell_row in 0..next.height.div_ceil(2) as usize {
        let mut cursor_at: Option<usize> = None;
        for x in 0..next.width as usize {
            let (top, bottom) = (
                pixel(next, x, 2 * cell_row),
                pixel(next, x, 2 * cell_row + 1),
            );
            if top == pixel(previous, x, 2 * cell_row)
                && bottom == pixel(previous, x, 2 * cell_row + 1)
            {
                continue;
            }
            if cursor_at != Some(x) {
                move_to(out, origin.row + cell_row as u16, origin.column + x as u16);
            }
            pen.cell(top, bottom, out);
            cursor_at = Some(x + 1);
            wrote = true;
        }
    }
    if wrote {
        out.extend_from_slice(b"\x1b[0m");
    }
}

/// Appends text starting at `row` (1-based), one screen line per line, each line cleared to
/// its end first.
pub fn encode_text(text: &str, row: u16, out: &mut Vec<u8>) {
    for (offset, line) in text.lines().enumerate() {
        move_to(out, row + offset as u16, 1);
        out.extend_from_slice(b"\x1b[2K");
        out.extend_from_slice(line.as_bytes());
    }
}

/// Width for text: the terminal's, or 100 columns when not a terminal.
pub fn text_width() -> usize {
    terminal_size().map_or(100, |(columns, _)| usize::from(columns.max(20)) - 1)
}

/// Word-wraps each line of `text` to `width` columns.
pub fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let mut current = 0;
        for (index, word) in line.split(' ').enumerate() {
            let length = word.chars().count();
            if index > 0 {
                if current + 1 + length > width {
                    out.push_str("\n  ");
                    current = 2;
                } else {
                    out.push(' ');
                    current += 1;
                }
            }
            out.push_str(word);
            current += length;
        }
        out.push('\n');
    }
    out
}

/// Clears the screen from `row` down.
pub fn encode_clear_below(row: u16, out: &mut Vec<u8>) {
    move_to(out, row, 1);
    out.extend_from_slice(b"\x1b[J");
}

/// Clears the whole screen.
pub const CLEAR: &[u8] = b"\x1b[2J\x1b[H";

/// The drill's screen: stdout, in the alternate screen with a hidden cursor when it is a
/// terminal. Restores the terminal on drop.
pub struct Screen {
    stdout: std::io::Stdout,
    alternate: bool,
}

impl Screen {
    /// Takes over stdout (the alternate screen only when stdout is a terminal).
    pub fn open() -> anyhow::Result<Screen> {
        let mut stdout = std::io::stdout();
        let alternate = stdout.is_terminal();
        if alternate {
            execute!(stdout, terminal::EnterAlternateScreen, cursor::Hide)
                .context("cannot set up the terminal")?;
        }
        Ok(Screen { stdout, alternate })
    }

    /// Writes `bytes` and flushes; returns the instant the flush returned.
    pub fn show(&mut self, bytes: &[u8]) -> anyhow::Result<Instant> {
        let mut lock = self.stdout.lock();
        lock.write_all(bytes)
            .and_then(|()| lock.flush())
            .context("cannot write to the terminal")?;
        Ok(Instant::now())
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        if self.alternate {
            let _ = execute!(self.stdout, cursor::Show, terminal::LeaveAlternateScreen);
        } else {
            // End the last drawn line, so what follows starts on its own.
            let _ = self.stdout.write_all(b"\x1b[0m\n");
            let _ = self.stdout.flush();
        }
    }
}

/// The terminal size in cells, when stdout is a terminal.
pub fn terminal_size() -> Option<(u16, u16)> {
    if std::io::stdout().is_terminal() {
        terminal::size().ok()
    } else {
        None
    }
}

/// Sleeps until `deadline`, spinning for the last 2 ms for precision.
pub fn wait_until(deadline: Instant) {
    let spin = Duration::from_millis(2);
    loop {
        let now = Instant::now();
        if now >= deadline {
            return;
        }
        let left = deadline - now;
        if left > spin {
            std::thread::sleep(left - spin);
        } else {
            std::hint::spin_loop();
        }
    }
}

/// One reply of the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// A key (terminal) or a trimmed line (script).
    Text(String),
    /// Ctrl-C, or the end of the input.
    Quit,
}

/// Where answers come from.
pub enum Input {
    /// Key presses in raw mode.
    Keys,
    /// Lines of stdin.
    Lines(Box<dyn BufRead>),
}

impl Input {
    /// Keys when stdin is a terminal (raw mode on), else lines of stdin.
    pub fn open() -> anyhow::Result<Input> {
        if std::io::stdin().is_terminal() {
            terminal::enable_raw_mode().context("cannot switch the terminal to raw mode")?;
            Ok(Input::Keys)
        } else {
            Ok(Input::Lines(Box::new(std::io::BufReader::new(
                std::io::stdin(),
            ))))
        }
    }

    /// Whether answers are single key presses.
    pub fn is_keys(&self) -> bool {
        matches!(self, Input::Keys)
    }

    /// Drops key presses made so far (before the question was asked).
    pub fn discard_pending(&mut self) {
        if let Input::Keys = self {
            while event::poll(Duration::ZERO).unwrap_or(false) {
                let _ = event::read();
            }
        }
    }

    /// One key press (`"\n"` for Enter), or one line of stdin.
    pub fn key(&mut self) -> anyhow::Result<Reply> {
        match self {
            Input::Keys => loop {
                if let Event::Key(key) = event::read().context("cannot read a key")? {
                    if key.kind != KeyEventKind::Press {
                        continue;
                    }
                    if key.modifiers.contains(KeyModifiers::CONTROL)
                        && matches!(key.code, KeyCode::Char('c' | 'd'))
                    {
                        return Ok(Reply::Quit);
                    }
                    match key.code {
                        KeyCode::Char(c) => return Ok(Reply::Text(c.to_string())),
                        KeyCode::Enter => return Ok(Reply::Text("\n".to_owned())),
                        KeyCode::Esc => return Ok(Reply::Text("q".to_owned())),
                        _ => {}
                    }
                }
            },
            Input::Lines(_) => self.line(None),
        }
    }

    /// A line: typed in the terminal (echoed at `echo`, Enter ends it) or read from stdin.
    pub fn line(&mut self, echo: Option<(&mut Screen, u16)>) -> anyhow::Result<Reply> {
        match self {
            Input::Lines(reader) => {
                let mut line = String::new();
                let read = reader
                    .read_line(&mut line)
                    .context("cannot read an answer from stdin")?;
                if read == 0 {
                    Ok(Reply::Quit)
                } else {
                    Ok(Reply::Text(line.trim().to_owned()))
                }
            }
            Input::Keys => {
                let mut typed = String::new();
                let mut echo = echo;
                loop {
                    if let Some((screen, row)) = echo.as_mut() {
                        let mut bytes = Vec::new();
                        encode_text(&format!("> {typed}"), *row, &mut bytes);
                        screen.show(&bytes)?;
                    }
                    match self.key()? {
                        Reply::Quit => return Ok(Reply::Quit),
                        Reply::Text(text) if text == "\n" => {
                            return Ok(Reply::Text(typed.trim().to_owned()));
                        }
                        Reply::Text(text) => typed.push_str(&text),
                    }
                }
            }
        }
    }

    /// Whether the user asked to stop during a pause of `duration` (terminal: a `q`, Esc or
    /// Ctrl-C pressed meanwhile; script: never). Waits the whole duration otherwise.
    pub fn pause(&mut self, duration: Duration) -> anyhow::Result<bool> {
        let deadline = Instant::now() + duration;
        if let Input::Keys = self {
            loop {
                let now = Instant::now();
                if now >= deadline {
                    return Ok(false);
                }
                if event::poll(deadline - now).unwrap_or(false)
                    && let Ok(Event::Key(key)) = event::read()
                    && key.kind == KeyEventKind::Press
                    && (matches!(key.code, KeyCode::Char('q') | KeyCode::Esc)
                        || (key.modifiers.contains(KeyModifiers::CONTROL)
                            && key.code == KeyCode::Char('c')))
                {
                    return Ok(true);
                }
            }
        }
        wait_until(deadline);
        Ok(false)
    }
}

impl Drop for Input {
    fn drop(&mut self) {
        if let Input::Keys = self {
            let _ = terminal::disable_raw_mode();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn picture(width: u32, height: u32, rgb: impl Fn(u32, u32) -> [u8; 3]) -> Frame {
        let mut frame = Frame::default();
        frame.resize(width, height);
        for y in 0..height {
            for x in 0..width {
                let i = ((y * width + x) * 3) as usize;
                frame.rgb[i..i + 3].copy_from_slice(&rgb(x, y));
            }
        }
        frame
    }

    #[test]
    fn half_blocks_carry_two_pixels_and_changes_only_touch_changed_cells() {
        let grey = picture(4, 4, |_, y| [y as u8 * 10, 0, 0]);
        let mut full = Vec::new();
        encode_picture(&grey, Origin { row: 3, column: 5 }, &mut full);
        let text = String::from_utf8(full).expect("utf8");
        assert_eq!(text.matches('▀').count(), 8, "4 x 4 pixels = 4 x 2 cells");
        assert!(text.contains("\x1b[3;5H") && text.contains("\x1b[4;5H"));
        assert!(text.contains("\x1b[38;2;0;0;0m\x1b[48;2;10;0;0m▀"));
        assert_eq!(
            text.matches("38;2;0;0;0m").count(),
            1,
            "colours not repeated"
        );

        let mut same = Vec::new();
        encode_change(&grey, &grey, Origin { row: 3, column: 5 }, &mut same);
        assert!(same.is_empty());
        let mut one = grey.clone();
        one.rgb[(3 * 4 + 2) * 3] = 255; // pixel (2, 3): cell row 1, column 2
        let mut change = Vec::new();
        encode_change(&grey, &one, Origin { row: 3, column: 5 }, &mut change);
        let text = String::from_utf8(change).expect("utf8");
        assert_eq!(text.matches('▀').count(), 1);
        assert!(text.starts_with("\x1b[4;7H"), "{text:?}");
    }
}
