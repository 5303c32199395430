//! Face axes: region motion measured in the face's own directions (head roll removed).

use crate::signals::Region;

/// A direction in the face's own axes (head roll removed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaceDirection {
    /// Towards the forehead.
    Up,
    /// Towards the chin.
    Down,
    /// Away from the midline (the subject's left for left regions, right for right ones).
    Outward,
}

/// A region's motion (image axes, x right, y down) in face axes (head roll removed):
/// `[up, towards the subject's left]`.
pub(crate) fn face_axes(motion: [f32; 2], roll_deg: f32) -> [f32; 2] {
    let [dx, dy] = motion;
    let (sin, cos) = roll_deg.to_radians().sin_cos();
    // Image axes to face axes: roll > 0 turns the face clockwise in the image, so "up" is
    // (sin, -cos) and the subject's left (image right, unmirrored) is (cos, sin).
    [dx * sin - dy * cos, dx * cos + dy * sin]
}

/// +1 when "outward" is towards the subject's left for this region, −1 when towards their
/// right, `None` for regions on the midline.
pub(crate) fn outward_sign(region: Region) -> Option<f32> {
    match region {
        Region::BrowLeft
        | Region::LowerLidLeft
        | Region::UpperLidLeft
        | Region::NoseLeft
        | Region::MouthCornerLeft => Some(1.0),
        Region::BrowRight
        | Region::LowerLidRight
        | Region::UpperLidRight
        | Region::NoseRight
        | Region::MouthCornerRight => Some(-1.0),
        Region::BrowInner | Region::UpperLip | Region::LowerLip => None,
    }
}

/// A region's motion (image axes, x right, y down) along a face direction.
pub(crate) fn face_motion(
    values: &[[f32; 2]; Region::COUNT],
    roll_deg: f32,
    region: Region,
    direction: FaceDirection,
) -> f32 {
    let [up, toward_left] = face_axes(values[region as usize], roll_deg);
    match direction {
        FaceDirection::Up => up,
        FaceDirection::Down => -up,
        FaceDirection::Outward => match outward_sign(region) {
            Some(sign) => sign * toward_left,
            None => toward_left.abs(),
        },
    }
}
