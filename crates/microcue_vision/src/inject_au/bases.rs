//! Per-action-unit displacement bases on the 478-point mesh.
//!
//! Each cue is a sum of action units, each a set of **driver** landmark groups (MediaPipe's
//! contours of the brows, lids, lips, nose wings and cheeks) with a displacement in face axes,
//! and a set of **pinned** landmarks that must not move (the lip seam during a press, the lid
//! margins during a brow raise). The displacement spreads from the drivers over the mesh by
//! edge hops: a vertex `h` hops away takes the mean of its neighbours one hop closer, times
//! the falloff ratio of that hop. The spread follows the mesh, so it is tight where the mesh
//! is dense (lips, lids) and wide on the cheeks and forehead.

use microcue_core::{CueId, LANDMARK_COUNT, Side};

use super::mesh::FaceMesh;
use crate::warp::FaceAxes;

/// One group of landmarks moved together: displacement away from the midline (negative =
/// towards it) and up the face, in units of the movement's amplitude.
#[derive(Debug, Clone, Copy)]
struct Driver {
    landmarks: &'static [usize],
    outward: f32,
    up: f32,
}

const fn drive(landmarks: &'static [usize], outward: f32, up: f32) -> Driver {
    Driver {
        landmarks,
        outward,
        up,
    }
}

/// How one cue moves the mesh.
#[derive(Debug, Clone, Copy)]
struct CueBasis {
    drivers: &'static [Driver],
    pinned: &'static [&'static [usize]],
    /// Weight at 0, 1, 2, ... hops from the nearest driver (first entry 1).
    falloff: &'static [f32],
}

// MediaPipe face-mesh contours; subject's right first (image left in an unmirrored video).
const BROW_INNER: &[usize] = &[107, 66, 55, 65, 336, 296, 285, 295];
const BROW_MIDDLE: &[usize] = &[105, 52, 334, 282];
const BROW_OUTER: &[usize] = &[70, 63, 46, 53, 300, 293, 276, 283];
const UPPER_LID: &[usize] = &[
    246, 161, 160, 159, 158, 157, 173, 466, 388, 387, 386, 385, 384, 398,
];
const LOWER_LID: &[usize] = &[
    33, 7, 163, 144, 145, 153, 154, 155, 133, 263, 249, 390, 373, 374, 380, 381, 382, 362,
];
const IRIS: &[usize] = &[468, 469, 470, 471, 472, 473, 474, 475, 476, 477];
const LIP_SEAM_AND_CORNERS: &[usize] = &[
    61, 291, 78, 308, 191, 80, 81, 82, 13, 312, 311, 310, 415, 95, 88, 178, 87, 14, 317, 402, 318,
    324,
];
const EYE_CORNERS: &[usize] = &[33, 133, 263, 362];

/// AU1 + AU2: the whole brow up, its tail a little less; the forehead follows over 3 hops.
const BROWS_UP: [Driver; 3] = [
    drive(BROW_INNER, 0.0, 1.0),
    drive(BROW_MIDDLE, 0.0, 1.0),
    drive(BROW_OUTER, 0.0, 0.8),
];
/// AU12: the corner obliquely up and out towards the cheekbone, the lip next to it less.
const RIGHT_CORNER: [Driver; 3] = [
    drive(&[61], 0.75, 0.65),
    drive(&[76, 78], 0.65, 0.55),
    drive(&[185, 146], 0.45, 0.4),
];
const LEFT_CORNER: [Driver; 3] = [
    drive(&[291], 0.75, 0.65),
    drive(&[306, 308], 0.65, 0.55),
    drive(&[409, 375], 0.45, 0.4),
];
/// AU6: lower lids, the skin under the eyes and the cheeks lifted.
const CHEEKS_UP: [Driver; 3] = [
    drive(
        &[
            7, 163, 144, 145, 153, 154, 155, 249, 390, 373, 374, 380, 381, 382,
        ],
        0.0,
        0.35,
    ),
    drive(
        &[117, 118, 119, 120, 121, 346, 347, 348, 349, 350],
        0.0,
        0.55,
    ),
    drive(&[50, 101, 36, 280, 330, 266], 0.1, 0.5),
];

const FLASH: CueBasis = CueBasis {
    drivers: &BROWS_UP,
    pinned: &[UPPER_LID, LOWER_LID, IRIS],
    falloff: &[1.0, 0.7, 0.4, 0.15],
};
const SURPRISE: CueBasis = CueBasis {
    drivers: &[
        BROWS_UP[0],
        BROWS_UP[1],
        BROWS_UP[2],
        // AU5: the upper lid margins up, by about half the brows' lift.
        drive(UPPER_LID, 0.0, 0.5),
    ],
    pinned: &[LOWER_LID, IRIS],
    falloff: &[1.0, 0.7, 0.4, 0.15],
};
/// AU4: the brows' heads down and together, the middle of the brow less.
const FROWN: CueBasis = CueBasis {
    drivers: &[
        drive(BROW_INNER, -0.6, -0.8),
        drive(BROW_MIDDLE, -0.2, -0.4),
        drive(&[9], 0.0, -0.3),
    ],
    pinned: &[UPPER_LID, LOWER_LID, IRIS],
    falloff: &[1.0, 0.6, 0.25],
};
/// AU24: the outer edges of both lips towards the seam, which stays (the red of the lips
/// thins), tapering towards the corners; the lower lip pushes up more than the upper one comes
/// down (the upper lip is often too thin to move by the whole size without folding).
const PRESS: CueBasis = CueBasis {
    drivers: &[
        drive(&[0, 37, 267], 0.0, -0.6),
        drive(&[39, 269], 0.0, -0.5),
        drive(&[40, 270], 0.0, -0.35),
        drive(&[185, 409], 0.0, -0.2),
        drive(&[17, 84, 314], 0.0, 1.0),
        drive(&[181, 405], 0.0, 0.8),
        drive(&[91, 321], 0.0, 0.55),
        drive(&[146, 375], 0.0, 0.3),
    ],
    pinned: &[LIP_SEAM_AND_CORNERS, IRIS],
    falloff: &[1.0, 0.35],
};
const SMILE: CueBasis = CueBasis {
    drivers: &[
        RIGHT_CORNER[0],
        RIGHT_CORNER[1],
        RIGHT_CORNER[2],
        LEFT_CORNER[0],
        LEFT_CORNER[1],
        LEFT_CORNER[2],
    ],
    pinned: &[IRIS],
    falloff: &[1.0, 0.6, 0.3, 0.1],
};
const GENUINE: CueBasis = CueBasis {
    drivers: &[
        RIGHT_CORNER[0],
        RIGHT_CORNER[1],
        RIGHT_CORNER[2],
        LEFT_CORNER[0],
        LEFT_CORNER[1],
        LEFT_CORNER[2],
        CHEEKS_UP[0],
        CHEEKS_UP[1],
        CHEEKS_UP[2],
    ],
    pinned: &[UPPER_LID, EYE_CORNERS, IRIS],
    falloff: &[1.0, 0.6, 0.3, 0.1],
};
/// AU9 + AU10: the nose wings up and slightly in, the upper lip up.
const NOSE: CueBasis = CueBasis {
    drivers: &[
        drive(
            &[48, 64, 98, 102, 129, 240, 278, 294, 327, 331, 358, 460],
            -0.3,
            0.95,
        ),
        drive(&[0, 37, 267], 0.0, 0.5),
        drive(&[39, 269], 0.0, 0.4),
    ],
    pinned: &[UPPER_LID, LOWER_LID, IRIS],
    falloff: &[1.0, 0.6, 0.25],
};

fn basis_of(cue: CueId) -> Option<&'static CueBasis> {
    match cue {
        CueId::EyebrowFlash => Some(&FLASH),
        CueId::MicroSurprise => Some(&SURPRISE),
        CueId::MicroFrown => Some(&FROWN),
        CueId::LipCompression => Some(&PRESS),
        CueId::PoliteSmile | CueId::UnilateralLipCorner => Some(&SMILE),
        CueId::GenuineSmile => Some(&GENUINE),
        CueId::NoseWrinkle => Some(&NOSE),
        CueId::BlinkCluster | CueId::GazeAversion | CueId::PupilDilation | CueId::MicroAnger => {
            None
        }
    }
}

/// Landmarks `cue` drives, in table order (empty without a basis).
pub fn driver_landmarks(cue: CueId) -> Vec<usize> {
    basis_of(cue)
        .map(|basis| {
            basis
                .drivers
                .iter()
                .flat_map(|driver| driver.landmarks.iter().copied())
                .collect()
        })
        .unwrap_or_default()
}

/// Landmarks `cue` pins (empty without a basis).
pub fn pinned_landmarks(cue: CueId) -> Vec<usize> {
    basis_of(cue)
        .map(|basis| {
            basis
                .pinned
                .iter()
                .flat_map(|group| group.iter().copied())
                .collect()
        })
        .unwrap_or_default()
}

/// Whether the AU style can plant `cue`.
pub fn has_basis(cue: CueId) -> bool {
    basis_of(cue).is_some()
}

/// Landmarks within this fraction of the inter-ocular distance of the midline count as on it.
const MIDLINE_IOD: f32 = 0.04;

/// The unit displacement of every mesh vertex for one movement, in face axes: towards the
/// subject's left and up the face, in units of the amplitude.
#[derive(Debug, Clone, Default)]
pub struct VertexBasis {
    /// `[toward_left, up]` per landmark.
    pub unit: Vec<[f32; 2]>,
    /// Landmarks the cue drives directly (their displacement is the movement's size).
    pub drivers: Vec<u32>,
}

impl VertexBasis {
    /// The basis of `cue` on `side` over `mesh` (built on `landmarks`, image pixels);
    /// `None` for a cue without a basis or a degenerate face.
    pub fn new(
        cue: CueId,
        side: Side,
        landmarks: &[[f32; 2]],
        mesh: &FaceMesh,
    ) -> Option<VertexBasis> {
        let basis = basis_of(cue)?;
        if landmarks.len() < LANDMARK_COUNT {
            return None;
        }
        let as_3d: Vec<[f32; 3]> = landmarks.iter().map(|p| [p[0], p[1], 0.0]).collect();
        let axes = FaceAxes::from_landmarks(&as_3d)?;
        let side_of = |landmark: usize| {
            let p = landmarks[landmark];
            let across = (p[0] - axes.eye_mid[0]) * axes.toward_left[0]
                + (p[1] - axes.eye_mid[1]) * axes.toward_left[1];
            if across > MIDLINE_IOD * axes.iod_px {
                Side::Left
            } else if across < -MIDLINE_IOD * axes.iod_px {
                Side::Right
            } else {
                Side::Both
            }
        };
        let n = landmarks.len();
        let mut pinned = vec![false; n];
        for group in basis.pinned {
            for &landmark in *group {
                pinned[landmark] = true;
            }
        }
        for (vertex, hull) in mesh.on_hull.iter().enumerate() {
            pinned[vertex] |= *hull;
        }
        let mut unit = vec![[0.0f32; 2]; n];
        let mut assigned = vec![false; n];
        let mut drivers = Vec::new();
        for driver in basis.drivers {
            for &landmark in driver.landmarks {
                let landmark_side = side_of(landmark);
                if side != Side::Both && landmark_side != side {
                    continue;
                }
                // Landmarks left out of the mesh (too close to another) move nothing.
                if assigned[landmark] || pinned[landmark] || mesh.neighbours[landmark].is_empty() {
                    continue;
                }
                let toward_left = match landmark_side {
                    Side::Left => driver.outward,
                    Side::Right => -driver.outward,
                    Side::Both => 0.0,
                };
                unit[landmark] = [toward_left, driver.up];
                assigned[landmark] = true;
                drivers.push(landmark as u32);
            }
        }
        if drivers.is_empty() {
            return None;
        }
        // Spread layer by layer: each new vertex takes the mean of its neighbours of the layer
        // before, scaled by the falloff ratio of this hop.
        let mut layer: Vec<u32> = drivers.clone();
        for hop in 1..basis.falloff.len() {
            let ratio = basis.falloff[hop] / basis.falloff[hop - 1];
            let mut next: Vec<(u32, [f32; 2])> = Vec::new();
            for &vertex in &layer {
                for &neighbour in &mesh.neighbours[vertex as usize] {
                    let index = neighbour as usize;
                    if assigned[index] || pinned[index] || next.iter().any(|(v, _)| *v == neighbour)
                    {
                        continue;
                    }
                    let (mut sum, mut count) = ([0.0f32; 2], 0.0f32);
                    for &other in &mesh.neighbours[index] {
                        if layer.contains(&other) {
                            sum[0] += unit[other as usize][0];
                            sum[1] += unit[other as usize][1];
                            count += 1.0;
                        }
                    }
                    next.push((neighbour, [ratio * sum[0] / count, ratio * sum[1] / count]));
                }
            }
            for &(vertex, value) in &next {
                unit[vertex as usize] = value;
                assigned[vertex as usize] = true;
            }
            layer = next.into_iter().map(|(v, _)| v).collect();
        }
        Some(VertexBasis { unit, drivers })
    }

    /// Largest displacement of a driver in units of the amplitude (1 for every table).
    pub fn peak(&self) -> f32 {
        self.drivers
            .iter()
            .map(|&v| {
                let [a, b] = self.unit[v as usize];
                (a * a + b * b).sqrt()
            })
            .fold(0.0, f32::max)
    }
}
