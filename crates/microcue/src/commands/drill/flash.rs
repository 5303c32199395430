//! The flash drill in the terminal: the METT flow of [`FlashDrill`] with real pictures.
//!
//! Each trial is rendered before it is shown (neutral face, the cue at its apex, neutral face:
//! [`WarpRenderer`] with [`FlashShape::Apex`]) and encoded to terminal bytes; showing it is
//! three writes: the neutral face, the cells the flash changes, the same cells back. The flash
//! lasts from the flush of the second write to the flush of the third; that measured time is
//! what the journal stores (the staircase asked for its own value; the terminal may add a few
//! milliseconds). Catch trials change no cell. The reaction time runs from the end of the
//! flash to the answer. Every answered trial is saved at once, so quitting keeps them.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use microcue_core::{CueId, Side};
use microcue_train::flash::{FlashConfig, FlashDrill, FlashStep, LearnCard};
use microcue_train::{DrillKind, Journal, StimulusRenderer, TrialPhase, TrialRecord};
use microcue_vision::source::{FrameSource, Mp4Source, SourceSpec, open_source};
use microcue_vision::warp::INJECTABLE_CUES;

use super::{DRILL_INTENSITY, FlashArgs, summary_table};
use crate::commands::demo::DEMO_CLIP;
use crate::commands::journal::JournalLocation;
use crate::terminal::{
    CLEAR, Input, Origin, Reply, Screen, encode_change, encode_clear_below, encode_picture,
    encode_text, terminal_size, text_width, wait_until, wrap,
};
use microcue_app::render::{FaceView, FlashShape, NeutralFace, RenderSettings, WarpRenderer};

/// Rows of text under the picture.
const TEXT_ROWS: u16 = 12;
/// Narrowest picture worth showing, pixels.
const MIN_WIDTH_PX: u32 = 32;
/// Cues of the quick session: one per face region (brows, nose, mouth).
const QUICK_CUES: [CueId; 3] = [CueId::EyebrowFlash, CueId::NoseWrinkle, CueId::GenuineSmile];

/// What the user answered.
enum Answer {
    Cue(Option<CueId>),
    Quit,
}

/// Parses an answer: a choice number, `0`/`n`/`nothing`, a cue name among the choices, or `q`.
fn parse_answer(text: &str, choices: &[CueId]) -> Option<Answer> {
    let text = text.trim().to_ascii_lowercase();
    match text.as_str() {
        "q" | "quit" => return Some(Answer::Quit),
        "0" | "n" | "nothing" | "none" => return Some(Answer::Cue(None)),
        _ => {}
    }
    if let Ok(number) = text.parse::<usize>() {
        return choices
            .get(number.checked_sub(1)?)
            .map(|c| Answer::Cue(Some(*c)));
    }
    CueId::parse(&text)
        .filter(|c| choices.contains(c))
        .map(|c| Answer::Cue(Some(c)))
}

fn phase_name(phase: TrialPhase) -> &'static str {
    match phase {
        TrialPhase::PreTest => "pre-test",
        TrialPhase::Practice => "practice",
        TrialPhase::PostTest => "post-test",
        TrialPhase::Test => "test",
    }
}

fn choices_text(choices: &[CueId]) -> String {
    let mut text = String::from("What flashed?\n");
    for (row, chunk) in choices.chunks(4).enumerate() {
        let line: Vec<String> = chunk
            .iter()
            .enumerate()
            .map(|(i, cue)| format!("{} {:<22}", row * 4 + i + 1, cue.as_str()))
            .collect();
        text.push_str(&format!("  {}\n", line.join("")));
    }
    text.push_str("  0 nothing                q quit\n");
    text
}

/// Opens the neutral face: `--video` (with consent) or the bundled clip.
fn neutral_face(args: &FlashArgs) -> anyhow::Result<(NeutralFace, String)> {
    let (mut source, name): (Box<dyn FrameSource>, String) = match &args.video {
        Some(path) => {
            if args.consent.is_none() {
                bail!(
                    "is the person in `{}` OK with being used for drills?\nhint: add `--consent self` or `--consent given`",
                    path.display()
                );
            }
            (
                open_source(&SourceSpec::new(path))
                    .with_context(|| format!("cannot open `{}`", path.display()))?,
                path.display().to_string(),
            )
        }
        None => (
            Box::new(Mp4Source::from_bytes(
                "single_face.mp4 (bundled)",
                DEMO_CLIP.to_vec(),
            )?),
            "single_face.mp4 (bundled)".to_owned(),
        ),
    };
    let face = NeutralFace::find(source.as_mut(), args.at, &name)?;
    Ok((face, name))
}

/// Picture width that fits the terminal (or `--width`, or 80 px when not a terminal).
fn picture_width(args: &FlashArgs, face: &NeutralFace) -> anyhow::Result<u32> {
    let mut width = args.width.unwrap_or(80).clamp(MIN_WIDTH_PX, 200);
    if let Some((columns, rows)) = terminal_size() {
        width = width.min(u32::from(columns.saturating_sub(2)));
        if let Some(view) = FaceView::around(
            &face.landmarks_in_image,
            face.frame.width,
            face.frame.height,
            width,
        ) {
            let rows_for_picture = u32::from(rows.saturating_sub(TEXT_ROWS + 1));
            if view.out_height_px / 2 > rows_for_picture {
                width = width * rows_for_picture * 2 / view.out_height_px.max(1);
            }
        }
        if width < MIN_WIDTH_PX {
            bail!(
                "the terminal ({columns}x{rows}) is too small for the face picture; hint: enlarge \
                 it to at least {} columns and {} rows",
                MIN_WIDTH_PX + 2,
                MIN_WIDTH_PX / 2 + u32::from(TEXT_ROWS) + 2
            );
        }
    }
    Ok(width)
}

/// One timed trial as shown; `None` when the user quit during it.
struct Shown {
    exposure_shown_ms: f64,
    flash_end: Instant,
}

/// Runs the flash drill with pictures.
pub fn run(
    args: &FlashArgs,
    location: &JournalLocation,
    out: &mut String,
) -> anyhow::Result<ExitCode> {
    let today = location.today()?;
    let mut journal = location.open()?;
    let seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    });
    let session = format!("flash-{today}-{:08x}", seed as u32);
    let (pre, practice, post) = match (args.trials, args.quick) {
        (Some(n), _) => (n, n, n),
        (None, true) => (4, 4, 4),
        (None, false) => {
            let default = FlashConfig::default();
            (
                default.pre_test_trials,
                default.practice_trials,
                default.post_test_trials,
            )
        }
    };
    let neutral_ms = args
        .neutral_ms
        .unwrap_or(if args.quick { 400.0 } else { 1000.0 });
    if !(0.0..=10_000.0).contains(&neutral_ms) {
        bail!("--neutral-ms must be within 0..10000, got {neutral_ms}");
    }
    let (face, source_name) = neutral_face(args)?;
    let config = FlashConfig {
        cues: if args.quick {
            QUICK_CUES.to_vec()
        } else {
            INJECTABLE_CUES.to_vec()
        },
        pre_test_trials: pre,
        practice_trials: practice,
        post_test_trials: post,
        intensity: DRILL_INTENSITY,
        sources: vec![source_name],
        ..FlashConfig::default()
    };
    let mut drill = FlashDrill::new(config, seed)?;
    let width = picture_width(args, &face)?;
    let trial_settings = RenderSettings {
        shape: FlashShape::Apex,
        fps: 30.0,
        neutral_before_ms: neutral_ms,
        neutral_after_ms: neutral_ms,
    };
    let slow_settings = RenderSettings {
        shape: FlashShape::Envelope,
        fps: 30.0,
        neutral_before_ms: 200.0,
        neutral_after_ms: 200.0,
    };
    let mut renderer = WarpRenderer::face_view(&face, width, trial_settings)?;
    drop(face);
    let (_, picture_height) = renderer.picture_size();
    let origin = Origin { row: 2, column: 2 };
    let text_row = origin.row + (picture_height / 2) as u16 + 1;

    let mut input = Input::open()?;
    let mut screen = Screen::open()?;
    let mut session_state = Session {
        journal: &mut journal,
        today,
        session: &session,
        saved: 0,
        exposures: Vec::new(),
    };
    let mut quit = false;
    // The picture on screen, when it is one of the drill's faces.
    let mut on_screen: Option<microcue_vision::Frame> = None;
    'drill: loop {
        match drill.next_step() {
            FlashStep::Finished => break,
            FlashStep::Learn(cards) => {
                renderer.settings = slow_settings;
                on_screen = None;
                for (index, card) in cards.iter().enumerate() {
                    let keep_going = learn_card(
                        &mut renderer,
                        &mut screen,
                        &mut input,
                        card,
                        (index + 1, cards.len()),
                        origin,
                        text_row,
                    )?;
                    if !keep_going {
                        quit = true;
                        break 'drill;
                    }
                }
                renderer.settings = trial_settings;
                drill.finish_learning()?;
            }
            FlashStep::Trial(trial) => {
                let rendered = renderer.render(&trial.stimulus)?;
                let neutral = &rendered.pictures[0];
                let flash_picture = rendered.apex_picture();
                let mut first = Vec::with_capacity(64 * 1024);
                match &on_screen {
                    // The face is on screen already: change what differs, clear the text.
                    Some(previous) => {
                        encode_change(previous, neutral, origin, &mut first);
                        encode_clear_below(text_row, &mut first);
                    }
                    None => first.extend_from_slice(CLEAR),
                }
                encode_text(
                    &format!(
                        "{} {}/{} · watch the face",
                        phase_name(trial.phase),
                        trial.number_in_phase,
                        trial.trials_in_phase
                    ),
                    1,
                    &mut first,
                );
                if on_screen.is_none() {
                    encode_picture(neutral, origin, &mut first);
                }
                on_screen = Some(neutral.clone());
                let mut flash_bytes = Vec::new();
                encode_change(neutral, flash_picture, origin, &mut flash_bytes);
                let mut back_bytes = Vec::new();
                encode_change(flash_picture, neutral, origin, &mut back_bytes);
                let mut prompt = Vec::new();
                encode_text(&choices_text(&trial.choices), text_row, &mut prompt);

                let Some(shown) = show_trial(
                    &mut screen,
                    &mut input,
                    [&first, &flash_bytes, &back_bytes],
                    neutral_ms,
                    trial.stimulus.exposure_ms,
                )?
                else {
                    quit = true;
                    break;
                };
                screen.show(&prompt)?;
                input.discard_pending();
                let answer = loop {
                    let reply = if input.is_keys() {
                        input.key()?
                    } else {
                        input.line(None)?
                    };
                    let text = match reply {
                        Reply::Quit => break Answer::Quit,
                        Reply::Text(text) => text,
                    };
                    match parse_answer(&text, &trial.choices) {
                        Some(answer) => break answer,
                        None if input.is_keys() => {}
                        None => eprintln!(
                            "`{text}` is not an answer: type 1-{}, 0 for nothing, or q",
                            trial.choices.len()
                        ),
                    }
                };
                let reaction_ms = shown.flash_end.elapsed().as_secs_f64() * 1000.0;
                let Answer::Cue(response) = answer else {
                    quit = true;
                    break;
                };
                let feedback = drill.answer(trial.id, response, reaction_ms)?;
                session_state.save(&trial, response, shown.exposure_shown_ms, reaction_ms)?;
                if let Some(reveal) = feedback.reveal {
                    let mut bytes = Vec::new();
                    encode_clear_below(text_row, &mut bytes);
                    let mark = if reveal.correct { "✓" } else { "✗" };
                    encode_text(
                        &wrap(&format!("{mark} {}", feedback.message), text_width()),
                        text_row,
                        &mut bytes,
                    );
                    if !reveal.correct && trial.stimulus.cue.is_some() {
                        // Show what it was, at its apex, for a moment.
                        encode_change(neutral, flash_picture, origin, &mut bytes);
                        on_screen = Some(flash_picture.clone());
                    }
                    screen.show(&bytes)?;
                    if input.is_keys() && input.pause(Duration::from_millis(1500))? {
                        quit = true;
                        break;
                    }
                }
            }
        }
    }
    drop(screen);
    drop(input);
    let summary = drill.summary();
    say!(
        out,
        "{} flash drill: {} trial(s) answered and saved to the journal (session {session}).",
        if quit { "Stopped" } else { "Finished" },
        session_state.saved
    );
    if session_state.saved > 0 {
        say!(out);
        summary_table(out, &summary);
        let mut overshoot: Vec<f64> = session_state
            .exposures
            .iter()
            .map(|(asked, shown)| shown - asked)
            .collect();
        overshoot.sort_by(f64::total_cmp);
        if let Some(median) = overshoot.get(overshoot.len() / 2) {
            say!(
                out,
                "\nFlash timing: the terminal showed each flash a median {median:+.1} ms from the \
                 staircase's exposure; the journal keeps the measured value. (Your screen's refresh \
                 rounds every flash to whole frames: ~17 ms at 60 Hz.)"
            );
        }
    }
    say!(
        out,
        "\nFlashes are warped from a still face at intensity {DRILL_INTENSITY} (10% of the \
         inter-ocular distance); real micro-expressions are subtler. `microcue kpi` shows your \
         accuracy."
    );
    Ok(ExitCode::SUCCESS)
}

/// Shows one trial: neutral, flash, neutral. `None` when the user quit during the neutral
/// lead-in.
fn show_trial(
    screen: &mut Screen,
    input: &mut Input,
    [first, flash, back]: [&[u8]; 3],
    neutral_ms: f64,
    exposure_ms: f64,
) -> anyhow::Result<Option<Shown>> {
    screen.show(first)?;
    if input.pause(Duration::from_secs_f64(neutral_ms / 1000.0))? {
        return Ok(None);
    }
    let flash_start = screen.show(flash)?;
    wait_until(flash_start + Duration::from_secs_f64(exposure_ms / 1000.0));
    let flash_end = screen.show(back)?;
    Ok(Some(Shown {
        exposure_shown_ms: (flash_end - flash_start).as_secs_f64() * 1000.0,
        flash_end,
    }))
}

/// Shows a learn card: the cue's components, its apex still, then its flash at 0.25x.
/// Returns `false` when the user quit.
fn learn_card(
    renderer: &mut WarpRenderer,
    screen: &mut Screen,
    input: &mut Input,
    card: &LearnCard,
    (number, count): (usize, usize),
    origin: Origin,
    text_row: u16,
) -> anyhow::Result<bool> {
    let slow = renderer.render(&card.slow_motion)?;
    let entry = card.entry;
    let side = match card.slow_motion.side {
        Side::Both => String::new(),
        side => format!(" (shown on the {} side)", side.as_str()),
    };
    let caveat = entry
        .reliability
        .first()
        .map_or(String::new(), |r| format!("\nwatch out: {r}"));
    let text = wrap(
        &format!(
            "learn {number}/{count}: {}{side} — {}\nFACS {} · {}\nmeaning: {}{caveat}",
            entry.name, entry.looks_like, entry.facs, entry.signature.pattern, entry.meaning
        ),
        text_width(),
    );
    // The apex still, then slow motion on request.
    let mut bytes = Vec::new();
    bytes.extend_from_slice(CLEAR);
    encode_text(
        &format!("learn {number}/{count}: {} at its apex", entry.name),
        1,
        &mut bytes,
    );
    encode_picture(slow.apex_picture(), origin, &mut bytes);
    encode_text(&text, text_row, &mut bytes);
    screen.show(&bytes)?;
    if input.pause(Duration::from_millis(if input.is_keys() {
        1500
    } else {
        0
    }))? {
        return Ok(false);
    }
    loop {
        // Play: pre-encode every step, then show each for its time.
        let mut steps: Vec<(Vec<u8>, f64)> = Vec::with_capacity(slow.timeline.len() + 1);
        let mut first = Vec::new();
        encode_text(
            &format!("learn {number}/{count}: {} at 0.25x", entry.name),
            1,
            &mut first,
        );
        encode_picture(&slow.pictures[0], origin, &mut first);
        steps.push((first, 0.0));
        let mut previous = 0;
        for shown in &slow.timeline {
            let mut change = Vec::new();
            encode_change(
                &slow.pictures[previous],
                &slow.pictures[shown.picture],
                origin,
                &mut change,
            );
            steps.push((change, shown.hold_ms));
            previous = shown.picture;
        }
        for (bytes, hold_ms) in &steps {
            let shown_at = screen.show(bytes)?;
            wait_until(shown_at + Duration::from_secs_f64(hold_ms / 1000.0));
        }
        let mut prompt = Vec::new();
        encode_text(
            "  Enter: next   r: replay   q: quit",
            text_row + text.lines().count() as u16 + 1,
            &mut prompt,
        );
        screen.show(&prompt)?;
        input.discard_pending();
        let reply = if input.is_keys() {
            input.key()?
        } else {
            input.line(None)?
        };
        match reply {
            Reply::Quit => return Ok(false),
            Reply::Text(text) if text.eq_ignore_ascii_case("q") => return Ok(false),
            Reply::Text(text) if text.eq_ignore_ascii_case("r") => continue,
            Reply::Text(_) => return Ok(true),
        }
    }
}

/// Saves answered trials as they come.
struct Session<'a> {
    journal: &'a mut Journal,
    today: microcue_train::dates::Date,
    session: &'a str,
    saved: usize,
    /// (asked, shown) exposure per flash trial, ms.
    exposures: Vec<(f64, f64)>,
}

impl Session<'_> {
    fn save(
        &mut self,
        trial: &microcue_train::flash::FlashTrial,
        response: Option<CueId>,
        exposure_shown_ms: f64,
        reaction_ms: f64,
    ) -> anyhow::Result<()> {
        let record = TrialRecord {
            date: self.today,
            kind: DrillKind::Flash,
            phase: trial.phase,
            target: trial.stimulus.cue,
            response,
            exposure_ms: Some(exposure_shown_ms),
            reaction_ms: Some(reaction_ms),
            session: Some(self.session.to_owned()),
        };
        self.journal
            .add_trial(&record)
            .context("cannot save the trial; the trials answered before it are saved")?;
        self.saved += 1;
        if trial.stimulus.cue.is_some() {
            self.exposures
                .push((trial.stimulus.exposure_ms, exposure_shown_ms));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_parse_as_numbers_names_nothing_or_quit() {
        let choices = QUICK_CUES;
        assert!(matches!(
            parse_answer("2", &choices),
            Some(Answer::Cue(Some(CueId::NoseWrinkle)))
        ));
        assert!(matches!(
            parse_answer(" 0 ", &choices),
            Some(Answer::Cue(None))
        ));
        assert!(matches!(
            parse_answer("genuine_smile", &choices),
            Some(Answer::Cue(Some(CueId::GenuineSmile)))
        ));
        assert!(
            parse_answer("micro_frown", &choices).is_none(),
            "not a choice"
        );
        assert!(parse_answer("4", &choices).is_none());
        assert!(matches!(parse_answer("q", &choices), Some(Answer::Quit)));
    }
}
