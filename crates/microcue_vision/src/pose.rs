//! Head pose (yaw, pitch, roll in degrees) from the face mesh.
//!
//! Method: the mesh's 3D landmarks (x, y image pixels, z in the same scale, smaller = closer to
//! the camera; a weak-perspective model) give a face frame built from four rigid points: the
//! outer eye corners (33 -> 263) set the face's x axis, the nose tip (1) and the top of the
//! forehead (10) its "down" direction, orthogonalised against x; the third axis is their cross
//! product. The same frame is built from MediaPipe's canonical face model (the neutral frontal
//! face the mesh is defined on), and the head rotation is `R = F_observed * F_canonical^T`, so a
//! neutral face looking straight at the camera gives (0, 0, 0) and any rigid rotation of those
//! points is recovered exactly. Angles are read from `R` in the image frame (x right, y down,
//! z into the screen):
//!
//! - yaw: angle of the face's forward direction to the right of the camera axis, > 0 when the
//!   subject turns to their left (nose towards image right);
//! - pitch: elevation of the forward direction, > 0 when the subject looks up;
//! - roll: elevation of the face's x axis (subject's right eye to left eye) below the image
//!   x axis, > 0 when the head tilts clockwise on screen.
//!
//! These follow [`microcue_core::HeadPose`]. Points are rigid parts of the face (not lips, jaw
//! or brows), so expressions move the angles little. Accuracy is that of a weak-perspective
//! fit: good for changes against a person's own baseline (turns, nods, tilts), approximate in
//! absolute terms (a few degrees).

use microcue_core::{HeadPose, LANDMARK_COUNT};

use crate::landmarks::landmark;

/// Canonical face model coordinates (MediaPipe `canonical_face_model.obj`, centimetres, y up,
/// z towards the viewer) of the four points used, in landmark order 33, 263, 1, 10.
const CANONICAL_RIGHT_EYE_OUTER: [f32; 3] = [-4.445859, 2.663991, 3.173422];
const CANONICAL_LEFT_EYE_OUTER: [f32; 3] = [4.445859, 2.663991, 3.173422];
const CANONICAL_NOSE_TIP: [f32; 3] = [0.0, -1.126865, 7.475604];
const CANONICAL_FOREHEAD_TOP: [f32; 3] = [0.0, 8.261778, 4.481535];

type Vec3 = [f32; 3];
/// Rows are the face frame's x, y, z axes expressed in image axes.
type Frame3 = [Vec3; 3];

fn sub(a: Vec3, b: Vec3) -> Vec3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

fn dot(a: Vec3, b: Vec3) -> f32 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn cross(a: Vec3, b: Vec3) -> Vec3 {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

fn normalized(a: Vec3) -> Option<Vec3> {
    let norm = dot(a, a).sqrt();
    (norm > 1e-9 && norm.is_finite()).then(|| [a[0] / norm, a[1] / norm, a[2] / norm])
}

/// Image-space point from a canonical one: y and z flip (canonical y up, z towards the viewer).
fn canonical_to_image(point: Vec3) -> Vec3 {
    [point[0], -point[1], -point[2]]
}

/// The face frame from the four points (image axes), or `None` when they are degenerate.
fn face_frame(
    right_eye: Vec3,
    left_eye: Vec3,
    nose_tip: Vec3,
    forehead_top: Vec3,
) -> Option<Frame3> {
    let x_axis = normalized(sub(left_eye, right_eye))?;
    let down = sub(nose_tip, forehead_top);
    let along_x = dot(down, x_axis);
    let y_axis = normalized(sub(
        down,
        [
            x_axis[0] * along_x,
            x_axis[1] * along_x,
            x_axis[2] * along_x,
        ],
    ))?;
    let z_axis = cross(x_axis, y_axis);
    Some([x_axis, y_axis, z_axis])
}

fn canonical_frame() -> Frame3 {
    face_frame(
        canonical_to_image(CANONICAL_RIGHT_EYE_OUTER),
        canonical_to_image(CANONICAL_LEFT_EYE_OUTER),
        canonical_to_image(CANONICAL_NOSE_TIP),
        canonical_to_image(CANONICAL_FOREHEAD_TOP),
    )
    .unwrap_or([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
}

/// Head pose from the 478 landmarks (image pixels, z like x); `None` when there are not 478
/// points or the key points coincide.
pub fn head_pose(landmarks_in_image: &[[f32; 3]]) -> Option<HeadPose> {
    if landmarks_in_image.len() != LANDMARK_COUNT {
        return None;
    }
    let observed = face_frame(
        landmarks_in_image[landmark::RIGHT_EYE_OUTER],
        landmarks_in_image[landmark::LEFT_EYE_OUTER],
        landmarks_in_image[landmark::NOSE_TIP],
        landmarks_in_image[landmark::FOREHEAD_TOP],
    )?;
    Some(pose_from_frames(&observed, &canonical_frame()))
}

/// Angles of the rotation taking the canonical frame to the observed one.
fn pose_from_frames(observed: &Frame3, canonical: &Frame3) -> HeadPose {
    // R = sum_k observed_k (outer) canonical_k: maps canonical-face directions to observed ones.
    let rotate = |v: Vec3| -> Vec3 {
        let mut out = [0.0; 3];
        for k in 0..3 {
            let weight = dot(canonical[k], v);
            for (o, axis) in out.iter_mut().zip(observed[k]) {
                *o += axis * weight;
            }
        }
        out
    };
    // The neutral face looks along -z (towards the camera); its x axis is +x.
    let forward = rotate([0.0, 0.0, -1.0]);
    let right = rotate([1.0, 0.0, 0.0]);
    let yaw_rad = forward[0].atan2(-forward[2]);
    let pitch_rad = (-forward[1]).atan2(forward[0].hypot(forward[2]));
    let roll_rad = right[1].atan2(right[0].hypot(right[2]));
    HeadPose {
        yaw_deg: yaw_rad.to_degrees(),
        pitch_deg: pitch_rad.to_degrees(),
        roll_deg: roll_rad.to_degrees(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A mesh holding only the four canonical points (image axes, 20 px per cm, centred at
    /// (320, 240)), rotated by `rotation` (applied to image-axis vectors).
    fn canonical_mesh(rotation: impl Fn(Vec3) -> Vec3) -> Vec<[f32; 3]> {
        let mut mesh = vec![[0.0; 3]; LANDMARK_COUNT];
        let place = |p: Vec3| {
            let r = rotation(canonical_to_image(p));
            [320.0 + 20.0 * r[0], 240.0 + 20.0 * r[1], 20.0 * r[2]]
        };
        mesh[landmark::RIGHT_EYE_OUTER] = place(CANONICAL_RIGHT_EYE_OUTER);
        mesh[landmark::LEFT_EYE_OUTER] = place(CANONICAL_LEFT_EYE_OUTER);
        mesh[landmark::NOSE_TIP] = place(CANONICAL_NOSE_TIP);
        mesh[landmark::FOREHEAD_TOP] = place(CANONICAL_FOREHEAD_TOP);
        mesh
    }

    /// Rotation about the image y axis (down) turning +z (into the screen) towards +x... as
    /// seen from the camera: positive `angle` moves a point in front of the head (z < 0)
    /// towards image right.
    fn about_vertical(angle_deg: f32) -> impl Fn(Vec3) -> Vec3 {
        let (s, c) = angle_deg.to_radians().sin_cos();
        move |v: Vec3| [c * v[0] - s * v[2], v[1], s * v[0] + c * v[2]]
    }

    /// Positive `angle` moves a point in front of the head (z < 0) up (towards -y).
    fn about_horizontal(angle_deg: f32) -> impl Fn(Vec3) -> Vec3 {
        let (s, c) = angle_deg.to_radians().sin_cos();
        move |v: Vec3| [v[0], c * v[1] + s * v[2], -s * v[1] + c * v[2]]
    }

    /// Positive `angle` turns +x towards +y (clockwise on screen).
    fn in_image_plane(angle_deg: f32) -> impl Fn(Vec3) -> Vec3 {
        let (s, c) = angle_deg.to_radians().sin_cos();
        move |v: Vec3| [c * v[0] - s * v[1], s * v[0] + c * v[1], v[2]]
    }

    fn assert_pose(pose: HeadPose, yaw: f32, pitch: f32, roll: f32) {
        let close = |a: f32, b: f32| (a - b).abs() < 0.05;
        assert!(
            close(pose.yaw_deg, yaw) && close(pose.pitch_deg, pitch) && close(pose.roll_deg, roll),
            "{pose:?} vs yaw {yaw} pitch {pitch} roll {roll}"
        );
    }

    #[test]
    fn neutral_canonical_face_is_zero() {
        assert_pose(head_pose(&canonical_mesh(|v| v)).unwrap(), 0.0, 0.0, 0.0);
    }

    #[test]
    fn single_axis_rotations_are_recovered_with_documented_signs() {
        // Nose towards image right = the subject turns to their left = yaw > 0.
        let pose = head_pose(&canonical_mesh(about_vertical(25.0))).unwrap();
        assert_pose(pose, 25.0, 0.0, 0.0);
        let nose = canonical_mesh(about_vertical(25.0))[landmark::NOSE_TIP][0];
        assert!(nose > 320.0, "nose moved right: {nose}");
        // Nose up = looks up = pitch > 0.
        let mesh = canonical_mesh(about_horizontal(15.0));
        assert_pose(head_pose(&mesh).unwrap(), 0.0, 15.0, 0.0);
        // Clockwise tilt on screen = roll > 0.
        assert_pose(
            head_pose(&canonical_mesh(in_image_plane(20.0))).unwrap(),
            0.0,
            0.0,
            20.0,
        );
    }

    #[test]
    fn mirroring_flips_yaw_and_roll_but_not_pitch() {
        let turned = about_vertical(18.0);
        let tilted = in_image_plane(-9.0);
        let nodded = about_horizontal(7.0);
        let mesh = canonical_mesh(|v| tilted(turned(nodded(v))));
        let pose = head_pose(&mesh).unwrap();
        // Mirror: x -> 640 - x, and swap the subject's sides (33 <-> 263).
        let mut mirrored = mesh.clone();
        for point in &mut mirrored {
            point[0] = 640.0 - point[0];
        }
        mirrored.swap(landmark::RIGHT_EYE_OUTER, landmark::LEFT_EYE_OUTER);
        let mirrored_pose = head_pose(&mirrored).unwrap();
        assert!(
            (pose.yaw_deg + mirrored_pose.yaw_deg).abs() < 1e-3,
            "{pose:?} {mirrored_pose:?}"
        );
        assert!((pose.roll_deg + mirrored_pose.roll_deg).abs() < 1e-3);
        assert!((pose.pitch_deg - mirrored_pose.pitch_deg).abs() < 1e-3);
        assert!(
            pose.yaw_deg > 10.0 && pose.roll_deg < -5.0 && pose.pitch_deg > 3.0,
            "{pose:?}"
        );
    }

    #[test]
    fn degenerate_meshes_give_no_pose() {
        assert!(head_pose(&[[0.0; 3]; 10]).is_none());
        assert!(head_pose(&vec![[5.0, 5.0, 5.0]; LANDMARK_COUNT]).is_none());
    }
}
