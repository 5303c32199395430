//! `drill review` and `drill slowmo`: the user's own video as training material.
//!
//! **Review** walks through the events `microcue analyze` found in a video: for each, the
//! spotter's hypothesis (cue, side, timing, the channels that moved) and, with `--video`, the
//! event itself played at 0.25x in the terminal; the user confirms it, corrects the cue or side,
//! rejects it (not a facial movement) or skips it. Each verdict is saved at once in the journal
//! (times and labels, never a picture) under a label for the video. The confirmed and corrected
//! events are then ground truth of that clip (`microcue journal export --truth LABEL`, the
//! schema `microcue eval score` reads), and the rejected ones the spotter's measured false
//! positives on the user's footage.
//!
//! **Slowmo** quizzes the user on those confirmed events, slowed down (0.25x up to 200 ms, 0.5x
//! above) with a pause at the apex, four choices each; the answers are slow-motion test trials,
//! which count in the accuracy KPI.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use microcue_core::{CueId, Event, Side, lexicon};
use microcue_train::ReviewedEvent;
use microcue_train::review::{ReviewTally, parse_side};
use microcue_train::slowmo::{
    SlowMotionConfig, SlowMotionQuiz, confirmed_events, confirmed_feedback, labels_with_reviews,
    session_name,
};
use microcue_vision::source::{SourceSpec, open_source};
use microcue_vision::{FaceTracker, Frame, TrackerConfig};

use crate::commands::analyze::{Consent, load_pipeline};
use crate::commands::eval::read_events;
use crate::commands::journal::JournalLocation;
use crate::terminal::{
    CLEAR, Input, Origin, Reply, Screen, encode_change, encode_picture, encode_text, terminal_size,
    text_width, wait_until, wrap,
};
use microcue_app::render::FaceView;

/// Playback speed of an event under review.
const REVIEW_SPEED: f64 = 0.25;
/// Video shown before the onset and after the offset of an event, seconds.
const PADDING_S: f64 = 0.5;
/// Rows of text under a picture.
const TEXT_ROWS: u16 = 14;

/// Arguments of `microcue drill review`.
#[derive(Debug, clap::Args)]
pub struct ReviewArgs {
    /// Events found by `microcue analyze` (JSON Lines, the default output).
    #[arg(value_name = "EVENTS.jsonl")]
    pub events: PathBuf,
    /// The analysed video, to watch each event at 0.25x in the terminal.
    #[arg(long)]
    pub video: Option<PathBuf>,
    /// Confirms that `--video` shows only you (`self`) or that everyone on it agreed (`given`).
    #[arg(long, value_enum)]
    pub consent: Option<Consent>,
    /// Name of the video in the journal (default: the video's file name, else the events
    /// file's name without extension). Use a label, not a person's name.
    #[arg(long)]
    pub label: Option<String>,
    /// Review events that were reviewed before, too (a new verdict replaces the old).
    #[arg(long)]
    pub again: bool,
    /// Width of the picture in pixels = terminal columns (default 80, less if the terminal
    /// is smaller).
    #[arg(long, value_name = "PX")]
    pub width: Option<u32>,
}

/// Arguments of `microcue drill slowmo`.
#[derive(Debug, clap::Args)]
pub struct SlowmoArgs {
    /// The video label used in `drill review`.
    #[arg(long)]
    pub label: String,
    /// The video, to play each item slowly in the terminal (without it: the times to watch in
    /// your own player).
    #[arg(long)]
    pub video: Option<PathBuf>,
    /// Confirms that `--video` shows only you (`self`) or that everyone on it agreed (`given`).
    #[arg(long, value_enum)]
    pub consent: Option<Consent>,
    /// Most items in the quiz.
    #[arg(long, default_value_t = 10)]
    pub items: usize,
    /// Seed of the answer order (default: from the clock).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Width of the picture in pixels = terminal columns.
    #[arg(long, value_name = "PX")]
    pub width: Option<u32>,
}

/// Cropped, scaled frames of one stretch of video with their times.
struct Clip {
    pictures: Vec<Frame>,
    pts_s: Vec<f64>,
}

fn require_consent(video: Option<&Path>, consent: Option<Consent>) -> anyhow::Result<()> {
    if let Some(video) = video
        && consent.is_none()
    {
        bail!(
            "whose recording is `{}`? microcue shows other people only with their consent.\n\
             hint: add `--consent self` (only you are on it) or `--consent given` (everyone on it agreed)",
            video.display()
        );
    }
    Ok(())
}

/// Picture width that fits the terminal.
fn picture_width(requested: Option<u32>) -> u32 {
    let mut width = requested.unwrap_or(80).clamp(32, 200);
    if let Some((columns, rows)) = terminal_size() {
        width = width.min(u32::from(columns.saturating_sub(2)));
        // A face crop is about as tall as wide: keep its rows above the text.
        width = width.min(u32::from(rows.saturating_sub(TEXT_ROWS + 1)) * 2);
        width = width.max(16);
    }
    width
}

/// Decodes `video` once and keeps, for each window, its frames cropped to the face (found in
/// the window's first frame with a face) and scaled to `width_px`. `None` for a window with no
/// face (or beyond the end of the video).
fn load_clips(
    video: &Path,
    windows: &[(f64, f64)],
    width_px: u32,
) -> anyhow::Result<Vec<Option<Clip>>> {
    let name = video.display().to_string();
    let mut source =
        open_source(&SourceSpec::new(video)).with_context(|| format!("cannot open `{name}`"))?;
    let pipeline = load_pipeline()?;
    let mut tracker = FaceTracker::new(pipeline.models(), TrackerConfig::default())?;
    let last_end_s = windows
        .iter()
        .map(|w| w.1)
        .fold(f64::NEG_INFINITY, f64::max);
    let mut views: Vec<Option<FaceView>> = vec![None; windows.len()];
    let mut waiting: Vec<Vec<Frame>> = vec![Vec::new(); windows.len()];
    let mut clips: Vec<Clip> = windows
        .iter()
        .map(|_| Clip {
            pictures: Vec::new(),
            pts_s: Vec::new(),
        })
        .collect();
    let mut frame = Frame::default();
    let mut cropped = Frame::default();
    let mut faces = Vec::new();
    eprintln!("preparing {} clip(s) from `{name}`…", windows.len());
    while source
        .next_frame(&mut frame)
        .with_context(|| format!("cannot read `{name}`"))?
    {
        if frame.pts_s > last_end_s {
            break;
        }
        let active: Vec<usize> = (0..windows.len())
            .filter(|&i| (windows[i].0..=windows[i].1).contains(&frame.pts_s))
            .collect();
        if active.is_empty() {
            continue;
        }
        let mut landmarks = None;
        if active.iter().any(|&i| views[i].is_none()) {
            tracker.process(&frame, &mut faces).with_context(|| {
                format!("face tracking failed on frame {} of `{name}`", frame.index)
            })?;
            landmarks = faces.first().map(|f| f.landmarks_in_image.as_slice());
        }
        for &i in &active {
            if views[i].is_none() {
                views[i] = landmarks
                    .and_then(|l| FaceView::around(l, frame.width, frame.height, width_px));
                if views[i].is_none() {
                    // Keep the frame until a face shows up in this window.
                    waiting[i].push(frame.clone());
                    continue;
                }
            }
            let Some(view) = views[i] else { continue };
            for early in waiting[i].drain(..).chain(std::iter::once(frame.clone())) {
                let mut picture = Frame::default();
                view.view(&early, &mut cropped, &mut picture);
                clips[i].pts_s.push(early.pts_s);
                clips[i].pictures.push(picture);
            }
        }
    }
    Ok(clips
        .into_iter()
        .map(|clip| (!clip.pictures.is_empty()).then_some(clip))
        .collect())
}

/// Plays `clip` at `speed`, holding the frame nearest `pause_at_s` for a second. `q` stops
/// the playback (not the drill).
fn play(
    screen: &mut Screen,
    input: &mut Input,
    clip: &Clip,
    speed: f64,
    pause_at_s: Option<f64>,
    origin: Origin,
) -> anyhow::Result<()> {
    let apex_index = pause_at_s.and_then(|apex| {
        clip.pts_s
            .iter()
            .enumerate()
            .min_by(|a, b| (a.1 - apex).abs().total_cmp(&(b.1 - apex).abs()))
            .map(|(i, _)| i)
    });
    let mut steps: Vec<(Vec<u8>, f64)> = Vec::with_capacity(clip.pictures.len());
    for (index, picture) in clip.pictures.iter().enumerate() {
        let mut bytes = Vec::new();
        match index.checked_sub(1) {
            None => encode_picture(picture, origin, &mut bytes),
            Some(previous) => encode_change(&clip.pictures[previous], picture, origin, &mut bytes),
        }
        let next_pts_s = clip
            .pts_s
            .get(index + 1)
            .copied()
            .unwrap_or(clip.pts_s[index] + 1.0 / 30.0);
        let mut hold_ms = (next_pts_s - clip.pts_s[index]).clamp(0.0, 0.5) * 1000.0 / speed;
        if Some(index) == apex_index {
            hold_ms += 1000.0;
        }
        steps.push((bytes, hold_ms));
    }
    for (bytes, hold_ms) in &steps {
        let shown_at = screen.show(bytes)?;
        if input.is_keys() {
            if input.pause(Duration::from_secs_f64(hold_ms / 1000.0))? {
                return Ok(());
            }
        } else {
            wait_until(shown_at + Duration::from_secs_f64(hold_ms / 1000.0));
        }
    }
    Ok(())
}

/// A key (terminal) or a line (script).
fn ask(input: &mut Input) -> anyhow::Result<Reply> {
    input.discard_pending();
    if input.is_keys() {
        input.key()
    } else {
        input.line(None)
    }
}

fn describe(event: &Event) -> String {
    let moved: Vec<String> = event
        .evidence
        .iter()
        .take(4)
        .map(|e| format!("{} {:+.2}", e.channel, e.delta))
        .collect();
    format!(
        "the spotter read: {} ({}), confidence {:.2} — a hypothesis\nlooks like: {}{}",
        event.cue,
        event.side.as_str(),
        event.confidence,
        lexicon::entry(event.cue).looks_like,
        if moved.is_empty() {
            String::new()
        } else {
            format!("\nmoved: {}", moved.join(", "))
        }
    )
}

/// The label of the video in the journal.
fn video_label(args: &ReviewArgs) -> anyhow::Result<String> {
    let label = match (&args.label, &args.video) {
        (Some(label), _) => label.trim().to_owned(),
        (None, Some(video)) => video
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        (None, None) => args
            .events
            .file_stem()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    };
    if label.is_empty() {
        bail!("the video label is empty; hint: pass --label NAME");
    }
    Ok(label)
}

/// Reads and checks the events file.
fn load_events(path: &Path) -> anyhow::Result<Vec<Event>> {
    let mut events = read_events(path)?;
    if events.is_empty() {
        bail!(
            "`{}` holds no events\nhint: give the JSON Lines output of `microcue analyze VIDEO --consent self --out events.jsonl`",
            path.display()
        );
    }
    for (index, event) in events.iter().enumerate() {
        let times = [event.onset_s, event.apex_s, event.offset_s];
        if times.iter().any(|t| !t.is_finite() || *t < 0.0)
            || !(event.onset_s <= event.apex_s && event.apex_s <= event.offset_s)
            || event.onset_s >= event.offset_s
        {
            bail!(
                "`{}` event {}: times {} / {} / {} are not onset <= apex <= offset\nhint: give the output of `microcue analyze`",
                path.display(),
                index + 1,
                event.onset_s,
                event.apex_s,
                event.offset_s
            );
        }
    }
    events.sort_by(|a, b| a.onset_s.total_cmp(&b.onset_s));
    Ok(events)
}

/// What the user decided about one event.
enum Decision {
    Verdict(ReviewedEvent),
    Skip,
    Replay,
    Quit,
}

/// Asks for a cue among the supported ones, then a side. `None` when the user quit.
fn ask_correction(
    screen: &mut Screen,
    input: &mut Input,
    text_row: u16,
    event: &Event,
) -> anyhow::Result<Option<(CueId, Side)>> {
    let cues: Vec<CueId> = CueId::ALL
        .into_iter()
        .filter(|c| c.is_supported())
        .collect();
    let mut menu = String::from("Which cue was it? (number or name, Enter to confirm)\n");
    for (row, chunk) in cues.chunks(3).enumerate() {
        let line: Vec<String> = chunk
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{:>2} {:<24}", row * 3 + i + 1, c.as_str()))
            .collect();
        menu.push_str(&format!("  {}\n", line.join("")));
    }
    let cue = loop {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(b"\x1b[J");
        encode_text(&menu, text_row, &mut bytes);
        screen.show(&bytes)?;
        let echo_row = text_row + menu.lines().count() as u16;
        let text = match input.line(Some((screen, echo_row)))? {
            Reply::Quit => return Ok(None),
            Reply::Text(text) => text,
        };
        if text.eq_ignore_ascii_case("q") {
            return Ok(None);
        }
        let chosen = match text.parse::<usize>() {
            Ok(number) => number.checked_sub(1).and_then(|i| cues.get(i)).copied(),
            Err(_) => CueId::parse(&text).filter(|c| c.is_supported()),
        };
        match chosen {
            Some(cue) => break cue,
            None if input.is_keys() => {}
            None => {
                let known: Vec<&str> = cues.iter().map(|c| c.as_str()).collect();
                eprintln!(
                    "`{text}` is not a cue that video can show; one of 1-{} or {}",
                    cues.len(),
                    known.join(", ")
                );
            }
        }
    };
    let default = if cue == event.cue {
        event.side
    } else {
        Side::Both
    };
    let side = loop {
        let mut bytes = Vec::new();
        encode_text(
            &format!(
                "Side (the person's own): l left, r right, b both (Enter: {})",
                default.as_str()
            ),
            text_row + menu.lines().count() as u16 + 1,
            &mut bytes,
        );
        screen.show(&bytes)?;
        let text = match ask(input)? {
            Reply::Quit => return Ok(None),
            Reply::Text(text) => text,
        };
        let text = text.trim();
        if text.is_empty() {
            break default;
        }
        if text.eq_ignore_ascii_case("q") {
            return Ok(None);
        }
        match parse_side(text) {
            Some(side) => break side,
            None if input.is_keys() => {}
            None => eprintln!("`{text}` is not a side: l, r or b"),
        }
    };
    Ok(Some((cue, side)))
}

/// Runs `microcue drill review`.
pub fn run_review(
    args: &ReviewArgs,
    location: &JournalLocation,
    out: &mut String,
) -> anyhow::Result<ExitCode> {
    require_consent(args.video.as_deref(), args.consent)?;
    let label = video_label(args)?;
    let events = load_events(&args.events)?;
    let today = location.today()?;
    let mut journal = location.open()?;
    let earlier: Vec<ReviewedEvent> = journal
        .reviewed_events()?
        .into_iter()
        .map(|r| r.record)
        .collect();
    let todo: Vec<&Event> = events
        .iter()
        .filter(|e| args.again || !earlier.iter().any(|r| r.is_about(&label, e)))
        .collect();
    let already = events.len() - todo.len();
    let width = picture_width(args.width);
    let clips = match &args.video {
        Some(video) if !todo.is_empty() => {
            let windows: Vec<(f64, f64)> = todo
                .iter()
                .map(|e| ((e.onset_s - PADDING_S).max(0.0), e.offset_s + PADDING_S))
                .collect();
            load_clips(video, &windows, width)?
        }
        _ => Vec::new(),
    };
    let picture_rows = clips
        .iter()
        .flatten()
        .map(|c| c.pictures[0].height.div_ceil(2) as u16)
        .max()
        .unwrap_or(0);
    let origin = Origin { row: 2, column: 2 };
    let text_row = origin.row + picture_rows + 1;

    let mut input = Input::open()?;
    let mut screen = Screen::open()?;
    let mut made: Vec<ReviewedEvent> = Vec::new();
    let mut skipped = 0;
    let mut quit = false;
    'events: for (index, event) in todo.iter().enumerate() {
        let clip = clips.get(index).and_then(Option::as_ref);
        let mut play_it = true;
        loop {
            let header = format!(
                "event {}/{} in `{label}`: {:.2}–{:.2} s ({:.0} ms, {})",
                index + 1,
                todo.len(),
                event.onset_s,
                event.offset_s,
                event.duration_ms,
                if event.duration_ms <= 500.0 {
                    "micro"
                } else {
                    "macro"
                }
            );
            let mut bytes = Vec::new();
            bytes.extend_from_slice(CLEAR);
            encode_text(&header, 1, &mut bytes);
            let video_note = match (&args.video, clip) {
                (None, _) => "(add --video to watch it here at 0.25x)\n",
                (Some(_), None) => "(no face found in this part of the video)\n",
                (Some(_), Some(_)) => "",
            };
            let text = wrap(
                &format!(
                    "{}\n{video_note}\ny yes, it happened as read   c it happened, but another cue or side\n\
                     n not a facial movement      s skip   r replay   q quit",
                    describe(event)
                ),
                text_width(),
            );
            encode_text(&text, text_row, &mut bytes);
            screen.show(&bytes)?;
            if let Some(clip) = clip
                && play_it
            {
                play(
                    &mut screen,
                    &mut input,
                    clip,
                    REVIEW_SPEED,
                    Some(event.apex_s),
                    origin,
                )?;
            }
            play_it = false;
            let decision = match ask(&mut input)? {
                Reply::Quit => Decision::Quit,
                Reply::Text(reply) => match reply.trim().to_ascii_lowercase().as_str() {
                    "y" | "yes" => Decision::Verdict(ReviewedEvent::confirm(today, &label, event)),
                    "n" | "no" => Decision::Verdict(ReviewedEvent::reject(today, &label, event)),
                    "s" | "skip" => Decision::Skip,
                    "r" | "replay" => Decision::Replay,
                    "q" | "quit" => Decision::Quit,
                    "c" | "correct" => {
                        let text_end = text_row + text.lines().count() as u16 + 1;
                        match ask_correction(&mut screen, &mut input, text_end, event)? {
                            Some((cue, side)) => Decision::Verdict(ReviewedEvent::correct(
                                today, &label, event, cue, side,
                            )),
                            None => Decision::Quit,
                        }
                    }
                    other => {
                        if !input.is_keys() {
                            eprintln!("`{other}` is not an answer: y, c, n, s, r or q");
                        }
                        continue;
                    }
                },
            };
            match decision {
                Decision::Verdict(review) => {
                    journal.save_review(&review).context(
                        "cannot save the verdict; the verdicts given before it are saved",
                    )?;
                    made.push(review);
                    continue 'events;
                }
                Decision::Skip => {
                    skipped += 1;
                    continue 'events;
                }
                Decision::Replay => play_it = true,
                Decision::Quit => {
                    quit = true;
                    break 'events;
                }
            }
        }
    }
    drop(screen);
    drop(input);
    let now = ReviewTally::of(&made);
    say!(
        out,
        "{} review of `{label}`: {} verdict(s) saved ({} confirmed, {} corrected, {} not a movement), {skipped} skipped{}.",
        if quit { "Stopped" } else { "Finished" },
        now.reviewed,
        now.confirmed,
        now.corrected,
        now.rejected,
        if already > 0 {
            format!(", {already} reviewed before (--again to redo them)")
        } else {
            String::new()
        }
    );
    let all: Vec<ReviewedEvent> = journal
        .reviewed_events()?
        .into_iter()
        .map(|r| r.record)
        .filter(|r| r.video == label)
        .collect();
    let tally = ReviewTally::of(&all);
    if let (Some(fp), Some(accuracy)) = (tally.false_positive_rate(), tally.label_accuracy()) {
        say!(
            out,
            "All reviews of `{label}`: {} events; the spotter read {:.0}% exactly right, and {:.0}% were \
             not a movement (its false positives on your footage).",
            tally.reviewed,
            accuracy * 100.0,
            fp * 100.0
        );
    }
    if tally.confirmed + tally.corrected > 0 {
        say!(
            out,
            "Next: microcue journal export --truth '{label}' --out truth.csv   (ground truth for `microcue eval score`)"
        );
        say!(
            out,
            "      microcue drill slowmo --label '{label}' [--video VIDEO --consent self]   (quiz yourself)"
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `microcue drill slowmo`.
pub fn run_slowmo(
    args: &SlowmoArgs,
    location: &JournalLocation,
    out: &mut String,
) -> anyhow::Result<ExitCode> {
    require_consent(args.video.as_deref(), args.consent)?;
    let today = location.today()?;
    let mut journal = location.open()?;
    let reviews: Vec<ReviewedEvent> = journal
        .reviewed_events()?
        .into_iter()
        .map(|r| r.record)
        .collect();
    let events = confirmed_events(&reviews, &args.label);
    if events.is_empty() {
        let labels: Vec<String> = labels_with_reviews(&reviews)
            .into_iter()
            .map(|(label, _)| label)
            .collect();
        bail!(
            "no confirmed events for `{}` in the journal\nhint: run `microcue drill review EVENTS.jsonl --label '{}'` first{}",
            args.label,
            args.label,
            if labels.is_empty() {
                String::new()
            } else {
                format!("; labels with reviews: {}", labels.join(", "))
            }
        );
    }
    let seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    });
    let config = SlowMotionConfig {
        max_items: args.items.max(1),
        ..SlowMotionConfig::default()
    };
    let mut quiz = SlowMotionQuiz::new(&events, &config, seed)?;
    let items = quiz.items().to_vec();
    let session = session_name(today, seed);
    let width = picture_width(args.width);
    let clips = match &args.video {
        Some(video) => {
            let windows: Vec<(f64, f64)> = items
                .iter()
                .map(|i| (i.window_start_s, i.window_end_s))
                .collect();
            load_clips(video, &windows, width)?
        }
        None => Vec::new(),
    };
    let picture_rows = clips
        .iter()
        .flatten()
        .map(|c| c.pictures[0].height.div_ceil(2) as u16)
        .max()
        .unwrap_or(0);
    let origin = Origin { row: 2, column: 2 };
    let text_row = origin.row + picture_rows + 1;

    let mut input = Input::open()?;
    let mut screen = Screen::open()?;
    let mut saved = 0;
    let mut quit = false;
    'items: for (index, item) in items.iter().enumerate() {
        let clip = clips.get(index).and_then(Option::as_ref);
        let event = &events[item.event_index];
        let mut play_it = true;
        loop {
            let mut bytes = Vec::new();
            bytes.extend_from_slice(CLEAR);
            encode_text(
                &format!(
                    "slow motion {}/{}: {:.2}–{:.2} s of `{}` at {}x, pausing at the apex",
                    index + 1,
                    items.len(),
                    item.window_start_s,
                    item.window_end_s,
                    args.label,
                    item.playback_speed
                ),
                1,
                &mut bytes,
            );
            let mut text = String::new();
            if clip.is_none() {
                text.push_str(&format!(
                    "Watch {:.2}–{:.2} s of your video at {}x in your player (e.g. `mpv --start={:.2} --end={:.2} --speed={} VIDEO`), or add --video.\n",
                    item.window_start_s,
                    item.window_end_s,
                    item.playback_speed,
                    item.window_start_s,
                    item.window_end_s,
                    item.playback_speed
                ));
            }
            text.push_str("What was it?\n");
            for (number, cue) in item.choices.iter().enumerate() {
                text.push_str(&format!("  {} {}\n", number + 1, cue.as_str()));
            }
            text.push_str("  r replay   q quit\n");
            encode_text(&wrap(&text, text_width()), text_row, &mut bytes);
            screen.show(&bytes)?;
            if let Some(clip) = clip
                && play_it
            {
                play(
                    &mut screen,
                    &mut input,
                    clip,
                    item.playback_speed,
                    Some(item.pause_at_s),
                    origin,
                )?;
            }
            play_it = false;
            let asked = Instant::now();
            let reply = match ask(&mut input)? {
                Reply::Quit => {
                    quit = true;
                    break 'items;
                }
                Reply::Text(reply) => reply.trim().to_ascii_lowercase(),
            };
            let answer = match reply.as_str() {
                "q" | "quit" => {
                    quit = true;
                    break 'items;
                }
                "r" | "replay" => {
                    play_it = true;
                    continue;
                }
                text => match text.parse::<usize>() {
                    Ok(number) => number
                        .checked_sub(1)
                        .and_then(|i| item.choices.get(i))
                        .copied(),
                    Err(_) => CueId::parse(text).filter(|c| item.choices.contains(c)),
                },
            };
            let Some(answer) = answer else {
                if !input.is_keys() {
                    eprintln!(
                        "`{reply}` is not an answer: 1-{}, r or q",
                        item.choices.len()
                    );
                }
                continue;
            };
            let reaction_ms = asked.elapsed().as_secs_f64() * 1000.0;
            quiz.answer(item.id, answer, reaction_ms)?;
            let record = quiz
                .record(item.id, today, &session)
                .context("the answer was not recorded by the quiz")?;
            journal
                .add_trial(&record)
                .context("cannot save the answer; the answers given before it are saved")?;
            saved += 1;
            let message = confirmed_feedback(event.cue, answer);
            let mut bytes = Vec::new();
            let below_menu = text_row + wrap(&text, text_width()).lines().count() as u16 + 1;
            encode_text(&wrap(&message, text_width()), below_menu, &mut bytes);
            screen.show(&bytes)?;
            if input.is_keys() && input.pause(Duration::from_millis(1500))? {
                quit = true;
                break 'items;
            }
            continue 'items;
        }
    }
    drop(screen);
    drop(input);
    let summary = quiz.summary();
    say!(
        out,
        "{} slow-motion quiz on `{}`: {saved} answer(s) saved, {} correct{}.",
        if quit { "Stopped" } else { "Finished" },
        args.label,
        summary.correct,
        summary
            .accuracy
            .map_or(String::new(), |a| format!(" ({:.0}%)", a * 100.0))
    );
    say!(
        out,
        "These are slow-motion test trials: `microcue kpi` counts them in the accuracy rate."
    );
    Ok(ExitCode::SUCCESS)
}
