//! Camera frames from the page into the pipeline's [`Frame`] (its buffer reused frame after
//! frame).

use std::io::Cursor;

use image::codecs::jpeg::JpegDecoder;
use image::{ColorType, ImageDecoder};
use microcue_vision::Frame;

use crate::protocol::{FrameHeader, PixelFormat};

/// Why a frame's pixels could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PixelError {
    #[error("not a readable JPEG: {0}")]
    Jpeg(#[source] image::ImageError),
    #[error("the JPEG is {actual_width}x{actual_height}, the header says {width}x{height}")]
    SizeMismatch {
        width: u32,
        height: u32,
        actual_width: u32,
        actual_height: u32,
    },
    #[error("the JPEG is {0:?}; send a colour (RGB) JPEG")]
    NotRgb(ColorType),
}

/// Decodes `pixels` (as `header` describes them) into `frame`, with `pts_s` the capture time.
pub fn decode_into(
    header: &FrameHeader,
    pixels: &[u8],
    index: u64,
    frame: &mut Frame,
) -> Result<(), PixelError> {
    match header.format {
        PixelFormat::Jpeg => {
            let decoder = JpegDecoder::new(Cursor::new(pixels)).map_err(PixelError::Jpeg)?;
            let (actual_width, actual_height) = decoder.dimensions();
            if (actual_width, actual_height) != (header.width, header.height) {
                return Err(PixelError::SizeMismatch {
                    width: header.width,
                    height: header.height,
                    actual_width,
                    actual_height,
                });
            }
            if decoder.color_type() != ColorType::Rgb8 {
                return Err(PixelError::NotRgb(decoder.color_type()));
            }
            frame.resize(header.width, header.height);
            decoder
                .read_image(&mut frame.rgb)
                .map_err(PixelError::Jpeg)?;
        }
        PixelFormat::Rgba => {
            // parse_frame checked the length.
            frame.resize(header.width, header.height);
            for (rgb, rgba) in frame.rgb.chunks_exact_mut(3).zip(pixels.chunks_exact(4)) {
                rgb.copy_from_slice(&rgba[..3]);
            }
        }
    }
    frame.pts_s = header.capture_ms / 1000.0;
    frame.index = index;
    Ok(())
}

/// The face box of a face's landmarks, as fractions of the frame.
pub(crate) fn face_rect(landmarks: &[[f32; 3]], width: u32, height: u32) -> Option<[f32; 4]> {
    let mut rect = [
        f32::INFINITY,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NEG_INFINITY,
    ];
    for point in landmarks {
        rect[0] = rect[0].min(point[0]);
        rect[1] = rect[1].min(point[1]);
        rect[2] = rect[2].max(point[0]);
        rect[3] = rect[3].max(point[1]);
    }
    if !rect.iter().all(|v| v.is_finite()) || width == 0 || height == 0 {
        return None;
    }
    let (w, h) = (width as f32, height as f32);
    Some([
        (rect[0] / w).clamp(0.0, 1.0),
        (rect[1] / h).clamp(0.0, 1.0),
        (rect[2] / w).clamp(0.0, 1.0),
        (rect[3] / h).clamp(0.0, 1.0),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_rgba_drops_alpha_and_jpeg_decodes_to_the_header_size() {
        let header = FrameHeader {
            format: PixelFormat::Rgba,
            width: 16,
            height: 16,
            capture_ms: 2500.0,
        };
        let rgba: Vec<u8> = (0..16 * 16).flat_map(|i| [i as u8, 1, 2, 255]).collect();
        let mut frame = Frame::default();
        decode_into(&header, &rgba, 7, &mut frame).unwrap();
        assert_eq!((frame.width, frame.height, frame.index), (16, 16, 7));
        assert_eq!(frame.pts_s, 2.5);
        assert_eq!(frame.pixel(3, 0), [3, 1, 2]);

        let mut jpeg = Vec::new();
        image::RgbImage::from_pixel(32, 24, image::Rgb([200, 100, 50]))
            .write_to(&mut Cursor::new(&mut jpeg), image::ImageFormat::Jpeg)
            .unwrap();
        let header = FrameHeader {
            format: PixelFormat::Jpeg,
            width: 32,
            height: 24,
            capture_ms: 0.0,
        };
        decode_into(&header, &jpeg, 0, &mut frame).unwrap();
        let [r, g, b] = frame.pixel(10, 10);
        assert!(r.abs_diff(200) < 8 && g.abs_diff(100) < 8 && b.abs_diff(50) < 8);
        let wrong = FrameHeader {
            width: 30,
            ..header
        };
        assert!(matches!(
            decode_into(&wrong, &jpeg, 0, &mut frame),
            Err(PixelError::SizeMismatch { .. })
        ));
        assert!(matches!(
            decode_into(&header, b"not a jpeg", 0, &mut frame),
            Err(PixelError::Jpeg(_))
        ));
    }
}
