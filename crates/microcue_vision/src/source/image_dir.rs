//! A folder of JPEG/PNG/BMP frames, as research data sets ship video.
//!
//! Files are taken in natural name order (`frame2` before `frame10`), every frame must have
//! the first frame's size, and timestamps are `index / fps` with the rate the user gives
//! (a folder has no clock of its own). Each image decodes into a reused buffer.

use std::cmp::Ordering;
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};

use image::{ColorType, ImageDecoder, ImageReader, Limits};

use super::{
    DecodeFailure, FrameSource, MAX_FRAME_PIXELS, MAX_FRAME_SIDE, PtsOrigin, SourceError,
    SourceInfo, SourceKind, check_fps, check_frame_size, io_error,
};
use crate::Frame;

const FRAME_EXTENSIONS: [&str; 4] = ["jpg", "jpeg", "png", "bmp"];

/// Decoder limits: the frame size limits, and working memory for the largest frame in the
/// widest pixel format (16-bit RGBA) with room for the decoder's own buffers.
fn limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_FRAME_SIDE);
    limits.max_image_height = Some(MAX_FRAME_SIDE);
    limits.max_alloc = Some(MAX_FRAME_PIXELS * 8 * 3);
    limits
}

/// Largest frame file read: an uncompressed 16-bit RGBA frame of the largest size, with room
/// for metadata.
const MAX_IMAGE_FILE_BYTES: u64 = MAX_FRAME_PIXELS * 8 + (16 << 20);

/// Frames read from the image files of one folder.
#[derive(Debug)]
pub struct ImageDirSource {
    info: SourceInfo,
    files: Vec<PathBuf>,
    fps: f64,
    next: usize,
    file_bytes: Vec<u8>,
    decoded: Vec<u8>,
    finished: bool,
}

impl ImageDirSource {
    /// Lists the folder's `.jpg/.jpeg/.png/.bmp` files (natural order) and reads the first
    /// one's size; `fps` is the capture rate.
    pub fn open(dir: impl AsRef<Path>, fps: f64) -> Result<Self, SourceError> {
        let dir = dir.as_ref();
        let fps = check_fps(dir, fps)?;
        let entries = std::fs::read_dir(dir).map_err(|source| io_error(dir, source))?;
        let mut files = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| io_error(dir, source))?;
            let path = entry.path();
            let is_frame = path.extension().is_some_and(|extension| {
                let extension = extension.to_string_lossy().to_ascii_lowercase();
                FRAME_EXTENSIONS.contains(&extension.as_str())
            });
            if is_frame && path.is_file() {
                files.push(path);
            }
        }
        if files.is_empty() {
            return Err(SourceError::EmptyFolder {
                path: dir.to_path_buf(),
            });
        }
        files.sort_by(|a, b| {
            natural_cmp(
                &a.file_name().unwrap_or_default().to_string_lossy(),
                &b.file_name().unwrap_or_default().to_string_lossy(),
            )
        });
        let first = &files[0];
        let mut reader = ImageReader::open(first)
            .map_err(|source| io_error(first, source))?
            .with_guessed_format()
            .map_err(|source| io_error(first, source))?;
        reader.limits(limits());
        let (width, height) = reader
            .into_dimensions()
            .map_err(|source| SourceError::Decode {
                path: dir.to_path_buf(),
                frame_index: 0,
                source: DecodeFailure::Image {
                    path: first.clone(),
                    source,
                },
            })?;
        check_frame_size(first, u64::from(width), u64::from(height))?;
        let codec = first
            .extension()
            .map(|extension| extension.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        let mut info = SourceInfo::new(dir, SourceKind::ImageFolder, codec, PtsOrigin::FixedRate);
        info.width = width;
        info.height = height;
        info.frame_count = Some(files.len() as u64);
        info.duration_s = Some(files.len() as f64 / fps);
        info.nominal_fps = Some(fps);
        Ok(Self {
            info,
            files,
            fps,
            next: 0,
            file_bytes: Vec::new(),
            decoded: Vec::new(),
            finished: false,
        })
    }

    /// The frame files, in the order they are read.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    fn decode_error(&self, source: DecodeFailure) -> SourceError {
        SourceError::Decode {
            path: self.info.path.clone(),
            frame_index: self.next as u64,
            source,
        }
    }

    fn advance(&mut self, frame: &mut Frame) -> Result<bool, SourceError> {
        let Some(path) = self.files.get(self.next) else {
            return Ok(false);
        };
        let image_error = |source| DecodeFailure::Image {
            path: path.clone(),
            source,
        };
        self.file_bytes.clear();
        let read = std::fs::File::open(path).and_then(|file| {
            let len_bytes = file.metadata()?.len();
            // `take` also bounds a file that grows while it is read.
            let read = file
                .take(MAX_IMAGE_FILE_BYTES + 1)
                .read_to_end(&mut self.file_bytes);
            read.map(|_| len_bytes)
        });
        match read {
            Err(error) => return Err(self.decode_error(DecodeFailure::Io(error))),
            Ok(len_bytes) if len_bytes.max(self.file_bytes.len() as u64) > MAX_IMAGE_FILE_BYTES => {
                return Err(self.decode_error(DecodeFailure::FileTooLarge {
                    path: path.clone(),
                    size_bytes: len_bytes.max(self.file_bytes.len() as u64),
                    max_bytes: MAX_IMAGE_FILE_BYTES,
                }));
            }
            Ok(_) => {}
        }
        let decoder = ImageReader::new(Cursor::new(&self.file_bytes[..]))
            .with_guessed_format()
            .map_err(DecodeFailure::Io)
            .and_then(|mut reader| {
                reader.limits(limits());
                reader.into_decoder().map_err(image_error)
            });
        let decoder = match decoder {
            Ok(decoder) => decoder,
            Err(failure) => return Err(self.decode_error(failure)),
        };
        let (width, height) = decoder.dimensions();
        if (width, height) != (self.info.width, self.info.height) {
            return Err(self.decode_error(DecodeFailure::SizeChanged {
                path: path.clone(),
                width,
                height,
                expected_width: self.info.width,
                expected_height: self.info.height,
            }));
        }
        let color_type = decoder.color_type();
        let Ok(total_bytes) = usize::try_from(decoder.total_bytes()) else {
            return Err(self.decode_error(DecodeFailure::UnsupportedPixels {
                path: path.clone(),
                color_type,
            }));
        };
        self.decoded.resize(total_bytes, 0);
        if let Err(error) = decoder.read_image(&mut self.decoded) {
            let failure = image_error(error);
            return Err(self.decode_error(failure));
        }
        frame.resize(width, height);
        if !to_rgb8(color_type, &self.decoded, &mut frame.rgb) {
            return Err(self.decode_error(DecodeFailure::UnsupportedPixels {
                path: path.clone(),
                color_type,
            }));
        }
        frame.pts_s = self.next as f64 / self.fps;
        frame.index = self.next as u64;
        self.next += 1;
        Ok(true)
    }
}

impl FrameSource for ImageDirSource {
    fn next_frame(&mut self, frame: &mut Frame) -> Result<bool, SourceError> {
        if self.finished {
            return Ok(false);
        }
        let result = self.advance(frame);
        if !matches!(result, Ok(true)) {
            self.finished = true;
        }
        result
    }

    fn info(&self) -> &SourceInfo {
        &self.info
    }
}

/// Converts decoded pixels to RGB8 in `rgb` (already sized); 16-bit samples keep their high
/// byte, alpha is dropped. Returns false for floating-point formats.
fn to_rgb8(color_type: ColorType, decoded: &[u8], rgb: &mut [u8]) -> bool {
    let high_byte = |sample: &[u8]| (u16::from_ne_bytes([sample[0], sample[1]]) >> 8) as u8;
    match color_type {
        ColorType::Rgb8 => rgb.copy_from_slice(decoded),
        ColorType::Rgba8 => {
            for (pixel, source) in rgb.chunks_exact_mut(3).zip(decoded.chunks_exact(4)) {
                pixel.copy_from_slice(&source[..3]);
            }
        }
        ColorType::L8 | ColorType::La8 => {
            let stride = if color_type == ColorType::L8 { 1 } else { 2 };
            for (pixel, source) in rgb.chunks_exact_mut(3).zip(decoded.chunks_exact(stride)) {
                pixel.fill(source[0]);
            }
        }
        ColorType::Rgb16 | ColorType::Rgba16 => {
            let stride = if color_type == ColorType::Rgb16 { 6 } else { 8 };
            for (pixel, source) in rgb.chunks_exact_mut(3).zip(decoded.chunks_exact(stride)) {
                for (channel, sample) in pixel.iter_mut().zip(source.chunks_exact(2)) {
                    *channel = high_byte(sample);
                }
            }
        }
        ColorType::L16 | ColorType::La16 => {
            let stride = if color_type == ColorType::L16 { 2 } else { 4 };
            for (pixel, source) in rgb.chunks_exact_mut(3).zip(decoded.chunks_exact(stride)) {
                pixel.fill(high_byte(source));
            }
        }
        _ => return false,
    }
    true
}

/// Orders names the way people number frames: digit runs compare as numbers
/// (`frame2 < frame10`, `img_009 < img_10`), other text byte-wise; ties break on the raw name.
pub(crate) fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut rest_a, mut rest_b) = (a.as_bytes(), b.as_bytes());
    loop {
        match (rest_a.first(), rest_b.first()) {
            (None, None) => return a.cmp(b),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let (digits_a, tail_a) = split_run(rest_a, true);
                let (digits_b, tail_b) = split_run(rest_b, true);
                let trimmed_a = trim_zeros(digits_a);
                let trimmed_b = trim_zeros(digits_b);
                let order = trimmed_a
                    .len()
                    .cmp(&trimmed_b.len())
                    .then_with(|| trimmed_a.cmp(trimmed_b));
                if order != Ordering::Equal {
                    return order;
                }
                (rest_a, rest_b) = (tail_a, tail_b);
            }
            _ => {
                let (text_a, tail_a) = split_run(rest_a, false);
                let (text_b, tail_b) = split_run(rest_b, false);
                let order = text_a.cmp(text_b);
                if order != Ordering::Equal {
                    // One run may be a prefix of the other (`a` vs `ab1`): byte order decides.
                    return order;
                }
                (rest_a, rest_b) = (tail_a, tail_b);
            }
        }
    }
}

/// Splits off the leading run of digits (or of non-digits).
fn split_run(text: &[u8], digits: bool) -> (&[u8], &[u8]) {
    let end = text
        .iter()
        .position(|byte| byte.is_ascii_digit() != digits)
        .unwrap_or(text.len());
    text.split_at(end)
}

fn trim_zeros(digits: &[u8]) -> &[u8] {
    let start = digits
        .iter()
        .position(|&digit| digit != b'0')
        .unwrap_or(digits.len());
    &digits[start..]
}
