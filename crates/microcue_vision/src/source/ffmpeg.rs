//! Anything ffmpeg reads (HEVC phone clips, VP8/VP9, MJPEG, WMV...), through the `ffmpeg` CLI.
//!
//! ffmpeg decodes the first video stream and pipes it as Y4M
//! (`ffmpeg -nostdin -v error -i IN -map 0:v:0 -fps_mode passthrough -f yuv4mpegpipe
//! -pix_fmt yuv420p -`); `-fps_mode passthrough` keeps one output frame per decoded frame
//! (without it ffmpeg duplicates frames of variable-rate clips). The Y4M pipe only carries a
//! constant rate, so real per-frame times come from `ffprobe -show_entries frame=pts_time`,
//! run alongside and read as frames arrive. Without ffprobe, frames are spaced at the nominal
//! rate and [`PtsOrigin::NominalFallback`] says so.
//!
//! [`FfmpegSource::from_streams`] reads the same two outputs from given streams instead of
//! child processes, so the pipe reader can be tested and fuzzed without ffmpeg.

use std::io::Read;
use std::path::Path;
use std::process::{Child, ChildStderr, Command, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc::{Receiver, sync_channel};
use std::thread::JoinHandle;

use super::{
    DecodeFailure, FrameSource, PtsOrigin, SourceError, SourceInfo, SourceKind, Y4mSource,
};
use crate::Frame;

/// How much of ffmpeg's error output is kept for messages.
const MAX_STDERR_BYTES: u64 = 16 << 10;
/// Longest line read from ffprobe (a `pts_time` line is ~20 bytes; the rest is skipped).
const MAX_PROBE_LINE_BYTES: u64 = 4 << 10;

fn tool_available(tool: &str) -> bool {
    Command::new(tool)
        .arg("-version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// True when an `ffmpeg` binary runs from `PATH` (checked once per process).
pub fn ffmpeg_available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| tool_available("ffmpeg"))
}

/// True when an `ffprobe` binary runs from `PATH` (checked once per process).
pub fn ffprobe_available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| tool_available("ffprobe"))
}

/// Frames decoded by an `ffmpeg` child process.
pub struct FfmpegSource {
    info: SourceInfo,
    y4m: Y4mSource,
    /// The decoder process (`None` when reading given streams).
    ffmpeg: Option<Child>,
    stderr: Option<JoinHandle<String>>,
    pts_feed: Option<PtsFeed>,
    /// The first frame's raw pts, subtracted so that pts start at 0.
    origin_s: Option<f64>,
    last_pts_s: Option<f64>,
    frame_interval_s: f64,
    yielded: u64,
    finished: bool,
}

/// Per-frame presentation times streamed from an `ffprobe` child.
struct PtsFeed {
    /// The ffprobe process (`None` when reading a given stream).
    child: Option<Child>,
    receiver: Receiver<Option<f64>>,
    reader: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for FfmpegSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FfmpegSource")
            .field("info", &self.info)
            .field("yielded", &self.yielded)
            .finish_non_exhaustive()
    }
}

impl FfmpegSource {
    /// Starts ffmpeg on `path` (and ffprobe for timestamps when available) and reads the
    /// stream header.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, SourceError> {
        let path = path.as_ref();
        if !path.exists() {
            return Err(SourceError::NotFound {
                path: path.to_path_buf(),
            });
        }
        let started = match start_ffmpeg(path, "-fps_mode") {
            // ffmpeg before 5.1 has no -fps_mode; -vsync passthrough is its older spelling.
            Err(StartFailure::Ffmpeg(message)) if message.contains("fps_mode") => {
                start_ffmpeg(path, "-vsync")
            }
            other => other,
        };
        let (ffmpeg, stderr, y4m) = started.map_err(|failure| match failure {
            StartFailure::Ffmpeg(message) => SourceError::Ffmpeg {
                path: path.to_path_buf(),
                message,
            },
            StartFailure::Header(error) => error,
        })?;

        let probe = if ffprobe_available() {
            probe_stream(path)
        } else {
            StreamProbe::default()
        };
        let pts_feed = if ffprobe_available() {
            start_pts_feed(path).ok()
        } else {
            None
        };
        Ok(Self::from_parts(
            path,
            y4m,
            Some(ffmpeg),
            Some(stderr),
            probe,
            pts_feed,
        ))
    }

    /// Reads ffmpeg's Y4M output from `y4m` and, when given, the two ffprobe outputs `open`
    /// asks for: `probe_output` (`key=value` lines of `-show_entries
    /// stream=codec_name,nb_frames,avg_frame_rate:format=duration`) and `pts_output` (one
    /// `pts_time` per line, `-show_entries frame=pts_time -of csv=p=0`). `path` names the input
    /// in messages. This is the pipe reader without the processes, for tests and fuzzing.
    pub fn from_streams(
        path: impl AsRef<Path>,
        y4m: impl Read + Send + 'static,
        probe_output: &[u8],
        pts_output: Option<Box<dyn Read + Send>>,
    ) -> Result<Self, SourceError> {
        let path = path.as_ref();
        let y4m = Y4mSource::from_boxed(path, Box::new(y4m))?;
        let probe = parse_probe(&String::from_utf8_lossy(probe_output));
        let pts_feed = pts_output.map(|output| PtsFeed::read(None, output));
        Ok(Self::from_parts(path, y4m, None, None, probe, pts_feed))
    }

    fn from_parts(
        path: &Path,
        y4m: Y4mSource,
        ffmpeg: Option<Child>,
        stderr: Option<JoinHandle<String>>,
        probe: StreamProbe,
        pts_feed: Option<PtsFeed>,
    ) -> Self {
        let header_fps = y4m.info().nominal_fps;
        let nominal_fps = probe.average_fps.or(header_fps);
        let mut info = SourceInfo::new(
            path,
            SourceKind::Ffmpeg,
            probe
                .codec
                .unwrap_or_else(|| "unknown (via ffmpeg)".to_owned()),
            if pts_feed.is_some() {
                PtsOrigin::Ffprobe
            } else {
                PtsOrigin::NominalFallback
            },
        );
        info.width = y4m.info().width;
        info.height = y4m.info().height;
        info.frame_count = probe.frame_count;
        info.duration_s = probe.duration_s;
        info.nominal_fps = nominal_fps;
        Self {
            info,
            y4m,
            ffmpeg,
            stderr,
            pts_feed,
            origin_s: None,
            last_pts_s: None,
            frame_interval_s: 1.0 / nominal_fps.unwrap_or(30.0),
            yielded: 0,
            finished: false,
        }
    }

    /// ffmpeg's error output so far (waits for ffmpeg to exit).
    fn stderr_text(&mut self) -> String {
        self.stderr
            .take()
            .and_then(|handle| handle.join().ok())
            .unwrap_or_default()
    }

    /// The next frame's pts from ffprobe, or `None` when the feed has ended.
    fn probed_pts_s(&mut self) -> Option<Option<f64>> {
        let feed = self.pts_feed.as_mut()?;
        match feed.receiver.recv() {
            Ok(pts) => Some(pts),
            Err(_) => {
                // ffprobe stopped early: space the remaining frames at the nominal rate.
                self.stop_pts_feed();
                self.info.pts_origin = PtsOrigin::NominalFallback;
                None
            }
        }
    }

    fn stop_pts_feed(&mut self) {
        if let Some(mut feed) = self.pts_feed.take() {
            if let Some(child) = feed.child.as_mut() {
                let _ = child.kill();
                let _ = child.wait();
            }
            // Unblocks the reader thread's send when it is ahead of the frames.
            drop(feed.receiver);
            if let Some(reader) = feed.reader.take() {
                let _ = reader.join();
            }
        }
    }

    fn advance(&mut self, frame: &mut Frame) -> Result<bool, SourceError> {
        match self.y4m.next_frame(frame) {
            Ok(true) => {}
            Ok(false) => {
                let failed = self.ffmpeg.as_mut().is_some_and(|ffmpeg| {
                    !ffmpeg.wait().as_ref().is_ok_and(|status| status.success())
                });
                let message = self.stderr_text();
                if failed {
                    return Err(SourceError::Decode {
                        path: self.info.path.clone(),
                        frame_index: self.yielded,
                        source: DecodeFailure::Ffmpeg {
                            message: trimmed(&message, "ffmpeg exited with an error"),
                        },
                    });
                }
                return Ok(false);
            }
            Err(error) => {
                if let Some(ffmpeg) = self.ffmpeg.as_mut() {
                    let _ = ffmpeg.kill();
                    let _ = ffmpeg.wait();
                }
                let message = self.stderr_text();
                if message.trim().is_empty() {
                    return Err(error);
                }
                return Err(SourceError::Decode {
                    path: self.info.path.clone(),
                    frame_index: self.yielded,
                    source: DecodeFailure::Ffmpeg {
                        message: trimmed(&message, ""),
                    },
                });
            }
        }
        // The Y4M reader spaced frames evenly at the header rate.
        let header_pts_s = frame.pts_s;
        let pts_s = match (self.probed_pts_s(), self.origin_s, self.last_pts_s) {
            (Some(Some(raw_s)), _, _) => raw_s - *self.origin_s.get_or_insert(raw_s),
            // "N/A" from ffprobe, or its feed ended after it had started: continue from the
            // last real time at the nominal spacing.
            (_, Some(_), Some(last_s)) => last_s + self.frame_interval_s,
            // No ffprobe times at all: the header rate.
            _ => header_pts_s,
        };
        frame.pts_s = pts_s;
        frame.index = self.yielded;
        self.last_pts_s = Some(pts_s);
        self.yielded += 1;
        Ok(true)
    }
}

impl FrameSource for FfmpegSource {
    fn next_frame(&mut self, frame: &mut Frame) -> Result<bool, SourceError> {
        if self.finished {
            return Ok(false);
        }
        let result = self.advance(frame);
        if !matches!(result, Ok(true)) {
            self.finished = true;
            self.stop_pts_feed();
        }
        result
    }

    fn info(&self) -> &SourceInfo {
        &self.info
    }
}

impl Drop for FfmpegSource {
    fn drop(&mut self) {
        if let Some(ffmpeg) = self.ffmpeg.as_mut() {
            let _ = ffmpeg.kill();
            let _ = ffmpeg.wait();
        }
        self.stop_pts_feed();
        if let Some(handle) = self.stderr.take() {
            let _ = handle.join();
        }
    }
}

fn trimmed(message: &str, fallback: &str) -> String {
    let message = message.trim();
    if message.is_empty() {
        fallback.to_owned()
    } else {
        message.to_owned()
    }
}

enum StartFailure {
    /// ffmpeg did not start or reported an error before any output.
    Ffmpeg(String),
    /// ffmpeg's output was not a usable Y4M stream (and it said nothing).
    Header(SourceError),
}

/// Spawns ffmpeg and reads the Y4M header from its stdout.
fn start_ffmpeg(
    path: &Path,
    passthrough_flag: &str,
) -> Result<(Child, JoinHandle<String>, Y4mSource), StartFailure> {
    let mut child = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(path)
        .args(["-map", "0:v:0", passthrough_flag, "passthrough"])
        .args(["-f", "yuv4mpegpipe", "-pix_fmt", "yuv420p", "-"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| StartFailure::Ffmpeg(format!("cannot run `ffmpeg`: {error}")))?;
    let stderr = spawn_stderr_reader(child.stderr.take());
    let header = match child.stdout.take() {
        Some(stdout) => Y4mSource::from_boxed(path, Box::new(stdout)),
        None => Err(SourceError::Ffmpeg {
            path: path.to_path_buf(),
            message: "ffmpeg's output pipe is missing".to_owned(),
        }),
    };
    match header {
        Ok(y4m) => Ok((child, stderr, y4m)),
        Err(header_error) => {
            let _ = child.kill();
            let _ = child.wait();
            let message = stderr.join().unwrap_or_default();
            if message.trim().is_empty() {
                Err(StartFailure::Header(header_error))
            } else {
                Err(StartFailure::Ffmpeg(message.trim().to_owned()))
            }
        }
    }
}

fn spawn_stderr_reader(stderr: Option<ChildStderr>) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(stderr) = stderr {
            let mut limited = stderr.take(MAX_STDERR_BYTES);
            let _ = limited.read_to_string(&mut text);
            // Keep draining so that ffmpeg never blocks on a full pipe.
            let _ = std::io::copy(&mut limited.into_inner(), &mut std::io::sink());
        }
        text
    })
}

/// Stream facts from `ffprobe` (container-level, no decoding).
#[derive(Debug, Default)]
struct StreamProbe {
    codec: Option<String>,
    frame_count: Option<u64>,
    average_fps: Option<f64>,
    duration_s: Option<f64>,
}

fn probe_stream(path: &Path) -> StreamProbe {
    let output = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-show_entries"])
        .arg("stream=codec_name,nb_frames,avg_frame_rate:format=duration")
        .args(["-of", "default=noprint_wrappers=1"])
        .arg(path)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output();
    match output {
        Ok(output) => parse_probe(&String::from_utf8_lossy(&output.stdout)),
        Err(_) => StreamProbe::default(),
    }
}

/// Reads `probe_stream`'s `key=value` lines; unknown keys and unreadable values are skipped.
fn parse_probe(text: &str) -> StreamProbe {
    let mut probe = StreamProbe::default();
    for line in text.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        match key {
            "codec_name" => probe.codec = Some(value.to_owned()),
            "nb_frames" => probe.frame_count = value.parse().ok(),
            "avg_frame_rate" => {
                probe.average_fps = value.split_once('/').and_then(|(numerator, denominator)| {
                    let numerator: f64 = numerator.parse().ok()?;
                    let denominator: f64 = denominator.parse().ok()?;
                    let fps = numerator / denominator;
                    (numerator > 0.0 && denominator > 0.0 && fps.is_finite()).then_some(fps)
                });
            }
            "duration" => {
                probe.duration_s = value
                    .parse()
                    .ok()
                    .filter(|d: &f64| d.is_finite() && *d > 0.0);
            }
            _ => {}
        }
    }
    probe
}

/// Starts `ffprobe` listing every frame's `pts_time` in presentation order, read on a thread.
fn start_pts_feed(path: &Path) -> std::io::Result<PtsFeed> {
    let mut child = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0"])
        .args(["-show_entries", "frame=pts_time", "-of", "csv=p=0"])
        .arg(path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| std::io::Error::other("ffprobe's output pipe is missing"))?;
    Ok(PtsFeed::read(Some(child), Box::new(stdout)))
}

impl PtsFeed {
    /// Reads `pts_time` lines from `output` on a thread, one message per frame line.
    fn read(child: Option<Child>, output: Box<dyn Read + Send>) -> Self {
        // Bounded: the thread waits for the frames instead of buffering a whole file's times.
        let (sender, receiver) = sync_channel(PTS_QUEUE_LEN);
        let reader = std::thread::spawn(move || {
            use std::io::BufRead;
            let mut lines = std::io::BufReader::new(output);
            let mut line = Vec::new();
            loop {
                line.clear();
                match (&mut lines)
                    .take(MAX_PROBE_LINE_BYTES)
                    .read_until(b'\n', &mut line)
                {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                if line.last() != Some(&b'\n') && line.len() as u64 == MAX_PROBE_LINE_BYTES {
                    // Not a pts line: skip the rest of it.
                    if skip_line(&mut lines).is_err() {
                        break;
                    }
                    continue;
                }
                let Some(pts) = pts_field(&String::from_utf8_lossy(&line)) else {
                    continue;
                };
                if sender.send(pts).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            receiver,
            reader: Some(reader),
        }
    }
}

/// How many frame times the ffprobe reader may read ahead of the frames.
const PTS_QUEUE_LEN: usize = 256;

/// Consumes input up to and including the next newline.
fn skip_line(reader: &mut impl std::io::BufRead) -> std::io::Result<()> {
    loop {
        let buffer = reader.fill_buf()?;
        if buffer.is_empty() {
            return Ok(());
        }
        if let Some(end) = buffer.iter().position(|&byte| byte == b'\n') {
            reader.consume(end + 1);
            return Ok(());
        }
        let len = buffer.len();
        reader.consume(len);
    }
}

/// One line of `-show_entries frame=pts_time -of csv=p=0`: `None` for a line that is not a
/// frame (side-data sections print empty lines), else the frame's time (`None` for `N/A`).
fn pts_field(line: &str) -> Option<Option<f64>> {
    let field = line.trim().split(',').next().unwrap_or("");
    if field.is_empty() {
        return None;
    }
    Some(field.parse::<f64>().ok().filter(|pts| pts.is_finite()))
}
