//! Where and when the AU style plants its movements: in turn while the mouth moves, while
//! the head moves and in quiet stretches, as single movements or as pairs close together.

use microcue_core::{CueId, LANDMARK_COUNT, Side, TrackId};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::profile::Profile;
use crate::inject::{InjectConfig, InjectedEvent, same_face_run_lengths};
use crate::warp::FaceAxes;

/// What the face was doing while a movement was planted, relative to the rest of the clip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// The mouth opened or closed more than in 70 % of the clip's frames (speech, laughter).
    MouthMoving,
    /// The head moved more than in 70 % of the clip's frames.
    HeadMoving,
    /// Mouth and head both under the clip's median.
    Quiet,
    /// None of the above for most of the movement.
    Mixed,
}

impl Context {
    /// Name in truth.csv.
    pub fn name(self) -> &'static str {
        match self {
            Context::MouthMoving => "mouth_moving",
            Context::HeadMoving => "head_moving",
            Context::Quiet => "quiet",
            Context::Mixed => "mixed",
        }
    }
}

/// One planted movement of the AU style: a truth row and how it moves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AuEvent {
    /// Cue, side, times, size and moved frames, as for the warp style.
    pub event: InjectedEvent,
    pub profile: Profile,
    pub context: Context,
    /// Part of a pair of movements close together.
    pub paired: bool,
    /// Last frame the movement still moves (after `event.last_frame` for a partial return).
    pub last_moved_frame: u64,
}

/// Share of planned groups that are pairs of movements close together.
const PAIR_SHARE: f64 = 0.2;
/// Attempts at placing a group in its target context before any context is accepted.
const CONTEXT_ATTEMPTS: usize = 1500;
const PLACEMENT_ATTEMPTS: usize = 3000;
/// Groups drawn per event asked for before the plan gives up on the rest.
const GROUP_DRAWS_PER_EVENT: usize = 10;

/// Per-frame context labels from the tracked landmarks (`LANDMARK_COUNT` per frame, flat).
pub fn frame_contexts(
    tracks: &[Option<TrackId>],
    landmarks: &[[f32; 3]],
    frame_interval_s: f64,
) -> Vec<Context> {
    let n = tracks.len();
    let mut mouth = vec![0.0f32; n];
    let mut head = vec![0.0f32; n];
    let at = |i: usize| &landmarks[i * LANDMARK_COUNT..(i + 1) * LANDMARK_COUNT];
    for i in 1..n {
        if tracks[i].is_none() || tracks[i] != tracks[i - 1] {
            continue;
        }
        let (now, before) = (at(i), at(i - 1));
        let Some(axes) = FaceAxes::from_landmarks(now) else {
            continue;
        };
        let gap =
            |l: &[[f32; 3]]| ((l[13][0] - l[14][0]).powi(2) + (l[13][1] - l[14][1]).powi(2)).sqrt();
        mouth[i] = (gap(now) - gap(before)).abs() / axes.iod_px;
        // The nose tip moves with every turn, nod and shift of the head.
        head[i] = ((now[1][0] - before[1][0]).powi(2) + (now[1][1] - before[1][1]).powi(2)).sqrt()
            / axes.iod_px;
    }
    let reach = ((0.25 / frame_interval_s).round() as usize).max(1);
    let smooth = |values: &[f32]| -> Vec<f32> {
        (0..n)
            .map(|i| {
                let (a, b) = (i.saturating_sub(reach), (i + reach).min(n - 1));
                values[a..=b].iter().sum::<f32>() / (b - a + 1) as f32
            })
            .collect()
    };
    let (mouth, head) = (smooth(&mouth), smooth(&head));
    let tracked: Vec<usize> = (0..n).filter(|&i| tracks[i].is_some()).collect();
    let quantile = |values: &[f32], q: f64| {
        let mut sorted: Vec<f32> = tracked.iter().map(|&i| values[i]).collect();
        if sorted.is_empty() {
            return 0.0;
        }
        sorted.sort_by(f32::total_cmp);
        sorted[((sorted.len() - 1) as f64 * q).round() as usize]
    };
    let (mouth_high, head_high) = (quantile(&mouth, 0.7), quantile(&head, 0.7));
    let (mouth_mid, head_mid) = (quantile(&mouth, 0.5), quantile(&head, 0.5));
    (0..n)
        .map(|i| {
            if head[i] > head_high {
                Context::HeadMoving
            } else if mouth[i] > mouth_high {
                Context::MouthMoving
            } else if head[i] <= head_mid && mouth[i] <= mouth_mid {
                Context::Quiet
            } else {
                Context::Mixed
            }
        })
        .collect()
}

/// The context most of `frames` have (`Mixed` when none has half of them).
fn majority(contexts: &[Context]) -> Context {
    [Context::MouthMoving, Context::HeadMoving, Context::Quiet]
        .into_iter()
        .find(|c| 2 * contexts.iter().filter(|x| *x == c).count() >= contexts.len())
        .unwrap_or(Context::Mixed)
}

fn draw_profile(rng: &mut ChaCha8Rng, allow_partial: bool) -> Profile {
    match rng.random_range(0..if allow_partial { 4 } else { 3 }) {
        0 => Profile::FastRise {
            rise: rng.random_range(0.15..=0.35),
        },
        1 => Profile::SlowRise {
            rise: rng.random_range(0.55..=0.75),
        },
        2 => Profile::Hold {
            rise: rng.random_range(0.15..=0.25),
            hold: rng.random_range(0.3..=0.5),
        },
        _ => Profile::PartialReturn {
            rise: rng.random_range(0.2..=0.4),
            residual: rng.random_range(0.3..=0.5),
            tail_s: rng.random_range(0.8..=1.2),
        },
    }
}

/// One movement of a group before placement: frames long, offset from the group's first
/// frame, cue, side, size and shape.
struct Draft {
    start: usize,
    frames: usize,
    cue: CueId,
    side: Side,
    amplitude_iod: f32,
    profile: Profile,
}

/// Plans up to `config.count` truth events (see the module doc of `inject_au`). Deterministic
/// for a seed; events sorted by onset.
pub fn plan_au_events(
    tracks: &[Option<TrackId>],
    contexts: &[Context],
    frame_interval_s: f64,
    config: &InjectConfig,
) -> Vec<AuEvent> {
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed ^ 0xA057_471E);
    let n = tracks.len();
    let mut events: Vec<AuEvent> = Vec::new();
    if n == 0 || config.cues.is_empty() || frame_interval_s.is_nan() || frame_interval_s <= 0.0 {
        return events;
    }
    let dt = frame_interval_s;
    let run_end_at = same_face_run_lengths(tracks);
    let whole_frames = |ms: f64| ((ms / 1000.0 / dt).round() as usize).max(1);
    let min_frames = ((config.min_duration_ms / 1000.0 / dt) - 1e-9)
        .ceil()
        .max(1.0) as usize;
    let max_frames = ((config.max_duration_ms / 1000.0 / dt) + 1e-9)
        .floor()
        .max(min_frames as f64) as usize;
    let margin = (config.margin_s / dt).ceil() as usize;
    let gap_frames = (config.min_gap_s / dt).ceil() as usize;
    let first_allowed = ((config.warmup_s / dt) + 0.5).ceil() as usize;
    let targets = [Context::MouthMoving, Context::HeadMoving, Context::Quiet];
    let mut target_index = rng.random_range(0..targets.len());
    let mut deck: Vec<CueId> = Vec::new();
    let mut draw_cue = |rng: &mut ChaCha8Rng| {
        if deck.is_empty() {
            deck = config.cues.clone();
            deck.shuffle(rng);
        }
        let cue = deck.pop().unwrap_or(CueId::EyebrowFlash);
        let side = if cue == CueId::UnilateralLipCorner {
            if rng.random_bool(0.5) {
                Side::Left
            } else {
                Side::Right
            }
        } else {
            Side::Both
        };
        (cue, side)
    };
    // Busy frames: [first moved frame - gap, last moved frame + gap] of every placed group.
    let mut busy: Vec<(usize, usize)> = Vec::new();
    let mut planned = 0usize;
    // A group that finds no room (a partial return's tail on a short clip) is drawn again.
    let mut draws = 0usize;
    while planned < config.count && draws < GROUP_DRAWS_PER_EVENT * config.count {
        draws += 1;
        let pair = config.count - planned >= 2 && rng.random_bool(PAIR_SHARE);
        let mut drafts: Vec<Draft> = Vec::new();
        if pair {
            // Two short movements, 100-300 ms apart.
            let pair_max_ms = config
                .max_duration_ms
                .min(250.0)
                .max(config.min_duration_ms);
            let mut start = 0;
            for _ in 0..2 {
                let (cue, side) = draw_cue(&mut rng);
                let ms = rng
                    .random_range(config.min_duration_ms.ln()..=pair_max_ms.ln())
                    .exp();
                let frames = whole_frames(ms).clamp(min_frames, max_frames);
                drafts.push(Draft {
                    start,
                    frames,
                    cue,
                    side,
                    amplitude_iod: rng
                        .random_range(config.min_amplitude_iod..=config.max_amplitude_iod),
                    profile: draw_profile(&mut rng, false),
                });
                start += frames + whole_frames(rng.random_range(100.0..=300.0));
            }
        } else {
            let (cue, side) = draw_cue(&mut rng);
            let ms = rng
                .random_range(config.min_duration_ms.ln()..=config.max_duration_ms.ln())
                .exp();
            drafts.push(Draft {
                start: 0,
                frames: whole_frames(ms).clamp(min_frames, max_frames),
                cue,
                side,
                amplitude_iod: rng
                    .random_range(config.min_amplitude_iod..=config.max_amplitude_iod),
                profile: draw_profile(&mut rng, true),
            });
        }
        let tail = |d: &Draft| (d.profile.tail_s() / dt).ceil() as usize;
        let span = drafts
            .iter()
            .map(|d| d.start + d.frames + tail(d))
            .max()
            .unwrap_or(1);
        let lowest = first_allowed.max(margin);
        let Some(highest) = n.checked_sub(span + margin + 1) else {
            continue;
        };
        if highest < lowest {
            continue;
        }
        let target = targets[target_index % targets.len()];
        let mut placed = None;
        for attempt in 0..PLACEMENT_ATTEMPTS {
            let first = rng.random_range(lowest..=highest);
            let last = first + span - 1;
            if run_end_at[last + margin] < span + 2 * margin {
                continue;
            }
            if busy.iter().any(|&(a, b)| first <= b && a <= last) {
                continue;
            }
            let context = majority(&contexts[first..=last]);
            if attempt < CONTEXT_ATTEMPTS && context != target {
                continue;
            }
            placed = Some(first);
            break;
        }
        let Some(first) = placed else {
            continue;
        };
        planned += drafts.len();
        target_index += 1;
        busy.push((
            first.saturating_sub(gap_frames),
            first + span - 1 + gap_frames,
        ));
        for draft in &drafts {
            let a = first + draft.start;
            let b = a + draft.frames - 1;
            let onset_s = (a as f64 - 0.5) * dt;
            let offset_s = (b as f64 + 0.5) * dt;
            let apex = (a..=b)
                .max_by(|x, y| {
                    let w = |i: usize| draft.profile.weight(onset_s, offset_s, i as f64 * dt);
                    // First frame of the largest weight: compare reversed on ties.
                    w(*x).total_cmp(&w(*y)).then(y.cmp(x))
                })
                .unwrap_or(a);
            events.push(AuEvent {
                event: InjectedEvent {
                    cue: draft.cue,
                    side: draft.side,
                    onset_s,
                    apex_s: apex as f64 * dt,
                    offset_s,
                    duration_ms: draft.frames as f64 * dt * 1000.0,
                    amplitude_iod: draft.amplitude_iod,
                    first_frame: a as u64,
                    last_frame: b as u64,
                },
                profile: draft.profile,
                context: majority(&contexts[a..=b]),
                paired: pair,
                last_moved_frame: (b + tail(draft)) as u64,
            });
        }
    }
    events.sort_by(|a, b| a.event.onset_s.total_cmp(&b.event.onset_s));
    events
}
