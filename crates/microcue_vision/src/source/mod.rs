//! Frame sources: everything that turns a file, a folder or a pipe into a sequence of RGB
//! [`Frame`]s with presentation times.
//!
//! | input | reader | timestamps |
//! |---|---|---|
//! | `.mp4` / `.mov` / `.m4v` with H.264 | [`Mp4Source`]: `re_mp4` demux + `openh264` | container (composition offsets, edit list) |
//! | a folder of JPEG/PNG/BMP frames | [`ImageDirSource`] (natural name order) | `index / fps`, fps required |
//! | `.y4m`, or `-` for Y4M on stdin | [`Y4mSource`] | the header's frame rate |
//! | anything else, HEVC/AV1/VP9 MP4s | [`FfmpegSource`] when `ffmpeg` is on `PATH` | `ffprobe` per frame |
//!
//! Every source fills a caller-owned [`Frame`], so the pixel buffer is reused from frame to
//! frame, and never assumes a constant frame rate when the container knows better.
//!
//! ```no_run
//! use microcue_vision::Frame;
//! use microcue_vision::source::{open_source, SourceSpec};
//!
//! let mut source = open_source(&SourceSpec::new("clip.mp4"))?;
//! let mut frame = Frame::default();
//! while source.next_frame(&mut frame)? {
//!     println!("{:.3} s: {}x{}", frame.pts_s, frame.width, frame.height);
//! }
//! # Ok::<(), microcue_vision::source::SourceError>(())
//! ```

mod ffmpeg;
mod image_dir;
mod mp4;
mod y4m;
mod yuv;

#[cfg(test)]
mod tests;

use std::fmt;
use std::path::{Path, PathBuf};

pub use ffmpeg::{FfmpegSource, ffmpeg_available, ffprobe_available};
pub use image_dir::ImageDirSource;
pub use mp4::Mp4Source;
pub use y4m::{Y4mSource, Y4mWriter};

use microcue_core::numeric::{EvenMedian, median};

use crate::Frame;

/// Largest frame read, in pixels: H.264 level 5.2's largest picture (4096x2304, 4K UHD fits),
/// the most openh264 decodes. Every source checks a frame's size against it before allocating.
pub const MAX_FRAME_PIXELS: u64 = 4096 * 2304;
/// Longest frame side read, in pixels.
pub const MAX_FRAME_SIDE: u32 = 8192;

/// A sequence of decoded frames.
pub trait FrameSource: Send {
    /// Decodes the next frame into `frame` (reusing its buffer). Returns `Ok(false)` at the end.
    ///
    /// Frames come out in presentation order with non-decreasing `pts_s`; `frame.index` counts
    /// the frames yielded so far. After an error the source is finished: frames already yielded
    /// stay valid and later calls return `Ok(false)`.
    fn next_frame(&mut self, frame: &mut Frame) -> Result<bool, SourceError>;

    /// What the source is: name, size, frame count and rate when known.
    fn info(&self) -> &SourceInfo;
}

impl fmt::Debug for dyn FrameSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FrameSource")
            .field("info", self.info())
            .finish_non_exhaustive()
    }
}

impl FrameSource for Box<dyn FrameSource> {
    fn next_frame(&mut self, frame: &mut Frame) -> Result<bool, SourceError> {
        (**self).next_frame(frame)
    }

    fn info(&self) -> &SourceInfo {
        (**self).info()
    }
}

/// What to open and how.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceSpec {
    /// A file, a folder of image frames, or `-` for a Y4M stream on stdin.
    pub input: PathBuf,
    /// Frame rate of an image folder (required there, ignored elsewhere: files carry their own
    /// timestamps).
    pub fps: Option<f64>,
    /// Whether the `ffmpeg` CLI may be used for inputs microcue cannot decode natively.
    pub allow_ffmpeg: bool,
}

impl SourceSpec {
    /// A spec for `input` with no fps and ffmpeg allowed.
    pub fn new(input: impl Into<PathBuf>) -> Self {
        Self {
            input: input.into(),
            fps: None,
            allow_ffmpeg: true,
        }
    }

    /// Sets the frame rate of an image folder.
    #[must_use]
    pub fn with_fps(mut self, fps: f64) -> Self {
        self.fps = Some(fps);
        self
    }

    /// Allows or forbids the `ffmpeg` fallback.
    #[must_use]
    pub fn with_ffmpeg(mut self, allow_ffmpeg: bool) -> Self {
        self.allow_ffmpeg = allow_ffmpeg;
        self
    }

    /// True when the input is `-` (Y4M on stdin).
    pub fn is_stdin(&self) -> bool {
        self.input.as_os_str() == "-"
    }
}

/// Which reader produces the frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// H.264 in MP4/MOV, decoded natively (`re_mp4` + `openh264`).
    Mp4H264,
    /// A folder of JPEG/PNG/BMP images.
    ImageFolder,
    /// A YUV4MPEG2 file or stream.
    Y4m,
    /// Decoded by the `ffmpeg` CLI, piped as Y4M.
    Ffmpeg,
}

/// Where each frame's `pts_s` comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PtsOrigin {
    /// The container's own per-frame timestamps (variable frame rate honoured).
    Container,
    /// Evenly spaced at a fixed rate the format declares (Y4M header) or the user gave (image
    /// folders).
    FixedRate,
    /// `ffprobe`'s per-frame presentation times (variable frame rate honoured).
    Ffprobe,
    /// `ffprobe` was unavailable or stopped early: evenly spaced at the stream's nominal rate,
    /// which is wrong for variable-frame-rate video.
    NominalFallback,
}

/// Facts about a source, known when it is opened.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceInfo {
    /// The input path, or `stdin`.
    pub path: PathBuf,
    /// Short name for display (file name).
    pub name: String,
    /// Frame width in pixels.
    pub width: u32,
    /// Frame height in pixels.
    pub height: u32,
    /// Number of frames that will be yielded, when known in advance (exact for the native
    /// readers; for the ffmpeg pipe, the container's count, which an edit list can trim).
    pub frame_count: Option<u64>,
    /// Presentation duration in seconds, when known.
    pub duration_s: Option<f64>,
    /// Typical frame rate (median frame interval for variable-rate files), when known.
    pub nominal_fps: Option<f64>,
    /// Which reader is used.
    pub kind: SourceKind,
    /// Codec or pixel format, e.g. `h264`, `hevc`, `png`, `C420jpeg`.
    pub codec: String,
    /// Where frame timestamps come from.
    pub pts_origin: PtsOrigin,
}

impl SourceInfo {
    fn new(path: &Path, kind: SourceKind, codec: impl Into<String>, pts_origin: PtsOrigin) -> Self {
        Self {
            path: path.to_path_buf(),
            name: display_name(path),
            width: 0,
            height: 0,
            frame_count: None,
            duration_s: None,
            nominal_fps: None,
            kind,
            codec: codec.into(),
            pts_origin,
        }
    }
}

fn display_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Errors from opening or reading a frame source.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The input could not be opened or read.
    #[error("cannot read `{path}`")]
    Io {
        /// The input.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The input does not exist.
    #[error("`{path}` does not exist")]
    NotFound {
        /// The input.
        path: PathBuf,
    },
    /// The MP4/MOV structure is unreadable (not an MP4, truncated before its index, corrupt).
    #[error("`{path}` is not a readable MP4/MOV file: {reason}")]
    Container {
        /// The input.
        path: PathBuf,
        /// What is wrong, with a hint.
        reason: String,
    },
    /// The container has no video track.
    #[error("`{path}` has no video track")]
    NoVideoTrack {
        /// The input.
        path: PathBuf,
    },
    /// The video needs a codec microcue does not decode natively and ffmpeg is unavailable.
    #[error(
        "`{path}` is {codec}; microcue decodes H.264 natively; install ffmpeg \
         (`apt-get install ffmpeg` / `brew install ffmpeg`) to read it"
    )]
    NeedsFfmpeg {
        /// The input.
        path: PathBuf,
        /// The codec found (e.g. `HEVC`).
        codec: String,
    },
    /// A frame could not be decoded. Frames before `frame_index` were yielded normally.
    #[error("cannot decode frame {frame_index} of `{path}`")]
    Decode {
        /// The input.
        path: PathBuf,
        /// Zero-based index of the failing frame (decode order for MP4 samples).
        frame_index: u64,
        /// What went wrong.
        #[source]
        source: DecodeFailure,
    },
    /// An image folder was given without a frame rate.
    #[error("image folders need --fps (the rate the frames were captured at): `{path}`")]
    MissingFps {
        /// The folder.
        path: PathBuf,
    },
    /// A frame rate that is not a positive finite number.
    #[error("invalid frame rate {fps} for `{path}`: it must be a positive number")]
    InvalidFps {
        /// The input.
        path: PathBuf,
        /// The rejected value.
        fps: f64,
    },
    /// An image folder without any JPEG/PNG/BMP file.
    #[error("`{path}` contains no .jpg/.jpeg/.png/.bmp frames")]
    EmptyFolder {
        /// The folder.
        path: PathBuf,
    },
    /// A Y4M stream whose header cannot be used.
    #[error("`{path}` is not a usable Y4M stream: {reason}")]
    Y4mHeader {
        /// The input (or `stdin`).
        path: PathBuf,
        /// What is wrong, with a hint.
        reason: String,
    },
    /// The `ffmpeg` pipe failed.
    #[error("ffmpeg could not read `{path}`: {message}")]
    Ffmpeg {
        /// The input.
        path: PathBuf,
        /// ffmpeg's own error output (trimmed) or the spawn error.
        message: String,
    },
    /// Frames larger than [`MAX_FRAME_PIXELS`] or [`MAX_FRAME_SIDE`].
    #[error(
        "`{path}` has {width}x{height} frames; microcue reads frames up to 4096x2304 pixels \
         (8192 on a side)\nhint: scale it down first, e.g. \
         `ffmpeg -i IN -vf scale=-2:1080 OUT.mp4`"
    )]
    FrameTooLarge {
        /// The input.
        path: PathBuf,
        /// Declared frame width.
        width: u64,
        /// Declared frame height.
        height: u64,
    },
    /// A format microcue does not read natively, with ffmpeg unavailable or disallowed.
    #[error(
        "`{path}` is not a format microcue reads natively (MP4/MOV H.264, Y4M, image folders); \
         install ffmpeg (`apt-get install ffmpeg` / `brew install ffmpeg`) to read it"
    )]
    UnsupportedFormat {
        /// The input.
        path: PathBuf,
    },
}

/// Why one frame could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum DecodeFailure {
    /// The frame's bytes lie beyond the end of the file.
    #[error(
        "its {size_bytes} bytes at offset {offset_bytes} run past the end of the file \
         ({file_len_bytes} bytes): the file is truncated"
    )]
    Truncated {
        /// Where the sample starts.
        offset_bytes: u64,
        /// Sample size.
        size_bytes: u64,
        /// File length.
        file_len_bytes: u64,
    },
    /// A length-prefixed NAL unit overruns its sample.
    #[error("a NAL unit of {nal_len_bytes} bytes overruns its {sample_len_bytes}-byte sample")]
    BadNalLength {
        /// Declared NAL length.
        nal_len_bytes: u64,
        /// Sample length.
        sample_len_bytes: u64,
    },
    /// The H.264 decoder rejected the bitstream.
    #[error("the H.264 decoder reported {} (openh264 state {state:#x})", describe_h264_state(.state))]
    H264 {
        /// openh264's native decoding state bits.
        state: i64,
    },
    /// The decoder returned a picture with no pixels (a corrupt stream).
    #[error("the H.264 decoder returned an empty {width}x{height} picture (corrupt stream?)")]
    EmptyPicture {
        /// Decoded width.
        width: u64,
        /// Decoded height.
        height: u64,
    },
    /// A stream ended in the middle of a frame.
    #[error("the stream ended after {got_bytes} of the frame's {expected_bytes} bytes")]
    ShortFrame {
        /// Bytes read.
        got_bytes: u64,
        /// Bytes a full frame needs.
        expected_bytes: u64,
    },
    /// A Y4M frame header that is not `FRAME`.
    #[error("expected a `FRAME` header, found {found:?}")]
    BadFrameHeader {
        /// The start of what was found.
        found: String,
    },
    /// An image frame could not be decoded.
    #[error("cannot decode image `{path}`")]
    Image {
        /// The image file.
        path: PathBuf,
        /// The decoder error.
        #[source]
        source: image::ImageError,
    },
    /// An image frame whose size differs from the first frame.
    #[error(
        "image `{path}` is {width}x{height}, the folder's first frame is {expected_width}x{expected_height}"
    )]
    SizeChanged {
        /// The image file.
        path: PathBuf,
        /// Its width.
        width: u32,
        /// Its height.
        height: u32,
        /// The first frame's width.
        expected_width: u32,
        /// The first frame's height.
        expected_height: u32,
    },
    /// An image file larger than any frame image microcue reads.
    #[error(
        "image `{path}` is {size_bytes} bytes; a frame image is at most {max_bytes} bytes \
         (is it a frame?)"
    )]
    FileTooLarge {
        /// The image file.
        path: PathBuf,
        /// Its size.
        size_bytes: u64,
        /// The limit.
        max_bytes: u64,
    },
    /// An image pixel format microcue does not convert (floating point).
    #[error("image `{path}` has an unsupported pixel format {color_type:?}")]
    UnsupportedPixels {
        /// The image file.
        path: PathBuf,
        /// The pixel format.
        color_type: image::ColorType,
    },
    /// Reading the frame failed.
    #[error("read error")]
    Io(#[source] std::io::Error),
    /// ffmpeg exited with an error in the middle of the stream.
    #[error("ffmpeg failed: {message}")]
    Ffmpeg {
        /// ffmpeg's error output.
        message: String,
    },
}

/// Human words for openh264's `DECODING_STATE` bits.
fn describe_h264_state(state: &i64) -> String {
    let state = *state;
    const NAMES: [(i64, &str); 10] = [
        (0x01, "a pending frame"),
        (0x02, "a lost reference frame"),
        (0x04, "a bitstream error"),
        (0x08, "a lost dependency layer"),
        (0x10, "missing SPS/PPS parameter sets"),
        (0x20, "a concealed data error"),
        (0x40, "an empty reference list"),
        (0x1000, "an invalid argument"),
        (0x2000, "an uninitialised decoder"),
        (0x4000, "out of memory"),
    ];
    let words: Vec<&str> = NAMES
        .iter()
        .filter(|(bit, _)| state & bit != 0)
        .map(|(_, name)| *name)
        .collect();
    if words.is_empty() {
        "an error".to_owned()
    } else {
        words.join(" and ")
    }
}

fn io_error(path: &Path, source: std::io::Error) -> SourceError {
    if source.kind() == std::io::ErrorKind::NotFound {
        SourceError::NotFound {
            path: path.to_path_buf(),
        }
    } else {
        SourceError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Checks a frame size against [`MAX_FRAME_PIXELS`] and [`MAX_FRAME_SIDE`] (zero sides are
/// the caller's to reject with its own words).
fn check_frame_size(path: &Path, width: u64, height: u64) -> Result<(), SourceError> {
    let side = u64::from(MAX_FRAME_SIDE);
    if width > side || height > side || width * height > MAX_FRAME_PIXELS {
        return Err(SourceError::FrameTooLarge {
            path: path.to_path_buf(),
            width,
            height,
        });
    }
    Ok(())
}

fn check_fps(path: &Path, fps: f64) -> Result<f64, SourceError> {
    if fps.is_finite() && fps > 0.0 {
        Ok(fps)
    } else {
        Err(SourceError::InvalidFps {
            path: path.to_path_buf(),
            fps,
        })
    }
}

/// The container a file's extension or first bytes announce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sniffed {
    Mp4,
    Y4m,
    Other,
}

fn sniff(path: &Path) -> Result<Sniffed, SourceError> {
    let extension = path
        .extension()
        .map(|extension| extension.to_string_lossy().to_ascii_lowercase());
    match extension.as_deref() {
        Some("mp4" | "mov" | "m4v" | "qt") => return Ok(Sniffed::Mp4),
        Some("y4m") => return Ok(Sniffed::Y4m),
        _ => {}
    }
    let mut head = [0u8; 12];
    let mut file = std::fs::File::open(path).map_err(|source| io_error(path, source))?;
    let mut filled = 0;
    while filled < head.len() {
        match std::io::Read::read(&mut file, &mut head[filled..]) {
            Ok(0) => break,
            Ok(count) => filled += count,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(source) => return Err(io_error(path, source)),
        }
    }
    let head = &head[..filled];
    if head.starts_with(b"YUV4MPEG2") {
        Ok(Sniffed::Y4m)
    } else if head.len() >= 8
        && matches!(&head[4..8], b"ftyp" | b"moov" | b"mdat" | b"wide" | b"free")
    {
        Ok(Sniffed::Mp4)
    } else {
        Ok(Sniffed::Other)
    }
}

/// Opens the right reader for `spec`: MP4/MOV H.264 natively (other codecs through ffmpeg),
/// image folders (fps required), Y4M files, `-` for Y4M on stdin, anything else through ffmpeg
/// when it is on `PATH` and allowed.
pub fn open_source(spec: &SourceSpec) -> Result<Box<dyn FrameSource>, SourceError> {
    if spec.is_stdin() {
        let stdin = std::io::stdin();
        return Ok(Box::new(Y4mSource::from_reader("stdin", stdin)?));
    }
    let path = spec.input.as_path();
    let metadata = std::fs::metadata(path).map_err(|source| io_error(path, source))?;
    if metadata.is_dir() {
        let Some(fps) = spec.fps else {
            return Err(SourceError::MissingFps {
                path: path.to_path_buf(),
            });
        };
        return Ok(Box::new(ImageDirSource::open(path, fps)?));
    }
    match sniff(path)? {
        Sniffed::Y4m => Ok(Box::new(Y4mSource::open(path)?)),
        Sniffed::Mp4 => match Mp4Source::open(path) {
            Ok(source) => Ok(Box::new(source)),
            Err(SourceError::NeedsFfmpeg { path, codec }) => {
                if spec.allow_ffmpeg && ffmpeg_available() {
                    Ok(Box::new(FfmpegSource::open(&path)?))
                } else {
                    Err(SourceError::NeedsFfmpeg { path, codec })
                }
            }
            Err(error) => Err(error),
        },
        Sniffed::Other => {
            if spec.allow_ffmpeg && ffmpeg_available() {
                Ok(Box::new(FfmpegSource::open(path)?))
            } else {
                Err(SourceError::UnsupportedFormat {
                    path: path.to_path_buf(),
                })
            }
        }
    }
}

/// Median of the gaps between consecutive timestamps, as a rate; `None` for fewer than two.
fn median_rate(pts_s: impl Iterator<Item = f64>) -> Option<f64> {
    let mut previous: Option<f64> = None;
    let mut gaps_s: Vec<f64> = Vec::new();
    for pts in pts_s {
        if let Some(previous) = previous {
            let gap = pts - previous;
            if gap > 0.0 {
                gaps_s.push(gap);
            }
        }
        previous = Some(pts);
    }
    median(&mut gaps_s, EvenMedian::Upper).map(|gap_s| 1.0 / gap_s)
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Mp4H264 => "MP4/MOV (H.264, native)",
            Self::ImageFolder => "image folder",
            Self::Y4m => "Y4M",
            Self::Ffmpeg => "ffmpeg pipe",
        })
    }
}
