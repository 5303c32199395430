//! Piecewise-affine rendering: every mesh triangle is mapped affinely from its rest position
//! to its displaced one; each output pixel is fetched from the source point with the same
//! barycentric coordinates in the rest triangle (the exact inverse, no iteration).

use microcue_core::{CueId, LANDMARK_COUNT, Side};

use super::bases::{VertexBasis, driver_landmarks, pinned_landmarks};
use super::mesh::FaceMesh;
use crate::frame::Frame;
use crate::warp::{FaceAxes, sample_bilinear_rgb};

/// Landmarks closer than this to one already in the mesh are left out of it, in inter-ocular
/// distances: the mouth corners and lid ends hold several landmarks within a pixel or two,
/// whose slivers of triangles would turn over under a small movement.
const MIN_SPACING_IOD: f32 = 0.03;

/// `points` with those too close to an earlier kept one set to NaN (left out of the mesh);
/// the cue's drivers are kept first, then its pinned landmarks.
fn thinned(points: &[[f32; 2]], cue: CueId, min_spacing_px: f32) -> Vec<[f32; 2]> {
    let mut order = driver_landmarks(cue);
    order.extend(pinned_landmarks(cue));
    order.extend(0..points.len());
    let mut kept: Vec<usize> = Vec::with_capacity(points.len());
    let mut out = vec![[f32::NAN; 2]; points.len()];
    for index in order {
        if !out[index][0].is_nan() {
            continue;
        }
        let p = points[index];
        let close = kept.iter().any(|&k| {
            let q = points[k];
            (p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2) < min_spacing_px * min_spacing_px
        });
        if !close {
            kept.push(index);
            out[index] = p;
        }
    }
    out
}

/// The mesh and the vertex basis of one planted movement, built once from the landmarks of
/// its first frame and reused for every frame it moves.
#[derive(Debug, Clone)]
pub struct AuWarp {
    mesh: FaceMesh,
    basis: VertexBasis,
    /// Triangles with at least one vertex that moves.
    moving: Vec<[u32; 3]>,
    peak: f32,
}

impl AuWarp {
    /// The warp of `cue` on `side` for a face with these landmarks (image pixels); `None`
    /// without a face, for a cue the AU style cannot plant, or when nothing would move.
    pub fn new(cue: CueId, side: Side, landmarks_in_image: &[[f32; 3]]) -> Option<AuWarp> {
        if landmarks_in_image.len() < LANDMARK_COUNT {
            return None;
        }
        let axes = FaceAxes::from_landmarks(landmarks_in_image)?;
        let points: Vec<[f32; 2]> = landmarks_in_image.iter().map(|p| [p[0], p[1]]).collect();
        let mesh = FaceMesh::delaunay(&thinned(&points, cue, MIN_SPACING_IOD * axes.iod_px));
        let basis = VertexBasis::new(cue, side, &points, &mesh)?;
        let moves = |v: u32| basis.unit[v as usize] != [0.0, 0.0];
        let moving = mesh
            .triangles
            .iter()
            .copied()
            .filter(|t| t.iter().any(|&v| moves(v)))
            .collect();
        let peak = basis.peak();
        (peak > 0.0).then_some(AuWarp {
            mesh,
            basis,
            moving,
            peak,
        })
    }

    /// Landmarks the movement drives directly.
    pub fn drivers(&self) -> &[u32] {
        &self.basis.drivers
    }

    /// Forward displacement of every landmark (image pixels) for a movement of
    /// `amplitude_iod` at strength `weight`, into `out` (resized); `false` without a face.
    pub fn displacements(
        &self,
        landmarks_in_image: &[[f32; 3]],
        amplitude_iod: f32,
        weight: f32,
        out: &mut Vec<[f32; 2]>,
    ) -> bool {
        let Some(axes) = FaceAxes::from_landmarks(landmarks_in_image) else {
            return false;
        };
        let scale_px = amplitude_iod * weight * axes.iod_px / self.peak;
        out.clear();
        out.extend(self.basis.unit.iter().map(|[left, up]| {
            [
                scale_px * (left * axes.toward_left[0] + up * axes.up[0]),
                scale_px * (left * axes.toward_left[1] + up * axes.up[1]),
            ]
        }));
        true
    }

    /// Writes `src` moved by `amplitude_iod` at strength `weight` (0..1) into `dst`, reusing
    /// `scratch`. Pixels outside the moving triangles are copied exactly. Returns the number
    /// of triangles that turned over (0 unless the movement is too large for the face).
    pub fn render(
        &self,
        src: &Frame,
        landmarks_in_image: &[[f32; 3]],
        amplitude_iod: f32,
        weight: f32,
        dst: &mut Frame,
        scratch: &mut Vec<[f32; 2]>,
    ) -> usize {
        dst.pts_s = src.pts_s;
        dst.index = src.index;
        dst.resize(src.width, src.height);
        dst.rgb.copy_from_slice(&src.rgb);
        let (width, height) = (src.width as usize, src.height as usize);
        if weight.is_nan()
            || weight <= 0.0
            || width == 0
            || height == 0
            || src.rgb.len() < width * height * 3
            || landmarks_in_image.len() < self.basis.unit.len()
            || !self.displacements(landmarks_in_image, amplitude_iod, weight, scratch)
        {
            return 0;
        }
        let rest = |v: u32| {
            let p = landmarks_in_image[v as usize];
            [p[0], p[1]]
        };
        let moved = |v: u32| {
            let p = rest(v);
            let d = scratch[v as usize];
            [p[0] + d[0], p[1] + d[1]]
        };
        let mut flipped = 0;
        for &triangle in &self.moving {
            let [a, b, c] = triangle.map(moved);
            let [ra, rb, rc] = triangle.map(rest);
            let area = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
            let rest_area = (rb[0] - ra[0]) * (rc[1] - ra[1]) - (rb[1] - ra[1]) * (rc[0] - ra[0]);
            if area.abs() < 1e-6 {
                continue;
            }
            if area.signum() != rest_area.signum() {
                flipped += 1;
            }
            // Pixel x has its centre at x + 0.5.
            let x_min = (a[0].min(b[0]).min(c[0]) - 0.5).ceil().max(0.0) as usize;
            let y_min = (a[1].min(b[1]).min(c[1]) - 0.5).ceil().max(0.0) as usize;
            let x_max =
                ((a[0].max(b[0]).max(c[0]) - 0.5).floor() + 1.0).clamp(0.0, width as f32) as usize;
            let y_max =
                ((a[1].max(b[1]).max(c[1]) - 0.5).floor() + 1.0).clamp(0.0, height as f32) as usize;
            const EDGE: f32 = -1e-5;
            for y in y_min..y_max {
                for x in x_min..x_max {
                    let p = [x as f32 + 0.5, y as f32 + 0.5];
                    let wa = ((b[0] - p[0]) * (c[1] - p[1]) - (b[1] - p[1]) * (c[0] - p[0])) / area;
                    let wb = ((c[0] - p[0]) * (a[1] - p[1]) - (c[1] - p[1]) * (a[0] - p[0])) / area;
                    let wc = 1.0 - wa - wb;
                    if wa < EDGE || wb < EDGE || wc < EDGE {
                        continue;
                    }
                    let q = [
                        wa * ra[0] + wb * rb[0] + wc * rc[0],
                        wa * ra[1] + wb * rb[1] + wc * rc[1],
                    ];
                    let out = (y * width + x) * 3;
                    let sample =
                        sample_bilinear_rgb(&src.rgb, width, height, q[0] - 0.5, q[1] - 0.5);
                    dst.rgb[out..out + 3].copy_from_slice(&sample);
                }
            }
        }
        flipped
    }

    /// Number of mesh triangles.
    pub fn triangle_count(&self) -> usize {
        self.mesh.triangles.len()
    }
}
