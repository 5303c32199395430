//! The AU style measured in pixels: each cue moves the right landmarks, in the right
//! direction, by the size and at the time the truth says, and nothing else.

use microcue_core::{CueId, LANDMARK_COUNT, Side, TrackId};

use super::*;
use crate::inject::{InjectConfig, InjectedEvent};
use crate::warp::{FaceAxes, INJECTABLE_CUES};

const SIZE: u32 = 400;
/// Wavelength of the phase-coded test pattern, pixels.
const WAVELENGTH: f32 = 48.0;

/// A real face's landmarks (MediaPipe on a public-domain photo), scaled 2.5x into the middle
/// of a 400x400 image: about 104 px between the eyes.
fn face() -> Vec<[f32; 3]> {
    let points: Vec<[f32; 3]> = include_str!("test_face.csv")
        .lines()
        .map(|line| {
            let mut xy = line.split(',').map(|v| v.parse::<f32>().expect("number"));
            let (x, y) = (xy.next().expect("x"), xy.next().expect("y"));
            [(x - 224.0) * 2.5 + 200.0, (y - 125.0) * 2.5 + 200.0, 0.0]
        })
        .collect();
    assert_eq!(points.len(), LANDMARK_COUNT);
    points
}

/// An image whose red and green channels code the phase of x (`along_x`) or y: every output
/// pixel then tells which source point it was fetched from.
fn phase_image(along_x: bool) -> Frame {
    let mut frame = Frame::default();
    frame.resize(SIZE, SIZE);
    for y in 0..SIZE {
        for x in 0..SIZE {
            let coordinate = if along_x { x } else { y } as f32 + 0.5;
            let phase = std::f32::consts::TAU * coordinate / WAVELENGTH;
            let i = ((y * SIZE + x) * 3) as usize;
            frame.rgb[i] = (128.0 + 100.0 * phase.sin()).round() as u8;
            frame.rgb[i + 1] = (128.0 + 100.0 * phase.cos()).round() as u8;
            frame.rgb[i + 2] = 128;
        }
    }
    frame
}

/// Backward displacement (output pixel minus the source point it shows) at every pixel,
/// decoded from the two rendered phase images.
struct Measured {
    backward: Vec<[f32; 2]>,
}

impl Measured {
    fn decode(moved_x: &Frame, moved_y: &Frame) -> Measured {
        let coordinate = |frame: &Frame, i: usize, pixel: f32| {
            let (s, c) = (
                f32::from(frame.rgb[i]) - 128.0,
                f32::from(frame.rgb[i + 1]) - 128.0,
            );
            let from =
                s.atan2(c).rem_euclid(std::f32::consts::TAU) * WAVELENGTH / std::f32::consts::TAU;
            // The source coordinate closest to this pixel with that phase.
            let delta = (pixel - from).rem_euclid(WAVELENGTH);
            if delta > 0.5 * WAVELENGTH {
                delta - WAVELENGTH
            } else {
                delta
            }
        };
        let mut backward = Vec::with_capacity((SIZE * SIZE) as usize);
        for y in 0..SIZE {
            for x in 0..SIZE {
                let i = ((y * SIZE + x) * 3) as usize;
                backward.push([
                    coordinate(moved_x, i, x as f32 + 0.5),
                    coordinate(moved_y, i, y as f32 + 0.5),
                ]);
            }
        }
        Measured { backward }
    }

    fn at_pixel(&self, x: usize, y: usize) -> [f32; 2] {
        self.backward[y.min(SIZE as usize - 1) * SIZE as usize + x.min(SIZE as usize - 1)]
    }

    /// Bilinear backward displacement at a point (image pixels).
    fn at(&self, p: [f32; 2]) -> [f32; 2] {
        let (x, y) = ((p[0] - 0.5).max(0.0), (p[1] - 0.5).max(0.0));
        let (x0, y0) = (x.floor() as usize, y.floor() as usize);
        let (fx, fy) = (x - x0 as f32, y - y0 as f32);
        let mut out = [0.0; 2];
        for (dy, wy) in [(0, 1.0 - fy), (1, fy)] {
            for (dx, wx) in [(0, 1.0 - fx), (1, fx)] {
                let b = self.at_pixel(x0 + dx, y0 + dy);
                out[0] += wx * wy * b[0];
                out[1] += wx * wy * b[1];
            }
        }
        out
    }

    /// How far the content at landmark `p` moved: the output point `p + d` shows the source
    /// point `p`, so `d` is the backward displacement there (found by fixed-point iteration).
    fn forward_at(&self, p: [f32; 2]) -> [f32; 2] {
        let mut d = [0.0f32; 2];
        for _ in 0..6 {
            d = self.at([p[0] + d[0], p[1] + d[1]]);
        }
        d
    }
}

fn norm(v: [f32; 2]) -> f32 {
    (v[0] * v[0] + v[1] * v[1]).sqrt()
}

fn dot(a: [f32; 2], b: [f32; 2]) -> f32 {
    a[0] * b[0] + a[1] * b[1]
}

struct Rendered {
    warp: AuWarp,
    measured: Measured,
    source: Frame,
    moved: Frame,
    axes: FaceAxes,
    landmarks: Vec<[f32; 3]>,
}

fn render_cue(cue: CueId, side: Side, amplitude_iod: f32, weight: f32) -> Rendered {
    let landmarks = face();
    let axes = FaceAxes::from_landmarks(&landmarks).expect("a face");
    let warp = AuWarp::new(cue, side, &landmarks).expect("the AU style plants every cue");
    let (source_x, source_y) = (phase_image(true), phase_image(false));
    let (mut moved_x, mut moved_y) = (Frame::default(), Frame::default());
    let mut scratch = Vec::new();
    let flipped_x = warp.render(
        &source_x,
        &landmarks,
        amplitude_iod,
        weight,
        &mut moved_x,
        &mut scratch,
    );
    let flipped_y = warp.render(
        &source_y,
        &landmarks,
        amplitude_iod,
        weight,
        &mut moved_y,
        &mut scratch,
    );
    assert_eq!((flipped_x, flipped_y), (0, 0), "{cue} folds the image");
    Rendered {
        measured: Measured::decode(&moved_x, &moved_y),
        warp,
        source: source_x,
        moved: moved_x,
        axes,
        landmarks,
    }
}

impl Rendered {
    fn moved_at(&self, landmark: usize) -> [f32; 2] {
        let p = self.landmarks[landmark];
        self.measured.forward_at([p[0], p[1]])
    }

    /// Component towards the subject's left, up the face, in inter-ocular distances.
    fn in_face_axes(&self, landmark: usize) -> (f32, f32) {
        let d = self.moved_at(landmark);
        (
            dot(d, self.axes.toward_left) / self.axes.iod_px,
            dot(d, self.axes.up) / self.axes.iod_px,
        )
    }

    /// Signed distance of a pixel from the midline towards the subject's left, IOD.
    fn across(&self, x: usize, y: usize) -> f32 {
        let p = [
            x as f32 + 0.5 - self.axes.eye_mid[0],
            y as f32 + 0.5 - self.axes.eye_mid[1],
        ];
        dot(p, self.axes.toward_left) / self.axes.iod_px
    }

    /// Up the face from the eyes' midpoint, IOD.
    fn height(&self, x: usize, y: usize) -> f32 {
        let p = [
            x as f32 + 0.5 - self.axes.eye_mid[0],
            y as f32 + 0.5 - self.axes.eye_mid[1],
        ];
        dot(p, self.axes.up) / self.axes.iod_px
    }

    /// Pixels whose colour changed.
    fn changed_pixels(&self) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for y in 0..SIZE as usize {
            for x in 0..SIZE as usize {
                let i = (y * SIZE as usize + x) * 3;
                if self.source.rgb[i..i + 3] != self.moved.rgb[i..i + 3] {
                    out.push((x, y));
                }
            }
        }
        out
    }

    /// Largest displacement of a driver, IOD.
    fn peak_iod(&self) -> f32 {
        self.warp
            .drivers()
            .iter()
            .map(|&v| norm(self.moved_at(v as usize)) / self.axes.iod_px)
            .fold(0.0, f32::max)
    }
}

const AMPLITUDE: f32 = 0.04;

/// The planted size is the largest driver displacement: measured within 8 %.
fn assert_size(rendered: &Rendered, cue: CueId) {
    let peak = rendered.peak_iod();
    assert!(
        (peak - AMPLITUDE).abs() < 0.08 * AMPLITUDE,
        "{cue}: peak displacement {peak:.4} IOD, planted {AMPLITUDE}"
    );
}

#[test]
fn brows_move_up_for_a_flash_and_with_the_upper_lids_for_a_surprise() {
    for cue in [CueId::EyebrowFlash, CueId::MicroSurprise] {
        let r = render_cue(cue, Side::Both, AMPLITUDE, 1.0);
        assert_size(&r, cue);
        for brow in [105, 334, 107, 336] {
            let (side, up) = r.in_face_axes(brow);
            assert!(
                up > 0.9 * AMPLITUDE && side.abs() < 0.1 * AMPLITUDE,
                "{cue}: brow {brow} moved ({side:.4}, {up:.4}) IOD"
            );
        }
        let lid_up = |landmark| r.in_face_axes(landmark).1;
        for lid in [159, 386] {
            match cue {
                CueId::MicroSurprise => assert!(
                    (0.35 * AMPLITUDE..0.65 * AMPLITUDE).contains(&lid_up(lid)),
                    "{cue}: upper lid {lid} up {:.4}",
                    lid_up(lid)
                ),
                _ => assert!(
                    lid_up(lid).abs() < 0.03 * AMPLITUDE,
                    "{cue}: lid {lid} pinned"
                ),
            }
        }
        for lower in [145, 374] {
            assert!(
                lid_up(lower).abs() < 0.03 * AMPLITUDE,
                "{cue}: lower lid {lower}"
            );
        }
        // Nothing below the nose changes.
        for (x, y) in r.changed_pixels() {
            assert!(r.height(x, y) > -0.6, "{cue}: pixel ({x}, {y}) changed");
        }
    }
}

#[test]
fn a_frown_pulls_the_brows_heads_down_and_together() {
    let cue = CueId::MicroFrown;
    let r = render_cue(cue, Side::Both, AMPLITUDE, 1.0);
    assert_size(&r, cue);
    for (landmark, towards_midline) in [(107, 1.0), (336, -1.0), (55, 1.0), (285, -1.0)] {
        let (left, up) = r.in_face_axes(landmark);
        assert!(
            up < -0.6 * AMPLITUDE && towards_midline * left > 0.4 * AMPLITUDE,
            "{cue}: {landmark} moved ({left:.4}, {up:.4})"
        );
    }
    // The brows' tails hardly move; below the eyes nothing does.
    for tail in [70, 300] {
        assert!(norm(r.moved_at(tail)) / r.axes.iod_px < 0.45 * AMPLITUDE);
    }
    for (x, y) in r.changed_pixels() {
        assert!(r.height(x, y) > -0.3, "{cue}: pixel ({x}, {y}) changed");
    }
}

#[test]
fn a_lip_press_thins_both_lips_towards_the_seam_which_stays() {
    let cue = CueId::LipCompression;
    let r = render_cue(cue, Side::Both, AMPLITUDE, 1.0);
    assert_size(&r, cue);
    assert!(r.in_face_axes(0).1 < -0.5 * AMPLITUDE, "upper lip down");
    assert!(r.in_face_axes(17).1 > 0.9 * AMPLITUDE, "lower lip up");
    // The seam is pinned; measured next to a lip edge that moves, it reads within 10 %.
    for seam in [13, 14] {
        let moved = norm(r.moved_at(seam)) / r.axes.iod_px;
        assert!(moved < 0.1 * AMPLITUDE, "{seam} pinned: {moved:.4}");
    }
    for corner in [61, 291] {
        assert!(
            norm(r.moved_at(corner)) / r.axes.iod_px < 0.03 * AMPLITUDE,
            "{corner} pinned"
        );
    }
    for (x, y) in r.changed_pixels() {
        assert!(
            r.height(x, y) < -0.5,
            "{cue}: pixel ({x}, {y}) above the mouth changed"
        );
    }
}

#[test]
fn smiles_pull_the_corners_up_and_out_and_only_the_genuine_one_lifts_the_cheeks() {
    for cue in [CueId::PoliteSmile, CueId::GenuineSmile] {
        let r = render_cue(cue, Side::Both, AMPLITUDE, 1.0);
        assert_size(&r, cue);
        for (corner, outward) in [(61, -1.0), (291, 1.0)] {
            let (left, up) = r.in_face_axes(corner);
            assert!(
                up > 0.5 * AMPLITUDE && outward * left > 0.6 * AMPLITUDE,
                "{cue}: corner {corner} moved ({left:.4}, {up:.4})"
            );
        }
        for cheek in [119, 348, 145, 374] {
            let up = r.in_face_axes(cheek).1;
            if cue == CueId::GenuineSmile {
                assert!(up > 0.25 * AMPLITUDE, "{cue}: {cheek} up {up:.4}");
            } else {
                assert!(up < 0.1 * AMPLITUDE, "{cue}: {cheek} up {up:.4}");
            }
        }
    }
}

#[test]
fn a_one_sided_corner_moves_only_the_side_the_truth_names() {
    for side in [Side::Left, Side::Right] {
        let cue = CueId::UnilateralLipCorner;
        let r = render_cue(cue, side, AMPLITUDE, 1.0);
        assert_size(&r, cue);
        // Subject's left is landmark 291, on the side towards `toward_left`.
        let (moving, still, sign) = match side {
            Side::Left => (291, 61, 1.0),
            _ => (61, 291, -1.0),
        };
        let (left, up) = r.in_face_axes(moving);
        assert!(
            up > 0.5 * AMPLITUDE && sign * left > 0.6 * AMPLITUDE,
            "{side:?}"
        );
        assert!(
            norm(r.moved_at(still)) / r.axes.iod_px < 0.03 * AMPLITUDE,
            "{side:?}"
        );
        let changed = r.changed_pixels();
        assert!(!changed.is_empty());
        for (x, y) in changed {
            assert!(
                sign * r.across(x, y) > 0.0,
                "{side:?}: pixel ({x}, {y}) on the other side changed"
            );
        }
    }
}

#[test]
fn a_nose_wrinkle_lifts_the_wings_and_the_upper_lip() {
    let cue = CueId::NoseWrinkle;
    let r = render_cue(cue, Side::Both, AMPLITUDE, 1.0);
    assert_size(&r, cue);
    for (wing, outward) in [(48, -1.0), (278, 1.0)] {
        let (left, up) = r.in_face_axes(wing);
        assert!(
            up > 0.8 * AMPLITUDE && outward * left < 0.0,
            "{wing} moved ({left:.4}, {up:.4})"
        );
    }
    let lip = r.in_face_axes(0).1;
    assert!(
        (0.35 * AMPLITUDE..0.65 * AMPLITUDE).contains(&lip),
        "upper lip {lip:.4}"
    );
    for (x, y) in r.changed_pixels() {
        assert!(
            r.height(x, y) < 0.15,
            "{cue}: pixel ({x}, {y}) above the eyes changed"
        );
    }
}

#[test]
fn every_cue_scales_with_the_weight_and_none_folds_at_the_benchmarks_largest_amplitude() {
    for cue in INJECTABLE_CUES {
        let side = if cue == CueId::UnilateralLipCorner {
            Side::Left
        } else {
            Side::Both
        };
        let half = render_cue(cue, side, AMPLITUDE, 0.5);
        let peak = half.peak_iod();
        assert!(
            (peak - 0.5 * AMPLITUDE).abs() < 0.1 * AMPLITUDE,
            "{cue}: half strength moved {peak:.4}"
        );
        // `render_cue` asserts that no triangle turns over (5 % IOD: the default largest size).
        render_cue(cue, side, InjectConfig::default().max_amplitude_iod, 1.0);
        let still = render_cue(cue, side, AMPLITUDE, 0.0);
        assert!(
            still.changed_pixels().is_empty(),
            "{cue}: weight 0 changed pixels"
        );
    }
}

/// Tracks of a face seen throughout, and per-frame contexts that take turns every 3 s.
fn synthetic_clip(frames: usize, dt: f64) -> (Vec<Option<TrackId>>, Vec<Context>) {
    let tracks = vec![Some(TrackId(0)); frames];
    let contexts = (0..frames)
        .map(|i| match ((i as f64 * dt) / 3.0) as usize % 4 {
            0 => Context::Quiet,
            1 => Context::MouthMoving,
            2 => Context::HeadMoving,
            _ => Context::Mixed,
        })
        .collect();
    (tracks, contexts)
}

#[test]
fn plans_are_reproducible_and_vary_shape_pairing_and_context() {
    let dt = 1.0 / 30.0;
    let (tracks, contexts) = synthetic_clip(30 * 120, dt);
    let config = InjectConfig {
        seed: 11,
        count: 40,
        ..InjectConfig::default()
    };
    let events = plan_au_events(&tracks, &contexts, dt, &config);
    assert_eq!(events, plan_au_events(&tracks, &contexts, dt, &config));
    assert_eq!(events.len(), 40);
    let names = |f: &dyn Fn(&AuEvent) -> &'static str| {
        let mut names: Vec<&str> = events.iter().map(f).collect();
        names.sort_unstable();
        names.dedup();
        names
    };
    assert_eq!(
        names(&|e| e.profile.name()),
        ["fast_rise", "hold", "partial_return", "slow_rise"]
    );
    assert_eq!(
        names(&|e| e.context.name()),
        ["head_moving", "mouth_moving", "quiet"]
    );
    assert!(events.iter().filter(|e| e.paired).count() >= 4);
    for (i, au) in events.iter().enumerate() {
        let event = &au.event;
        assert!(event.onset_s >= config.warmup_s);
        assert!(event.onset_s < event.apex_s && event.apex_s < event.offset_s);
        assert!(event.duration_ms >= 40.0 && event.duration_ms <= 500.0 + 1e-6);
        assert!(
            (config.min_amplitude_iod..=config.max_amplitude_iod).contains(&event.amplitude_iod)
        );
        let weight = |t| au.profile.weight(event.onset_s, event.offset_s, t);
        assert!(
            (weight(event.apex_s) - 1.0).abs() < 1e-9 || {
                // The apex is the frame of largest weight; with few frames it may be under 1.
                (event.first_frame..=event.last_frame)
                    .all(|f| weight(f as f64 * dt) <= weight(event.apex_s))
            }
        );
        if let Some(next) = events.get(i + 1) {
            let gap_s = next.event.onset_s - (au.last_moved_frame as f64 + 0.5) * dt;
            if au.paired && next.paired && gap_s < 0.5 {
                assert!((0.08..=0.32).contains(&gap_s), "pair gap {gap_s}");
            } else {
                assert!(
                    gap_s >= config.min_gap_s - 1e-9,
                    "gap {gap_s} before {next:?}"
                );
            }
        }
    }
}

#[test]
fn a_clip_with_room_for_one_short_movement_still_gets_it() {
    // A GRID-like clip: 3 s at 25 fps, room after the 2 s warm-up for one movement without
    // a partial return's tail.
    let dt = 0.04;
    let (tracks, contexts) = synthetic_clip(75, dt);
    for seed in 0..20 {
        let config = InjectConfig {
            seed,
            count: 1,
            max_duration_ms: 200.0,
            ..InjectConfig::default()
        };
        let events = plan_au_events(&tracks, &contexts, dt, &config);
        assert_eq!(events.len(), 1, "seed {seed}");
        assert!(events[0].last_moved_frame < 75 - 7, "{events:?}");
    }
}

#[test]
fn the_injector_moves_exactly_the_planned_frames_by_the_planned_size() {
    let dt = 0.04;
    let landmarks = face();
    let axes = FaceAxes::from_landmarks(&landmarks).expect("face");
    let event = AuEvent {
        event: InjectedEvent {
            cue: CueId::EyebrowFlash,
            side: Side::Both,
            onset_s: 9.5 * dt,
            apex_s: 11.0 * dt,
            offset_s: 14.5 * dt,
            duration_ms: 200.0,
            amplitude_iod: 0.03,
            first_frame: 10,
            last_frame: 14,
        },
        profile: Profile::PartialReturn {
            rise: 0.3,
            residual: 0.4,
            tail_s: 0.2,
        },
        context: Context::Quiet,
        paired: false,
        last_moved_frame: 19,
    };
    let mut injector = AuInjector::new(vec![event]);
    let source = phase_image(false);
    let mut out = Frame::default();
    let mut moved_frames = Vec::new();
    let mut brow_up_px = Vec::new();
    for index in 0..25u64 {
        if !injector.active(index) {
            continue;
        }
        moved_frames.push(index);
        injector.render(index, index as f64 * dt, &source, &landmarks, &mut out);
        // The y-phase image alone tells the vertical part of the movement.
        let brow = landmarks[105];
        let (x, y) = (brow[0] as usize, (brow[1] - 4.0) as usize);
        let i = (y * SIZE as usize + x) * 3;
        let phase = (f32::from(out.rgb[i]) - 128.0).atan2(f32::from(out.rgb[i + 1]) - 128.0);
        let from = phase.rem_euclid(std::f32::consts::TAU) * WAVELENGTH / std::f32::consts::TAU;
        let shift = (y as f32 + 0.5 - from).rem_euclid(WAVELENGTH);
        let shift = if shift > 0.5 * WAVELENGTH {
            shift - WAVELENGTH
        } else {
            shift
        };
        brow_up_px.push(-shift);
    }
    assert_eq!(moved_frames, (10..=19).collect::<Vec<_>>());
    let peak = brow_up_px.iter().copied().fold(0.0, f32::max);
    let planted = 0.03 * axes.iod_px;
    assert!(
        (peak - planted).abs() < 0.1 * planted,
        "{peak} px against {planted}"
    );
    // At the apex (frame 11) full size; by the offset the residual 40 %; then back to rest.
    assert!((brow_up_px[1] - peak).abs() < 0.05 * planted);
    assert!(
        (brow_up_px[4] / planted - 0.4).abs() < 0.15,
        "{brow_up_px:?}"
    );
    assert!(brow_up_px[9] < brow_up_px[5], "{brow_up_px:?}");
}

#[test]
fn truth_csv_adds_profile_context_and_pairing() {
    let event = AuEvent {
        event: InjectedEvent {
            cue: CueId::MicroFrown,
            side: Side::Both,
            onset_s: 2.02,
            apex_s: 2.06,
            offset_s: 2.18,
            duration_ms: 160.0,
            amplitude_iod: 0.031,
            first_frame: 51,
            last_frame: 54,
        },
        profile: Profile::Hold {
            rise: 0.2,
            hold: 0.4,
        },
        context: Context::MouthMoving,
        paired: true,
        last_moved_frame: 54,
    };
    let mut out = Vec::new();
    write_au_truth_csv(&mut out, &[event]).expect("write");
    let text = String::from_utf8(out).expect("utf-8");
    assert_eq!(
        text,
        "cue,side,onset_s,apex_s,offset_s,duration_ms,amplitude_iod,profile,context,paired\n\
         micro_frown,both,2.020000,2.060000,2.180000,160.000,0.03100,hold,mouth_moving,true\n"
    );
}
