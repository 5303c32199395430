//! Helpers of `fuzz/seed.sh` for the seeds that are not plain files:
//!
//! - `pipe CHUNK INTERRUPT PROBE PTS Y4M OUT`: frames ffprobe's and ffmpeg's real outputs as an
//!   `ffmpeg_pipe` input (`INTERRUPT` is `0` or `1`);
//! - `spotter-config DIR`: the default spotter settings, in full, as `DIR/default.json`;
//! - `journal-extras JOURNAL SIGNALS EVENTS`: adds to a journal the rows the CLI cannot make
//!   without a terminal: a baseline measured on a signals file and verdicts on analysed events;
//! - `truth EVENTS DIR`: truth CSVs of analysed events as microcue writes them, reviewed
//!   (`DIR/reviewed.csv`) and injected (`DIR/injected.csv`).

use std::path::Path;

use microcue_core::formats::read_signals;
use microcue_core::{BLENDSHAPE_NAMES, Event, SpotterConfig};
use microcue_train::dates::parse_date;
use microcue_train::journal::Journal;
use microcue_train::records::{ChannelBaseline, PersonBaseline};
use microcue_train::review::ReviewedEvent;
use microcue_vision::inject::{InjectedEvent, write_truth_csv};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["pipe", chunk, interrupt, probe, pts, y4m, out] => {
            let input = microcue_fuzz::encode_pipe_input(
                chunk.parse()?,
                *interrupt == "1",
                &std::fs::read(probe)?,
                &std::fs::read(pts)?,
                &std::fs::read(y4m)?,
            );
            std::fs::write(out, input)?;
        }
        ["spotter-config", dir] => {
            let json = serde_json::to_string_pretty(&SpotterConfig::default())?;
            std::fs::write(Path::new(dir).join("default.json"), json)?;
        }
        ["journal-extras", journal, signals, events] => {
            journal_extras(Path::new(journal), Path::new(signals), Path::new(events))?;
        }
        ["truth", events, dir] => truth(Path::new(events), Path::new(dir))?,
        _ => {
            return Err(
                "usage: seeds pipe CHUNK INTERRUPT PROBE PTS Y4M OUT | spotter-config \
                        DIR | journal-extras JOURNAL SIGNALS EVENTS | truth EVENTS DIR"
                    .into(),
            );
        }
    }
    Ok(())
}

fn journal_extras(journal_path: &Path, signals_path: &Path, events_path: &Path) -> Result<()> {
    let mut journal = Journal::open(journal_path)?;
    let date = parse_date("2026-01-05")?;
    let file = std::io::BufReader::new(std::fs::File::open(signals_path)?);
    let frames = read_signals(file).collect::<std::result::Result<Vec<_>, _>>()?;
    let channels = BLENDSHAPE_NAMES
        .iter()
        .enumerate()
        .skip(1)
        .map(|(index, name)| {
            let mut values: Vec<f32> = frames.iter().map(|f| f.blendshapes[index]).collect();
            let median = upper_median(&mut values);
            let mut deviations: Vec<f32> = values.iter().map(|v| (v - median).abs()).collect();
            ChannelBaseline {
                channel: (*name).to_owned(),
                median,
                mad: upper_median(&mut deviations),
            }
        })
        .collect();
    journal.save_baseline(&PersonBaseline {
        person: "me".to_owned(),
        date,
        frames: frames.len() as u32,
        channels,
    })?;
    for review in reviews(&read_events(events_path)?)? {
        journal.save_review(&review)?;
    }
    Ok(())
}

fn read_events(path: &Path) -> Result<Vec<Event>> {
    Ok(std::fs::read_to_string(path)?
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(serde_json::from_str)
        .collect::<std::result::Result<_, _>>()?)
}

/// Verdicts on `events` in turn: confirmed, rejected, corrected to an eyebrow flash.
fn reviews(events: &[Event]) -> Result<Vec<ReviewedEvent>> {
    let date = parse_date("2026-01-05")?;
    Ok(events
        .iter()
        .enumerate()
        .map(|(index, event)| match index % 3 {
            0 => ReviewedEvent::confirm(date, "single_face.mp4", event),
            1 => ReviewedEvent::reject(date, "single_face.mp4", event),
            _ => ReviewedEvent::correct(
                date,
                "single_face.mp4",
                event,
                microcue_core::CueId::EyebrowFlash,
                microcue_core::Side::Both,
            ),
        })
        .collect())
}

fn truth(events_path: &Path, dir: &Path) -> Result<()> {
    let events = read_events(events_path)?;
    let reviewed = dir.join("reviewed.csv");
    microcue_train::review::write_truth_csv(
        &reviews(&events)?,
        "single_face.mp4",
        std::fs::File::create(&reviewed)?,
        &reviewed,
    )?;
    let injected: Vec<InjectedEvent> = events
        .iter()
        .map(|event| InjectedEvent {
            cue: event.cue,
            side: event.side,
            onset_s: event.onset_s,
            apex_s: event.apex_s,
            offset_s: event.offset_s,
            duration_ms: event.duration_ms,
            amplitude_iod: 0.03,
            first_frame: (event.onset_s * 30.0) as u64,
            last_frame: (event.offset_s * 30.0) as u64,
        })
        .collect();
    write_truth_csv(std::fs::File::create(dir.join("injected.csv"))?, &injected)?;
    Ok(())
}

/// The upper median (a seed needs a typical value, not a statistic).
fn upper_median(values: &mut [f32]) -> f32 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f32::total_cmp);
    values[values.len() / 2]
}
