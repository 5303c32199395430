//! Text inputs: face-signals JSON Lines, OpenFace CSV, spotter settings, truth CSV.

use std::path::Path;
use std::sync::OnceLock;

use microcue_core::eval::{EvalConfig, evaluate};
use microcue_core::formats::{OpenFaceOptions, read_openface_with, read_signals};
use microcue_core::synth::{SynthConfig, generate, random_events};
use microcue_core::{Event, FaceSignals, Spotter, SpotterConfig, analyze_all};
use microcue_train::review::read_truth_csv;

use crate::checks::{check_error, check_events};

/// Face-signals JSON Lines streamed into the spotter, as `microcue analyze --signals FILE`
/// (which stops at the first bad line).
pub fn signals_jsonl(data: &[u8]) {
    let mut spotter = Spotter::new(SpotterConfig::default());
    let mut events = Vec::new();
    for signals in read_signals(data) {
        match signals {
            Ok(signals) => {
                assert!(
                    signals.validate().is_ok(),
                    "the reader passed invalid signals"
                );
                spotter.push(&signals, &mut events);
            }
            Err(error) => {
                check_error(&error, "line ");
                break;
            }
        }
    }
    spotter.finish(&mut events);
    check_events(&events);
}

/// An OpenFace 2.x CSV imported (times from `timestamp`, then from `frame` at 30 fps) and
/// analysed, as `microcue analyze --openface FILE`.
pub fn openface_csv(data: &[u8]) {
    for frame_rate_hz in [None, Some(30.0)] {
        match read_openface_with(data, &OpenFaceOptions { frame_rate_hz }) {
            Ok(import) => {
                assert!(!import.signals.is_empty(), "an import without rows");
                assert!(
                    import.signals.iter().all(|face| face.validate().is_ok()),
                    "the import made invalid signals"
                );
                let config = SpotterConfig {
                    unavailable_cues: import.unavailable_cues.clone(),
                    ..SpotterConfig::default()
                };
                let events = analyze_all(&import.signals, &config);
                check_events(&events);
                assert!(
                    events
                        .iter()
                        .all(|event| !import.unavailable_cues.contains(&event.cue)),
                    "an event of a cue the import cannot express"
                );
            }
            Err(error) => check_error(&error, "line "),
        }
    }
}

/// Spotter settings as `microcue analyze --spotter-config FILE` reads them (JSON, then
/// `validate()`); settings that pass run the spotter over a short synthetic trace.
pub fn spotter_config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(config) = serde_json::from_str::<SpotterConfig>(text) else {
        return;
    };
    if config.validate().is_err() {
        return;
    }
    let events = analyze_all(trace(), &config);
    check_events(&events);
}

/// Twelve seconds of a talking face with region motion and four planted movements, made once.
fn trace() -> &'static [FaceSignals] {
    static TRACE: OnceLock<Vec<FaceSignals>> = OnceLock::new();
    TRACE.get_or_init(|| {
        let config = SynthConfig {
            duration_s: 12.0,
            region_motion: true,
            ..SynthConfig::default()
        };
        let events = random_events(&config, 4, 7).expect("four movements fit in twelve seconds");
        generate(&config, &events).expect("the trace settings are valid")
    })
}

/// A truth CSV as `microcue eval score` reads it, each row checked, then scored against the
/// events the default spotter finds in a synthetic twelve-second face.
pub fn truth_csv(data: &[u8]) {
    let truth = match read_truth_csv(data, Path::new("truth.csv")) {
        Ok(truth) => truth,
        Err(error) => {
            check_error(&error, "truth.csv");
            return;
        }
    };
    assert!(
        truth.iter().all(|event| event.validate().is_ok()),
        "the reader passed an invalid truth row"
    );
    let detections = trace_events();
    let clean = &detections[..detections.len() / 2];
    let report = evaluate(&truth, detections, Some(clean), &EvalConfig::default());
    assert_eq!(report.overall.truths, truth.len(), "truths lost in scoring");
    assert!(
        report.overall.matched <= truth.len().min(detections.len()),
        "more matches than truths or detections: {report:?}"
    );
}

/// The events the default spotter finds in [`trace`], found once.
fn trace_events() -> &'static [Event] {
    static EVENTS: OnceLock<Vec<Event>> = OnceLock::new();
    EVENTS.get_or_init(|| analyze_all(trace(), &SpotterConfig::default()))
}
