//! YUV4MPEG2 (Y4M): a reader for files, stdin and the ffmpeg pipe, and a writer.
//!
//! Y4M is a text header (`YUV4MPEG2 W640 H360 F30:1 Ip A1:1 C420jpeg`) followed by frames,
//! each a `FRAME` line and raw planar YUV. The reader accepts 4:2:0 (every siting), 4:2:2,
//! 4:4:4 (with or without alpha) and mono, 8 to 16 bits; frames are evenly spaced at the
//! header's rate. The writer emits 8-bit 4:2:0 (`C420jpeg`), which every tool reads.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;

use super::yuv::{Chroma, YuvImage, YuvRange, rgb_to_yuv420, yuv_to_rgb};
use super::{
    DecodeFailure, FrameSource, PtsOrigin, SourceError, SourceInfo, SourceKind, check_frame_size,
    io_error,
};
use crate::Frame;

/// Longest header line accepted.
const MAX_HEADER_BYTES: u64 = 4096;
/// Longest per-frame header line accepted.
const MAX_FRAME_HEADER_BYTES: u64 = 1024;

/// The stream format declared by a Y4M header.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Y4mFormat {
    width: usize,
    height: usize,
    chroma: Chroma,
    bit_depth: u32,
    has_alpha: bool,
    range: YuvRange,
    frame_rate: (u32, u32),
}

impl Y4mFormat {
    fn bytes_per_sample(&self) -> usize {
        if self.bit_depth > 8 { 2 } else { 1 }
    }

    /// Samples per frame in the file: luma, two chroma planes, optional alpha.
    fn samples_per_frame(&self) -> usize {
        let (chroma_width, chroma_height) = self.chroma.plane_size(self.width, self.height);
        let luma = self.width * self.height;
        luma + 2 * chroma_width * chroma_height + if self.has_alpha { luma } else { 0 }
    }

    fn frame_bytes(&self) -> usize {
        self.samples_per_frame() * self.bytes_per_sample()
    }
}

/// Frames from a Y4M file or stream.
pub struct Y4mSource {
    info: SourceInfo,
    reader: BufReader<Box<dyn Read + Send>>,
    format: Y4mFormat,
    line: Vec<u8>,
    raw: Vec<u8>,
    /// 8-bit planes when the stream has more than 8 bits per sample.
    narrowed: Vec<u8>,
    next_index: u64,
    finished: bool,
}

impl std::fmt::Debug for Y4mSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Y4mSource")
            .field("info", &self.info)
            .field("format", &self.format)
            .field("next_index", &self.next_index)
            .finish_non_exhaustive()
    }
}

impl Y4mSource {
    /// Opens a `.y4m` file.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, SourceError> {
        let path = path.as_ref();
        let file = std::fs::File::open(path).map_err(|source| io_error(path, source))?;
        Self::from_boxed(path, Box::new(file))
    }

    /// Reads a Y4M stream from `reader` (e.g. stdin); `name` stands for its path in messages.
    pub fn from_reader(
        name: &str,
        reader: impl Read + Send + 'static,
    ) -> Result<Self, SourceError> {
        Self::from_boxed(Path::new(name), Box::new(reader))
    }

    /// The header's frame rate as (numerator, denominator).
    pub fn frame_rate(&self) -> (u32, u32) {
        self.format.frame_rate
    }

    pub(crate) fn from_boxed(
        path: &Path,
        reader: Box<dyn Read + Send>,
    ) -> Result<Self, SourceError> {
        let mut reader = BufReader::with_capacity(1 << 16, reader);
        let mut line = Vec::new();
        (&mut reader)
            .take(MAX_HEADER_BYTES)
            .read_until(b'\n', &mut line)
            .map_err(|source| io_error(path, source))?;
        let format = parse_header(&line).map_err(|reason| SourceError::Y4mHeader {
            path: path.to_path_buf(),
            reason,
        })?;
        check_frame_size(path, format.width as u64, format.height as u64)?;
        let (numerator, denominator) = format.frame_rate;
        let fps = f64::from(numerator) / f64::from(denominator);
        let codec = header_token(&line, b'C').unwrap_or_else(|| "420jpeg".to_owned());
        let mut info = SourceInfo::new(
            path,
            SourceKind::Y4m,
            format!("C{codec}"),
            PtsOrigin::FixedRate,
        );
        info.width = format.width as u32;
        info.height = format.height as u32;
        info.nominal_fps = Some(fps);
        Ok(Self {
            info,
            reader,
            format,
            line,
            raw: Vec::new(),
            narrowed: Vec::new(),
            next_index: 0,
            finished: false,
        })
    }

    fn decode_error(&self, source: DecodeFailure) -> SourceError {
        SourceError::Decode {
            path: self.info.path.clone(),
            frame_index: self.next_index,
            source,
        }
    }

    fn advance(&mut self, frame: &mut Frame) -> Result<bool, SourceError> {
        self.line.clear();
        (&mut self.reader)
            .take(MAX_FRAME_HEADER_BYTES)
            .read_until(b'\n', &mut self.line)
            .map_err(|error| self.decode_error(DecodeFailure::Io(error)))?;
        if self.line.is_empty() {
            return Ok(false);
        }
        if !self.line.starts_with(b"FRAME") || self.line.last() != Some(&b'\n') {
            let shown = &self.line[..self.line.len().min(40)];
            let found = String::from_utf8_lossy(shown).into_owned();
            return Err(self.decode_error(DecodeFailure::BadFrameHeader { found }));
        }
        let frame_bytes = self.format.frame_bytes();
        // The buffer grows with the bytes that arrive, not with what the header declares (a
        // short hostile stream cannot make it allocate a whole frame); once full it is reused.
        self.raw.clear();
        if let Err(error) = (&mut self.reader)
            .take(frame_bytes as u64)
            .read_to_end(&mut self.raw)
        {
            return Err(self.decode_error(DecodeFailure::Io(error)));
        }
        if self.raw.len() < frame_bytes {
            return Err(self.decode_error(DecodeFailure::ShortFrame {
                got_bytes: self.raw.len() as u64,
                expected_bytes: frame_bytes as u64,
            }));
        }
        let format = self.format;
        let planes: &[u8] = if format.bit_depth > 8 {
            let shift = format.bit_depth - 8;
            self.narrowed.clear();
            self.narrowed.extend(self.raw.chunks_exact(2).map(|sample| {
                (u16::from_le_bytes([sample[0], sample[1]]) >> shift).min(255) as u8
            }));
            &self.narrowed
        } else {
            &self.raw
        };
        let luma = format.width * format.height;
        let (chroma_width, chroma_height) = format.chroma.plane_size(format.width, format.height);
        let chroma = chroma_width * chroma_height;
        let image = YuvImage {
            y: &planes[..luma],
            u: &planes[luma..luma + chroma],
            v: &planes[luma + chroma..luma + 2 * chroma],
            chroma: format.chroma,
            range: format.range,
            width: format.width,
            height: format.height,
        };
        frame.resize(format.width as u32, format.height as u32);
        yuv_to_rgb(&image, &mut frame.rgb);
        let (numerator, denominator) = format.frame_rate;
        frame.pts_s = self.next_index as f64 * f64::from(denominator) / f64::from(numerator);
        frame.index = self.next_index;
        self.next_index += 1;
        Ok(true)
    }
}

impl FrameSource for Y4mSource {
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

/// The value of the first header token starting with `tag` (after the magic).
fn header_token(line: &[u8], tag: u8) -> Option<String> {
    let text = std::str::from_utf8(line).ok()?;
    text.trim_end()
        .split(' ')
        .skip(1)
        .find(|token| token.as_bytes().first() == Some(&tag))
        .map(|token| token[1..].to_owned())
}

const CONVERT_HINT: &str =
    "convert it with `ffmpeg -i IN -f yuv4mpegpipe -pix_fmt yuv420p OUT.y4m`";

fn parse_header(line: &[u8]) -> Result<Y4mFormat, String> {
    if line.is_empty() {
        return Err("the stream is empty (no `YUV4MPEG2` header)".to_owned());
    }
    if !line.starts_with(b"YUV4MPEG2") {
        return Err(
            "it does not start with `YUV4MPEG2`; to pipe a video in, use \
                    `ffmpeg -i IN -f yuv4mpegpipe -pix_fmt yuv420p -`"
                .to_owned(),
        );
    }
    if line.last() != Some(&b'\n') {
        return Err("the header line is cut off or too long".to_owned());
    }
    let text = std::str::from_utf8(line).map_err(|_| "the header is not text".to_owned())?;
    let mut width = None;
    let mut height = None;
    let mut frame_rate = None;
    let mut colorspace = "420jpeg";
    let mut range = YuvRange::Limited;
    for token in text
        .trim_end()
        .split(' ')
        .skip(1)
        .filter(|token| !token.is_empty())
    {
        // A token that starts with a multi-byte character has no tag microcue knows.
        let Some((tag, value)) = token.split_at_checked(1) else {
            continue;
        };
        match tag {
            "W" => width = value.parse::<u32>().ok(),
            "H" => height = value.parse::<u32>().ok(),
            "F" => {
                let (numerator, denominator) = value.split_once(':').unwrap_or((value, "1"));
                frame_rate = numerator
                    .parse::<u32>()
                    .ok()
                    .zip(denominator.parse::<u32>().ok())
                    .filter(|&(numerator, denominator)| numerator > 0 && denominator > 0);
                if frame_rate.is_none() {
                    return Err(format!("bad frame rate `F{value}`"));
                }
            }
            "C" => colorspace = value,
            "X" => {
                if let Some(declared) = value.strip_prefix("COLORRANGE=") {
                    range = if declared.eq_ignore_ascii_case("FULL") {
                        YuvRange::Full
                    } else {
                        YuvRange::Limited
                    };
                }
            }
            _ => {}
        }
    }
    let (Some(width), Some(height)) = (width, height) else {
        return Err("the header lacks a valid width (`W`) or height (`H`)".to_owned());
    };
    if width == 0 || height == 0 {
        return Err(format!("unusable frame size {width}x{height}"));
    }
    let Some(frame_rate) = frame_rate else {
        return Err("the header lacks a frame rate (`F`)".to_owned());
    };
    let (chroma, bit_depth, has_alpha) = parse_colorspace(colorspace)
        .ok_or_else(|| format!("colour space `C{colorspace}` is not supported; {CONVERT_HINT}"))?;
    Ok(Y4mFormat {
        width: width as usize,
        height: height as usize,
        chroma,
        bit_depth,
        has_alpha,
        range,
        frame_rate,
    })
}

/// `C` values: 420jpeg/420paldv/420mpeg2/420, 422, 444, 444alpha, mono, and `p9`..`p16`
/// (or `mono9`..`mono16`) high-bit-depth forms.
fn parse_colorspace(value: &str) -> Option<(Chroma, u32, bool)> {
    match value {
        "420jpeg" | "420paldv" | "420mpeg2" | "420" => return Some((Chroma::Sub420, 8, false)),
        "422" => return Some((Chroma::Sub422, 8, false)),
        "444" => return Some((Chroma::Sub444, 8, false)),
        "444alpha" => return Some((Chroma::Sub444, 8, true)),
        "mono" => return Some((Chroma::Mono, 8, false)),
        _ => {}
    }
    let (chroma, depth) = if let Some(depth) = value.strip_prefix("mono") {
        (Chroma::Mono, depth)
    } else {
        let (layout, depth) = value.split_once('p')?;
        let chroma = match layout {
            "420" => Chroma::Sub420,
            "422" => Chroma::Sub422,
            "444" => Chroma::Sub444,
            _ => return None,
        };
        (chroma, depth)
    };
    let bit_depth: u32 = depth.parse().ok()?;
    (9..=16)
        .contains(&bit_depth)
        .then_some((chroma, bit_depth, false))
}

/// Writes RGB frames as an 8-bit 4:2:0 Y4M stream (`C420jpeg`, limited-range BT.601).
pub struct Y4mWriter<W: Write> {
    inner: W,
    width: u32,
    height: u32,
    planes: Vec<u8>,
    frames_written: u64,
}

impl<W: Write> Y4mWriter<W> {
    /// Writes the header for `width` x `height` frames at `fps_numerator / fps_denominator`
    /// frames per second.
    pub fn new(
        mut inner: W,
        width: u32,
        height: u32,
        fps_numerator: u32,
        fps_denominator: u32,
    ) -> std::io::Result<Self> {
        if width == 0 || height == 0 || fps_numerator == 0 || fps_denominator == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "Y4M needs a non-empty frame and a positive rate, got {width}x{height} at \
                     {fps_numerator}/{fps_denominator} fps"
                ),
            ));
        }
        writeln!(
            inner,
            "YUV4MPEG2 W{width} H{height} F{fps_numerator}:{fps_denominator} Ip A1:1 C420jpeg \
             XYSCSS=420JPEG"
        )?;
        let (chroma_width, chroma_height) =
            Chroma::Sub420.plane_size(width as usize, height as usize);
        let planes = vec![0; width as usize * height as usize + 2 * chroma_width * chroma_height];
        Ok(Self {
            inner,
            width,
            height,
            planes,
            frames_written: 0,
        })
    }

    /// Like [`Y4mWriter::new`] with a decimal rate: 29.97 becomes 30000:1001, 25 becomes 25:1.
    pub fn with_fps(inner: W, width: u32, height: u32, fps: f64) -> std::io::Result<Self> {
        let (numerator, denominator) = fps_ratio(fps).ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("invalid frame rate {fps}"),
            )
        })?;
        Self::new(inner, width, height, numerator, denominator)
    }

    /// Appends one frame; it must have the size given at creation.
    pub fn write_frame(&mut self, frame: &Frame) -> std::io::Result<()> {
        let expected_len = self.width as usize * self.height as usize * 3;
        if frame.width != self.width
            || frame.height != self.height
            || frame.rgb.len() != expected_len
        {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "frame {} is {}x{}, the Y4M stream is {}x{}",
                    frame.index, frame.width, frame.height, self.width, self.height
                ),
            ));
        }
        let (width, height) = (self.width as usize, self.height as usize);
        let (chroma_width, chroma_height) = Chroma::Sub420.plane_size(width, height);
        let chroma = chroma_width * chroma_height;
        let (y_plane, chroma_planes) = self.planes.split_at_mut(width * height);
        let (u_plane, v_plane) = chroma_planes.split_at_mut(chroma);
        rgb_to_yuv420(&frame.rgb, width, height, y_plane, u_plane, v_plane);
        self.inner.write_all(b"FRAME\n")?;
        self.inner.write_all(&self.planes)?;
        self.frames_written += 1;
        Ok(())
    }

    /// Frames written so far.
    pub fn frames_written(&self) -> u64 {
        self.frames_written
    }

    /// Flushes and returns the inner writer.
    pub fn finish(mut self) -> std::io::Result<W> {
        self.inner.flush()?;
        Ok(self.inner)
    }
}

/// A rational frame rate close to `fps` (NTSC rates become `N*1000:1001`).
fn fps_ratio(fps: f64) -> Option<(u32, u32)> {
    if !fps.is_finite() || fps <= 0.0 || fps > 1_000_000.0 {
        return None;
    }
    if (fps - fps.round()).abs() < 1e-9 {
        return Some((fps.round() as u32, 1));
    }
    let ntsc = fps * 1001.0 / 1000.0;
    if (ntsc - ntsc.round()).abs() < 1e-3 {
        return Some((ntsc.round() as u32 * 1000, 1001));
    }
    Some(((fps * 1000.0).round() as u32, 1000))
}
