//! Rotated-rectangle crops: the geometry between image pixels and a model's square input.
//!
//! A [`RotatedRect`] is a region of the image (centre, size and rotation, all in image pixels).
//! [`sample_rotated_rect`] resamples it bilinearly into an `N x N` RGB f32 tensor buffer that the
//! caller owns and reuses (normally the model's own input tensor, so nothing is copied), exactly
//! like MediaPipe's `ImageToTensorCalculator` and the reference pipeline
//! (`shared/models/reference/tflite_reference_pipeline.py`, `warp`): sample `(i, j)` of the crop
//! reads the image at the centre of output pixel `(i + 0.5, j + 0.5)`, samples outside the image
//! read black. [`RotatedRect::image_from_crop`] maps model outputs (normalised crop coordinates)
//! back to image pixels.

use crate::error::VisionError;
use crate::frame::Frame;

/// A rectangle in the image, rotated about its centre. All lengths in image pixels.
///
/// `rotation_rad` turns the rectangle's x axis from the image's x axis towards the image's y
/// axis (y points down), i.e. clockwise as seen on screen.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RotatedRect {
    /// Centre x, image pixels (0 = left edge of the image).
    pub center_x_px: f32,
    /// Centre y, image pixels (0 = top edge).
    pub center_y_px: f32,
    /// Width along the rectangle's own x axis, pixels.
    pub width_px: f32,
    /// Height along the rectangle's own y axis, pixels.
    pub height_px: f32,
    /// Rotation, radians, clockwise on screen, in (-pi, pi].
    pub rotation_rad: f32,
}

impl RotatedRect {
    /// The whole frame, padded to a square around its centre (a "letterbox", no rotation).
    pub fn letterbox(width_px: u32, height_px: u32) -> Self {
        let side_px = width_px.max(height_px) as f32;
        RotatedRect {
            center_x_px: width_px as f32 / 2.0,
            center_y_px: height_px as f32 / 2.0,
            width_px: side_px,
            height_px: side_px,
            rotation_rad: 0.0,
        }
    }

    /// Maps normalised crop coordinates (`u`, `v` in [0, 1], (0, 0) = top-left corner of the
    /// crop) to image pixels.
    pub fn image_from_crop(&self, u: f32, v: f32) -> [f32; 2] {
        let (sin, cos) = self.rotation_rad.sin_cos();
        let du = (u - 0.5) * self.width_px;
        let dv = (v - 0.5) * self.height_px;
        [
            self.center_x_px + du * cos - dv * sin,
            self.center_y_px + du * sin + dv * cos,
        ]
    }

    /// Maps image pixels to normalised crop coordinates (inverse of [`Self::image_from_crop`]).
    pub fn crop_from_image(&self, x_px: f32, y_px: f32) -> [f32; 2] {
        let (sin, cos) = self.rotation_rad.sin_cos();
        let dx = x_px - self.center_x_px;
        let dy = y_px - self.center_y_px;
        [
            (dx * cos + dy * sin) / self.width_px + 0.5,
            (-dx * sin + dy * cos) / self.height_px + 0.5,
        ]
    }
}

/// Wraps an angle to (-pi, pi].
pub fn normalize_radians(angle_rad: f32) -> f32 {
    use std::f32::consts::PI;
    let wrapped = angle_rad - 2.0 * PI * ((angle_rad + PI) / (2.0 * PI)).floor();
    if wrapped <= -PI {
        wrapped + 2.0 * PI
    } else {
        wrapped
    }
}

/// Checks that `frame.rgb` holds `width * height * 3` bytes.
pub fn check_frame(frame: &Frame) -> Result<(), VisionError> {
    let expected_len = frame.width as usize * frame.height as usize * 3;
    if frame.rgb.len() != expected_len || frame.width == 0 || frame.height == 0 {
        return Err(VisionError::FrameSize {
            frame_index: frame.index,
            width: frame.width,
            height: frame.height,
            rgb_len: frame.rgb.len(),
            expected_len,
        });
    }
    Ok(())
}

/// Resamples `rect` of `frame` into `out`, an `size_px x size_px x 3` row-major RGB buffer
/// (NHWC without the batch axis), bilinearly, writing `value * value_scale + value_offset` for
/// each 0..=255 channel value. Outside the image, pixels are 0 before scaling.
///
/// `frame` must have been checked with [`check_frame`] (its size is trusted here).
pub fn sample_rotated_rect(
    frame: &Frame,
    rect: &RotatedRect,
    size_px: usize,
    value_scale: f32,
    value_offset: f32,
    out: &mut [f32],
) {
    sample_rotated_rect_in_layout(
        frame,
        rect,
        size_px,
        value_scale,
        value_offset,
        PixelLayout::Interleaved,
        out,
    );
}

/// How a model's `size x size x 3` image input is laid out in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PixelLayout {
    /// `[row][column][channel]` (NHWC, TFLite's and the ONNX files' own layout).
    #[default]
    Interleaved,
    /// `[channel][row][column]` (NCHW): what tract's convolutions work on, so feeding it saves
    /// the model a transpose of its input.
    Planar,
}

/// [`sample_rotated_rect`] writing `out` in `layout`.
pub fn sample_rotated_rect_in_layout(
    frame: &Frame,
    rect: &RotatedRect,
    size_px: usize,
    value_scale: f32,
    value_offset: f32,
    layout: PixelLayout,
    out: &mut [f32],
) {
    debug_assert_eq!(out.len(), size_px * size_px * 3);
    let plane_len = size_px * size_px;
    // Where channel c of crop pixel i goes.
    let (pixel_stride, channel_stride) = match layout {
        PixelLayout::Interleaved => (3, 1),
        PixelLayout::Planar => (1, plane_len),
    };
    let width = frame.width as i64;
    let height = frame.height as i64;
    let stride = frame.width as usize * 3;
    let rgb = &frame.rgb[..];
    let (sin, cos) = (rect.rotation_rad as f64).sin_cos();
    let step = 1.0 / size_px as f64;
    // Image position of crop sample (column u, row v) =
    //   origin + u_norm * axis_u + v_norm * axis_v, with u_norm, v_norm in [-0.5, 0.5).
    let (cx, cy) = (rect.center_x_px as f64 - 0.5, rect.center_y_px as f64 - 0.5);
    let (w, h) = (rect.width_px as f64, rect.height_px as f64);
    let axis_u = [w * cos, w * sin];
    let axis_v = [-h * sin, h * cos];
    // Each row's start in f64; along the row, f32 offsets from it (no accumulated drift).
    let step_x = (axis_u[0] * step) as f32;
    let step_y = (axis_u[1] * step) as f32;
    for row in 0..size_px {
        let v_norm = (row as f64 + 0.5) * step - 0.5;
        let u_start = 0.5 * step - 0.5;
        let row_x = (cx + v_norm * axis_v[0] + u_start * axis_u[0]) as f32;
        let row_y = (cy + v_norm * axis_v[1] + u_start * axis_u[1]) as f32;
        for col in 0..size_px {
            let x = row_x + col as f32 * step_x;
            let y = row_y + col as f32 * step_y;
            let x0f = x.floor();
            let y0f = y.floor();
            let fx = x - x0f;
            let fy = y - y0f;
            let x0 = x0f as i64;
            let y0 = y0f as i64;
            let mut sample = [0.0f32; 3];
            if x0 >= 0 && y0 >= 0 && x0 + 1 < width && y0 + 1 < height {
                let top = y0 as usize * stride + x0 as usize * 3;
                let bottom = top + stride;
                let (top, bottom) = (&rgb[top..top + 6], &rgb[bottom..bottom + 6]);
                let w00 = (1.0 - fx) * (1.0 - fy);
                let w10 = fx * (1.0 - fy);
                let w01 = (1.0 - fx) * fy;
                let w11 = fx * fy;
                for (c, s) in sample.iter_mut().enumerate() {
                    *s = top[c] as f32 * w00
                        + top[c + 3] as f32 * w10
                        + bottom[c] as f32 * w01
                        + bottom[c + 3] as f32 * w11;
                }
            } else {
                // At least one neighbour is outside: those read black.
                let corners = [
                    (x0, y0, (1.0 - fx) * (1.0 - fy)),
                    (x0 + 1, y0, fx * (1.0 - fy)),
                    (x0, y0 + 1, (1.0 - fx) * fy),
                    (x0 + 1, y0 + 1, fx * fy),
                ];
                for (xi, yi, weight) in corners {
                    if xi >= 0 && yi >= 0 && xi < width && yi < height {
                        let i = yi as usize * stride + xi as usize * 3;
                        for (c, s) in sample.iter_mut().enumerate() {
                            *s += rgb[i + c] as f32 * weight;
                        }
                    }
                }
            }
            let pixel = (row * size_px + col) * pixel_stride;
            for (c, s) in sample.into_iter().enumerate() {
                out[pixel + c * channel_stride] = s * value_scale + value_offset;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gradient_frame(width: u32, height: u32) -> Frame {
        let mut frame = Frame::default();
        frame.resize(width, height);
        for y in 0..height {
            for x in 0..width {
                let i = (y * width + x) as usize * 3;
                frame.rgb[i] = x as u8;
                frame.rgb[i + 1] = y as u8;
                frame.rgb[i + 2] = 100;
            }
        }
        frame
    }

    #[test]
    fn image_and_crop_coordinates_are_inverse() {
        let rect = RotatedRect {
            center_x_px: 40.0,
            center_y_px: 30.0,
            width_px: 20.0,
            height_px: 20.0,
            rotation_rad: 0.4,
        };
        let [x, y] = rect.image_from_crop(0.2, 0.9);
        let [u, v] = rect.crop_from_image(x, y);
        assert!((u - 0.2).abs() < 1e-5 && (v - 0.9).abs() < 1e-5);
        // The crop's x axis turns clockwise on screen (towards +y) for a positive rotation.
        let [x1, y1] = rect.image_from_crop(1.0, 0.5);
        assert!(x1 > 40.0 && y1 > 30.0);
    }

    #[test]
    fn axis_aligned_crop_reads_the_pixels_it_covers() {
        let frame = gradient_frame(64, 48);
        // An 8x8 crop of the 8x8 pixel block whose top-left is (10, 20): samples hit centres.
        let rect = RotatedRect {
            center_x_px: 14.0,
            center_y_px: 24.0,
            width_px: 8.0,
            height_px: 8.0,
            rotation_rad: 0.0,
        };
        let mut out = vec![0.0; 8 * 8 * 3];
        sample_rotated_rect(&frame, &rect, 8, 1.0, 0.0, &mut out);
        for row in 0..8 {
            for col in 0..8 {
                let i = (row * 8 + col) * 3;
                assert!(
                    (out[i] - (10 + col) as f32).abs() < 1e-4,
                    "x at {row},{col}: {}",
                    out[i]
                );
                assert!((out[i + 1] - (20 + row) as f32).abs() < 1e-4);
                assert!((out[i + 2] - 100.0).abs() < 1e-4);
            }
        }
    }

    #[test]
    fn planar_layout_holds_the_same_samples_channel_by_channel() {
        let frame = gradient_frame(64, 48);
        let rect = RotatedRect {
            center_x_px: 30.0,
            center_y_px: 20.0,
            width_px: 50.0,
            height_px: 50.0,
            rotation_rad: 0.3,
        };
        let size = 16;
        let mut interleaved = vec![0.0; size * size * 3];
        let mut planar = vec![0.0; size * size * 3];
        sample_rotated_rect(&frame, &rect, size, 0.5, 1.0, &mut interleaved);
        sample_rotated_rect_in_layout(
            &frame,
            &rect,
            size,
            0.5,
            1.0,
            PixelLayout::Planar,
            &mut planar,
        );
        for pixel in 0..size * size {
            for c in 0..3 {
                assert_eq!(interleaved[pixel * 3 + c], planar[c * size * size + pixel]);
            }
        }
    }

    #[test]
    fn outside_the_image_is_black_then_scaled() {
        let frame = gradient_frame(16, 16);
        let rect = RotatedRect {
            center_x_px: -100.0,
            center_y_px: -100.0,
            width_px: 10.0,
            height_px: 10.0,
            rotation_rad: 1.0,
        };
        let mut out = vec![0.0; 4 * 4 * 3];
        sample_rotated_rect(&frame, &rect, 4, 1.0 / 127.5, -1.0, &mut out);
        assert!(out.iter().all(|v| (*v + 1.0).abs() < 1e-6));
    }

    #[test]
    fn angles_wrap_into_half_open_interval() {
        use std::f32::consts::PI;
        assert!((normalize_radians(3.0 * PI / 2.0) + PI / 2.0).abs() < 1e-5);
        assert!((normalize_radians(-PI) - PI).abs() < 1e-5);
        assert!((normalize_radians(0.3) - 0.3).abs() < 1e-6);
    }

    #[test]
    fn malformed_frames_are_reported() {
        let mut frame = gradient_frame(4, 4);
        frame.rgb.pop();
        let message = check_frame(&frame).unwrap_err().to_string();
        assert!(
            message.contains("4x4") && message.contains("47 bytes"),
            "{message}"
        );
    }
}
