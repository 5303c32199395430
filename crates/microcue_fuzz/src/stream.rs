//! Random face-signal streams through the spotter, the reader and the coach.

use arbitrary::{Arbitrary, Unstructured};
use microcue_core::synth::{SynthConfig, generate, random_events};
use microcue_core::{
    BLENDSHAPE_COUNT, ContextKind, ContextTag, Event, FaceSignals, HypothesisConfig,
    HypothesisState, LANDMARK_COUNT, OutcomeWatcher, PreResponseLevels, Region, RegionMotion,
    Spotter, SpotterConfig, TrackId, hypothesize, suggest,
};

use crate::checks::check_events;

/// A stream: a synthetic trace of a real-looking face, then edits that break it.
#[derive(Debug, Arbitrary)]
struct Stream {
    trace: Trace,
    edits: Vec<Edit>,
    /// Chunk sizes of the chunked run (cycled).
    chunks: Vec<u8>,
    /// When a context tag (a question) comes, in tenths of a second.
    question_at: Option<u8>,
}

/// The synthetic trace the edits start from.
#[derive(Debug, Arbitrary)]
struct Trace {
    seed: u8,
    /// 1 to 3 s: long enough for the baseline's warm-up and a few movements; longer streams
    /// only made each input slower.
    seconds: u8,
    /// 15, 25, 30 or 60 fps.
    rate: u8,
    talking: bool,
    region_motion: bool,
    /// 0 to 3 planted movements.
    movements: u8,
    jitter: bool,
}

/// One thing that goes wrong in a stream. `at` is a frame index (modulo the length).
#[derive(Debug, Arbitrary)]
enum Edit {
    /// Every frame from `at` on moves by `delta` seconds (a jump forward or back).
    TimeJump {
        at: u16,
        delta: Number,
    },
    /// One frame's time.
    SetTime {
        at: u16,
        pts: Number,
    },
    /// A frame twice (same time).
    Repeat {
        at: u16,
    },
    /// Frames missing (the face was lost).
    Drop {
        at: u16,
        len: u8,
    },
    /// Two neighbouring frames swapped.
    Swap {
        at: u16,
    },
    /// From `at` on, another track id.
    Switch {
        at: u16,
        track: u32,
    },
    /// A second face: `len` frames from `at` repeated with another track id, interleaved.
    SecondFace {
        at: u16,
        len: u8,
        track: u32,
    },
    Presence {
        at: u16,
        len: u8,
        value: Number,
    },
    Blendshape {
        at: u16,
        len: u8,
        channel: u8,
        value: Number,
    },
    /// A frame with the wrong number of blendshapes.
    BlendshapeCount {
        at: u16,
        count: u8,
    },
    HeadPose {
        at: u16,
        len: u8,
        axis: u8,
        value: Number,
    },
    Motion {
        at: u16,
        len: u8,
        region: u8,
        vertical: bool,
        value: Number,
    },
    MotionLag {
        at: u16,
        value: Number,
    },
    NoMotion {
        at: u16,
        len: u8,
    },
    /// Landmarks: `count` points (478 is the right count) at `value`.
    Landmarks {
        at: u16,
        count: u16,
        value: Number,
    },
}

/// Numbers that break arithmetic.
#[derive(Debug, Clone, Copy, Arbitrary)]
enum Number {
    Nan,
    Infinity,
    NegativeInfinity,
    Zero,
    NegativeZero,
    /// `n / 16`.
    Small(i8),
    /// `n / 255`.
    Unit(u8),
    Big(i16),
    Huge,
    Subnormal,
    Max,
    Raw(f64),
}

impl Number {
    fn f64(self) -> f64 {
        match self {
            Self::Nan => f64::NAN,
            Self::Infinity => f64::INFINITY,
            Self::NegativeInfinity => f64::NEG_INFINITY,
            Self::Zero => 0.0,
            Self::NegativeZero => -0.0,
            Self::Small(n) => f64::from(n) / 16.0,
            Self::Unit(n) => f64::from(n) / 255.0,
            Self::Big(n) => f64::from(n) * 1000.0,
            Self::Huge => 1e300,
            Self::Subnormal => f64::from(f32::MIN_POSITIVE) / 4.0,
            Self::Max => f64::MAX,
            Self::Raw(value) => value,
        }
    }

    fn f32(self) -> f32 {
        match self {
            Self::Max => f32::MAX,
            Self::Huge => 1e30,
            other => other.f64() as f32,
        }
    }
}

/// Most edits applied to one stream (more only cost time).
const MAX_EDITS: usize = 64;

fn make_trace(trace: &Trace) -> Vec<FaceSignals> {
    let config = SynthConfig {
        fps: [15.0, 25.0, 30.0, 60.0][usize::from(trace.rate % 4)],
        duration_s: f64::from(trace.seconds % 3 + 1),
        seed: u64::from(trace.seed),
        timing_jitter: if trace.jitter { 0.3 } else { 0.0 },
        talking: trace.talking,
        region_motion: trace.region_motion,
        warmup_s: 0.5,
        min_event_gap_s: 0.3,
        ..SynthConfig::default()
    };
    let planted = random_events(
        &config,
        usize::from(trace.movements % 4),
        u64::from(trace.seed),
    )
    .unwrap_or_default();
    generate(&config, &planted).expect("the trace settings are valid")
}

fn range(frames: &[FaceSignals], at: u16, len: u8) -> std::ops::Range<usize> {
    let start = usize::from(at) % frames.len().max(1);
    start..(start + usize::from(len) + 1).min(frames.len())
}

fn apply(frames: &mut Vec<FaceSignals>, edit: &Edit) {
    if frames.is_empty() {
        return;
    }
    let index = |at: u16| usize::from(at) % frames.len();
    match *edit {
        Edit::TimeJump { at, delta } => {
            let start = index(at);
            for frame in &mut frames[start..] {
                frame.pts_s += delta.f64();
            }
        }
        Edit::SetTime { at, pts } => {
            let at = index(at);
            frames[at].pts_s = pts.f64();
        }
        Edit::Repeat { at } => {
            let at = index(at);
            let frame = frames[at].clone();
            frames.insert(at, frame);
        }
        Edit::Drop { at, len } => {
            let range = range(frames, at, len);
            frames.drain(range);
        }
        Edit::Swap { at } => {
            let at = index(at);
            if at + 1 < frames.len() {
                frames.swap(at, at + 1);
            }
        }
        Edit::Switch { at, track } => {
            let start = index(at);
            for frame in &mut frames[start..] {
                frame.track = TrackId(track);
            }
        }
        Edit::SecondFace { at, len, track } => {
            let range = range(frames, at, len);
            let mut interleaved = Vec::with_capacity(frames.len() + range.len());
            for (position, frame) in frames.drain(..).enumerate() {
                let copy = range.contains(&position).then(|| FaceSignals {
                    track: TrackId(track),
                    ..frame.clone()
                });
                interleaved.push(frame);
                interleaved.extend(copy);
            }
            *frames = interleaved;
        }
        Edit::Presence { at, len, value } => {
            let range = range(frames, at, len);
            for frame in &mut frames[range] {
                frame.presence = value.f32();
            }
        }
        Edit::Blendshape {
            at,
            len,
            channel,
            value,
        } => {
            let range = range(frames, at, len);
            for frame in &mut frames[range] {
                if let Some(slot) = frame
                    .blendshapes
                    .get_mut(usize::from(channel) % BLENDSHAPE_COUNT)
                {
                    *slot = value.f32();
                }
            }
        }
        Edit::BlendshapeCount { at, count } => {
            let at = index(at);
            frames[at].blendshapes.resize(usize::from(count), 0.5);
        }
        Edit::HeadPose {
            at,
            len,
            axis,
            value,
        } => {
            let range = range(frames, at, len);
            for frame in &mut frames[range] {
                let pose = &mut frame.head_pose;
                *[&mut pose.yaw_deg, &mut pose.pitch_deg, &mut pose.roll_deg]
                    [usize::from(axis % 3)] = value.f32();
            }
        }
        Edit::Motion {
            at,
            len,
            region,
            vertical,
            value,
        } => {
            let range = range(frames, at, len);
            for frame in &mut frames[range] {
                let motion = frame
                    .region_motion
                    .get_or_insert_with(RegionMotion::default);
                motion.values[usize::from(region) % Region::COUNT][usize::from(vertical)] =
                    value.f32();
            }
        }
        Edit::MotionLag { at, value } => {
            let at = index(at);
            if let Some(motion) = frames[at].region_motion.as_mut() {
                motion.lag_s = value.f32();
            }
        }
        Edit::NoMotion { at, len } => {
            let range = range(frames, at, len);
            for frame in &mut frames[range] {
                frame.region_motion = None;
            }
        }
        Edit::Landmarks { at, count, value } => {
            let at = index(at);
            let count = usize::from(count) % (LANDMARK_COUNT + 2);
            let value = value.f32();
            frames[at].landmarks_in_image = vec![[value, value, value]; count];
        }
    }
}

/// A random stream of face signals (a synthetic face, then NaN, infinities, time jumps,
/// backwards times, repeats, lost faces, track switches, second faces, wrong shapes) through
/// the spotter in chunks of random sizes, which must give sound events; then the reader's
/// hypotheses and the coach's suggestions and outcome watch.
pub fn face_stream(data: &[u8]) {
    let Ok(stream) = Stream::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let mut frames = make_trace(&stream.trace);
    for edit in stream.edits.iter().take(MAX_EDITS) {
        apply(&mut frames, edit);
    }
    // One run, pushed in chunks of random sizes (`push_all` is `push` frame by frame, so one
    // run covers both; three runs of the same code only tripled the cost of an input).
    let mut spotter = Spotter::new(SpotterConfig::default());
    let mut events = Vec::new();
    let mut rest = &frames[..];
    for &size in stream.chunks.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (chunk, tail) = rest.split_at(usize::from(size.max(1)).min(rest.len()));
        spotter.push_all(chunk, &mut events);
        rest = tail;
    }
    spotter.push_all(rest, &mut events);
    spotter.finish(&mut events);
    check_events(&events);

    read_and_coach(&frames, &events, stream.question_at);
}

/// The reader's hypothesis at every apex, and the coach's suggestion and outcome watch after
/// every event.
fn read_and_coach(frames: &[FaceSignals], events: &[Event], question_at: Option<u8>) {
    let context: Vec<ContextTag> = question_at
        .map(|at| ContextTag {
            at_s: f64::from(at) / 10.0,
            kind: ContextKind::Question,
        })
        .into_iter()
        .collect();
    let config = HypothesisConfig::default();
    for event in events {
        let hypothesis = hypothesize(events, &context, event.apex_s, &config);
        assert!(
            hypothesis.confidence.is_finite() && (0.0..1.0).contains(&hypothesis.confidence),
            "a hypothesis confidence of {} (never a verdict: below 1)",
            hypothesis.confidence
        );
        if hypothesis.state == HypothesisState::Hypothesis {
            assert!(
                hypothesis.supporting.len() >= 2,
                "a hypothesis on fewer than two signals: {hypothesis:?}"
            );
        }

        let suggestion = suggest(event.cue, event.side);
        assert!(!suggestion.headline.is_empty(), "an empty suggestion");

        let before: Vec<FaceSignals> = frames
            .iter()
            .filter(|frame| frame.track == event.track && frame.pts_s <= event.offset_s)
            .cloned()
            .collect();
        let mut watcher = OutcomeWatcher::new(
            event.track,
            event.offset_s,
            PreResponseLevels::mean_of(&before),
        );
        for frame in frames.iter().filter(|frame| frame.pts_s > event.offset_s) {
            watcher.push(frame);
        }
        for later in events.iter().filter(|later| later.onset_s > event.offset_s) {
            watcher.push_event(later);
        }
        assert!(
            watcher.outcome(event.offset_s + 4.9).is_none(),
            "an outcome called before 5 s of watching"
        );
        let _ = watcher.decision(event.offset_s + 20.0);
    }
}
