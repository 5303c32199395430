//! Frame sources: MP4/MOV + H.264, Y4M, the ffmpeg pipe, image frames.

use std::cell::RefCell;
use std::io::{Cursor, Read};
use std::path::Path;

use microcue_vision::Frame;
use microcue_vision::source::{
    FfmpegSource, FrameSource, ImageDirSource, MAX_FRAME_PIXELS, Mp4Source, Y4mSource,
};

use crate::checks::check_error;

/// Frames decoded per input at most: a file can list one stored frame many times (a sample
/// table is cheaper than the frames it points at), which costs time in proportion, not memory.
const MAX_FRAMES: u64 = 1000;
/// Pixels decoded per input at most, for the same reason.
const MAX_PIXELS: u64 = 50_000_000;

/// Reads every frame of `source` (up to the budgets above), checking what
/// [`FrameSource::next_frame`] promises: a frame buffer of the frame's size within the frame
/// limits, finite non-decreasing times, consecutive indexes, an error that names the input,
/// and nothing after an error.
fn drain(mut source: impl FrameSource, input: &str) {
    let mut frame = Frame::default();
    let mut previous_pts_s = f64::NEG_INFINITY;
    let mut yielded = 0u64;
    let mut pixels = 0u64;
    loop {
        match source.next_frame(&mut frame) {
            Ok(true) => {
                let frame_pixels = u64::from(frame.width) * u64::from(frame.height);
                assert!(frame_pixels > 0, "an empty frame");
                assert!(
                    frame_pixels <= MAX_FRAME_PIXELS,
                    "a {}x{} frame, over the frame limit",
                    frame.width,
                    frame.height
                );
                assert_eq!(
                    frame.rgb.len() as u64,
                    frame_pixels * 3,
                    "frame buffer size"
                );
                assert!(
                    frame.pts_s.is_finite() && frame.pts_s >= previous_pts_s,
                    "frame {yielded} at {} s after {previous_pts_s} s",
                    frame.pts_s
                );
                assert_eq!(frame.index, yielded, "frame index");
                previous_pts_s = frame.pts_s;
                yielded += 1;
                pixels += frame_pixels;
                if yielded >= MAX_FRAMES || pixels >= MAX_PIXELS {
                    return;
                }
            }
            Ok(false) => break,
            Err(error) => {
                check_error(&error, input);
                assert!(
                    matches!(source.next_frame(&mut frame), Ok(false)),
                    "a source gave more after an error"
                );
                return;
            }
        }
    }
    assert!(
        matches!(source.next_frame(&mut frame), Ok(false)),
        "a source gave more after its end"
    );
}

/// MP4/MOV demuxing and H.264 decoding ([`Mp4Source`]), as `microcue analyze clip.mp4`.
pub fn mp4(data: &[u8]) {
    const NAME: &str = "fuzz.mp4";
    match Mp4Source::from_bytes(NAME, data.to_vec()) {
        Ok(source) => drain(source, NAME),
        Err(error) => check_error(&error, NAME),
    }
}

/// A Y4M file ([`Y4mSource`]), as `microcue analyze clip.y4m`.
pub fn y4m(data: &[u8]) {
    const NAME: &str = "fuzz.y4m";
    match Y4mSource::from_reader(NAME, Cursor::new(data.to_vec())) {
        Ok(source) => drain(source, NAME),
        Err(error) => check_error(&error, NAME),
    }
}

/// A pipe: hands out at most `chunk` bytes per read and, when `interrupt` is set, an
/// `Interrupted` error before every other read (what a signal does to a pipe read).
struct Pipe {
    bytes: Cursor<Vec<u8>>,
    chunk: usize,
    interrupt: bool,
    reads: u64,
}

impl Read for Pipe {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        self.reads += 1;
        if self.interrupt && self.reads.is_multiple_of(2) {
            return Err(std::io::ErrorKind::Interrupted.into());
        }
        let len = buffer.len().min(self.chunk);
        self.bytes.read(&mut buffer[..len])
    }
}

/// The ffmpeg pipe reader ([`FfmpegSource::from_streams`]): ffmpeg's Y4M arriving through a
/// pipe in pieces, ffprobe's stream facts and per-frame times. The input is what
/// [`encode_pipe_input`] writes.
pub fn ffmpeg_pipe(data: &[u8]) {
    const NAME: &str = "fuzz.mov";
    let Some((first, rest)) = data.split_first() else {
        return;
    };
    let (probe, rest) = take_field(rest);
    let (pts, y4m) = take_field(rest);
    let pipe = Pipe {
        bytes: Cursor::new(y4m.to_vec()),
        chunk: usize::from(first & 0x7f) + 1,
        interrupt: first & 0x80 != 0,
        reads: 0,
    };
    let pts: Option<Box<dyn Read + Send>> =
        (!pts.is_empty()).then(|| Box::new(Cursor::new(pts.to_vec())) as Box<dyn Read + Send>);
    match FfmpegSource::from_streams(NAME, pipe, probe, pts) {
        Ok(source) => {
            let info = source.info();
            assert!(
                info.nominal_fps
                    .is_none_or(|fps| fps.is_finite() && fps > 0.0),
                "a nominal rate of {:?}",
                info.nominal_fps
            );
            assert!(
                info.duration_s
                    .is_none_or(|duration| duration.is_finite() && duration > 0.0),
                "a duration of {:?}",
                info.duration_s
            );
            drain(source, NAME);
        }
        Err(error) => check_error(&error, NAME),
    }
}

/// A field of [`ffmpeg_pipe`]'s input: a little-endian u16 length, then that many bytes (fewer
/// when the input ends).
fn take_field(data: &[u8]) -> (&[u8], &[u8]) {
    let (len, rest) = match data {
        [low, high, rest @ ..] => (usize::from(u16::from_le_bytes([*low, *high])), rest),
        _ => return (&[], &[]),
    };
    rest.split_at(len.min(rest.len()))
}

/// Writes an [`ffmpeg_pipe`] input: the pipe's read size (1 to 128 bytes), whether reads are
/// interrupted, ffprobe's `key=value` stream facts and `pts_time` lines (each at most 65535
/// bytes), and ffmpeg's Y4M output.
pub fn encode_pipe_input(
    chunk: u8,
    interrupt: bool,
    probe: &[u8],
    pts: &[u8],
    y4m: &[u8],
) -> Vec<u8> {
    let mut input = vec![(chunk.clamp(1, 128) - 1) | if interrupt { 0x80 } else { 0 }];
    for field in [probe, pts] {
        let len = u16::try_from(field.len()).unwrap_or(u16::MAX);
        input.extend_from_slice(&len.to_le_bytes());
        input.extend_from_slice(&field[..usize::from(len)]);
    }
    input.extend_from_slice(y4m);
    input
}

thread_local! {
    /// The image folder of [`image_frame`], one per thread.
    static IMAGE_FOLDER: RefCell<Option<tempfile::TempDir>> = const { RefCell::new(None) };
}

/// One frame of an image folder ([`ImageDirSource`]), as `microcue analyze frames/ --fps 30`:
/// the input is written as the folder's only frame.
pub fn image_frame(data: &[u8]) {
    IMAGE_FOLDER.with(|folder| {
        let mut folder = folder.borrow_mut();
        if folder.is_none() {
            *folder = Some(tempfile::tempdir().expect("a temporary folder"));
        }
        let dir = folder.as_ref().expect("just made").path();
        let frame_path = dir.join("frame_0001.png");
        std::fs::write(&frame_path, data).expect("the frame file is written");
        read_image_folder(dir);
    });
}

fn read_image_folder(dir: &Path) {
    // Errors name the folder, or the frame file within it.
    let name = dir.to_string_lossy();
    match ImageDirSource::open(dir, 30.0) {
        Ok(source) => drain(source, &name),
        Err(error) => check_error(&error, &name),
    }
}
