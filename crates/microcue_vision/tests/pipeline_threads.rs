//! `Pipeline::run` gives the same signals and events, in the same order, whether the tracker has
//! a thread of its own, shares the calling thread, or decoding happens there too; and it stops
//! cleanly at `max_frames` with the tracker thread running ahead.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use microcue_core::{Event, FaceSignals};
use microcue_vision::analysis::AnalysisOptions;
use microcue_vision::pipeline::{Decoding, Pipeline, RunSettings, Step, TrackerThread};
use microcue_vision::source::{SourceSpec, open_source};

fn pipeline() -> &'static Pipeline {
    static PIPELINE: OnceLock<Pipeline> = OnceLock::new();
    PIPELINE.get_or_init(|| Pipeline::load().expect("the embedded models load"))
}

/// A clip of the repository's `tests/data/faces` (MANIFEST.md there gives its source).
fn face_clip(name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data/faces")
        .join(name);
    assert!(
        path.is_file(),
        "{} is missing: tests/data ships with the repository",
        path.display()
    );
    path
}

/// Every frame's faces (pts and signals) and every event of one run.
#[derive(Debug, PartialEq)]
struct Outcome {
    faces: Vec<(f64, Vec<FaceSignals>)>,
    events: Vec<Event>,
    frames_with_face: u64,
}

fn analyse(clip: &Path, decoding: Decoding, max_frames: Option<u64>) -> Outcome {
    let source = open_source(&SourceSpec::new(clip)).expect("the clip opens");
    let settings = RunSettings {
        analysis: AnalysisOptions {
            region_motion: true,
            ..AnalysisOptions::default()
        },
        decoding,
        max_frames,
    };
    let mut faces = Vec::new();
    let mut events = Vec::new();
    let summary = pipeline()
        .run(source, &settings, &mut |step| {
            match step {
                Step::Frame(report) => {
                    faces.push((report.frame.pts_s, report.faces.to_vec()));
                    events.extend_from_slice(report.events);
                }
                Step::End { events: last } => events.extend_from_slice(last),
            }
            Ok::<(), std::convert::Infallible>(())
        })
        .expect("the run succeeds");
    assert!(summary.decode_error.is_none());
    assert_eq!(summary.frames, faces.len() as u64);
    assert_eq!(summary.events, events.len());
    Outcome {
        faces,
        events,
        frames_with_face: summary.frames_with_face,
    }
}

fn background(tracker_thread: TrackerThread) -> Decoding {
    Decoding::Background {
        ahead: 4,
        tracker_thread,
    }
}

#[test]
fn tracker_thread_gives_the_same_signals_and_events() {
    for name in ["WolfgangLanger_Pexels_3s.mp4", "face_noface_3s.mov"] {
        let clip = face_clip(name);
        let own_thread = analyse(&clip, background(TrackerThread::Always), None);
        let shared = analyse(&clip, background(TrackerThread::Never), None);
        let same_thread = analyse(&clip, Decoding::SameThread, None);
        assert!(
            own_thread.frames_with_face > 10,
            "{name}: faces in only {} frames",
            own_thread.frames_with_face
        );
        assert!(
            own_thread
                .faces
                .iter()
                .flat_map(|(_, faces)| faces)
                .any(|face| face.blendshapes.iter().any(|&score| score > 0.1)
                    && face.region_motion.is_some()),
            "{name}: no face with blendshapes and region motion"
        );
        assert!(
            own_thread == shared,
            "{name}: tracker thread vs shared thread differ"
        );
        assert!(
            own_thread == same_thread,
            "{name}: tracker thread vs same-thread decoding differ"
        );
    }
}

#[test]
fn tracker_thread_stops_at_max_frames() {
    let clip = face_clip("WolfgangLanger_Pexels_3s.mp4");
    let own_thread = analyse(&clip, background(TrackerThread::Always), Some(20));
    let same_thread = analyse(&clip, Decoding::SameThread, Some(20));
    assert_eq!(own_thread.faces.len(), 20);
    assert!(own_thread == same_thread);
}
