//! Input formats: face-signal JSON Lines and OpenFace 2.x CSV import (feature `formats`).
//!
//! - **Signals JSON Lines**: one [`FaceSignals`] object per line (what `microcue synth` and
//!   the vision crate write). [`parse_signals_line`] parses and validates one line;
//!   [`SignalsReader`] iterates over any [`BufRead`], skipping blank lines and numbering lines
//!   from 1 for its errors.
//! - **OpenFace 2.x CSV** (`FeatureExtraction` / `FaceLandmarkVidMulti` output):
//!   [`read_openface`] maps the action-unit intensities, gaze angles and head pose onto the
//!   MediaPipe blendshape channels the spotter reads, and lists the cues OpenFace cannot
//!   express in [`OpenFaceImport::unavailable_cues`] (pass them to the spotter so it never
//!   emits them).
//!
//! These readers take any `Read`/`BufRead` and know no file names: the caller adds the path
//! to the error it reports. The format is documented in `docs/formats.md`.
//!
//! A hostile file cannot exhaust memory: lines are at most [`MAX_LINE_BYTES`] (checked as they
//! are read, not after) and an OpenFace import at most [`MAX_OPENFACE_ROWS`] rows.
//!
//! ```
//! use microcue_core::formats::read_openface;
//! let csv = "frame, face_id, timestamp, confidence, success, AU01_r, AU02_r, AU12_r\n\
//!            1, 0, 0.000, 0.98, 1, 0.00, 0.00, 2.50\n";
//! let import = read_openface(csv.as_bytes()).unwrap();
//! assert_eq!(import.signals.len(), 1);
//! assert_eq!(import.signals[0].blendshape(microcue_core::BlendshapeIndex::MOUTH_SMILE_LEFT), 0.5);
//! ```

use std::collections::BTreeMap;
use std::io::{BufRead, Read};

/// Longest line read, in bytes: a signals line with 478 landmarks is about 16 KB, an OpenFace
/// row with every column about 6 KB.
pub const MAX_LINE_BYTES: usize = 1 << 20;
/// Most rows an OpenFace import holds in memory (each becomes a [`FaceSignals`] of about
/// 400 bytes): 4.6 hours of one face at 30 fps.
pub const MAX_OPENFACE_ROWS: usize = 500_000;

use crate::cue::CueId;
use crate::signals::{BlendshapeIndex as B, FaceSignals, HeadPose, TrackId};

/// What went wrong reading an input file. Line numbers count from 1 (the CSV header is line 1).
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    /// The input could not be read.
    #[error("line {line}: could not read the input")]
    Io {
        line: usize,
        #[source]
        source: std::io::Error,
    },
    /// A signals line is not a `FaceSignals` JSON object.
    #[error(
        "line {line}: not a face-signals JSON object (one object per line with pts_s, track, \
         presence and 52 blendshapes; see docs/formats.md)"
    )]
    SignalsJson {
        line: usize,
        #[source]
        source: serde_json::Error,
    },
    /// A line longer than [`MAX_LINE_BYTES`].
    #[error(
        "line {line} is longer than {max_bytes} bytes; is this the right file? (a signals line \
         is ~16 KB, an OpenFace row ~6 KB)"
    )]
    LineTooLong { line: usize, max_bytes: usize },
    /// An OpenFace CSV with more than [`MAX_OPENFACE_ROWS`] rows.
    #[error(
        "line {line}: more than {max_rows} rows; microcue imports at most {max_rows} (4.6 hours \
         of one face at 30 fps)\nhint: split the CSV, repeating its header line in each part"
    )]
    TooManyRows { line: usize, max_rows: usize },
    /// A signals line parses but breaks an invariant of `FaceSignals`.
    #[error("line {line}: {problem}")]
    InvalidSignals { line: usize, problem: String },
    /// The CSV is not shaped like OpenFace output.
    #[error(
        "line {line}: {problem}\nhint: is this an OpenFace 2.x CSV? expected a header with \
         `timestamp` and AU.._r columns (frame, face_id, timestamp, confidence, success, ..., \
         AU01_r, AU02_r, ...)"
    )]
    OpenFaceHeader { line: usize, problem: String },
    /// A CSV row is malformed (wrong number of fields, bad encoding).
    #[error("line {line}: malformed CSV row")]
    Csv {
        line: usize,
        #[source]
        source: csv::Error,
    },
    /// A CSV value is not what its column should hold.
    #[error("line {line}, column `{column}`: {problem} (got `{value}`)")]
    OpenFaceValue {
        line: usize,
        column: String,
        value: String,
        problem: String,
    },
    /// Timestamps of one face do not increase.
    #[error(
        "line {line}: timestamp {pts_s} of face {track} does not come after {previous_s} \
         (line {previous_line})\nhint: OpenFace writes timestamp 0 for image folders; give the \
         frame rate so that times come from the `frame` column"
    )]
    TimeNotIncreasing {
        line: usize,
        track: TrackId,
        pts_s: f64,
        previous_s: f64,
        previous_line: usize,
    },
}

/// Parses and validates one line of face-signals JSON Lines. `line_number` (from 1) is only
/// used in the error.
pub fn parse_signals_line(line: &str, line_number: usize) -> Result<FaceSignals, FormatError> {
    parse_signals_bytes(line.as_bytes(), line_number)
}

/// [`parse_signals_line`] on bytes (serde_json checks the UTF-8).
fn parse_signals_bytes(line: &[u8], line_number: usize) -> Result<FaceSignals, FormatError> {
    let signals: FaceSignals =
        serde_json::from_slice(line.trim_ascii()).map_err(|source| FormatError::SignalsJson {
            line: line_number,
            source,
        })?;
    signals
        .validate()
        .map_err(|problem| FormatError::InvalidSignals {
            line: line_number,
            problem,
        })?;
    Ok(signals)
}

/// Reads face-signals JSON Lines from any [`BufRead`]: one `Result` per non-blank line.
/// After an I/O error or a line longer than [`MAX_LINE_BYTES`] the iterator ends.
#[derive(Debug)]
pub struct SignalsReader<R> {
    reader: R,
    buffer: Vec<u8>,
    line_number: usize,
    failed: bool,
}

impl<R: BufRead> SignalsReader<R> {
    /// Wraps a reader.
    pub fn new(reader: R) -> Self {
        SignalsReader {
            reader,
            buffer: Vec::new(),
            line_number: 0,
            failed: false,
        }
    }

    /// Number of the last line read (from 1).
    pub fn line_number(&self) -> usize {
        self.line_number
    }
}

impl<R: BufRead> Iterator for SignalsReader<R> {
    type Item = Result<FaceSignals, FormatError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        loop {
            self.buffer.clear();
            // At most one byte past the limit is read, so a line without end cannot fill memory.
            let limit = MAX_LINE_BYTES as u64 + 1;
            match (&mut self.reader)
                .take(limit)
                .read_until(b'\n', &mut self.buffer)
            {
                Ok(0) => return None,
                Ok(_) => {
                    self.line_number += 1;
                    if self.buffer.len() > MAX_LINE_BYTES && self.buffer.last() != Some(&b'\n') {
                        self.failed = true;
                        return Some(Err(FormatError::LineTooLong {
                            line: self.line_number,
                            max_bytes: MAX_LINE_BYTES,
                        }));
                    }
                    if self.buffer.trim_ascii().is_empty() {
                        continue;
                    }
                    return Some(parse_signals_bytes(&self.buffer, self.line_number));
                }
                Err(source) => {
                    self.failed = true;
                    return Some(Err(FormatError::Io {
                        line: self.line_number + 1,
                        source,
                    }));
                }
            }
        }
    }
}

/// Reads face-signals JSON Lines (shorthand for [`SignalsReader::new`]).
pub fn read_signals<R: BufRead>(reader: R) -> SignalsReader<R> {
    SignalsReader::new(reader)
}

/// The result of an OpenFace CSV import.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenFaceImport {
    /// One entry per CSV row, in file order (rows of several faces interleave).
    pub signals: Vec<FaceSignals>,
    /// Cues OpenFace's output cannot express: give them to the spotter so it never emits them.
    pub unavailable_cues: Vec<CueId>,
    /// What the import did and what is missing, one sentence each (for the user).
    pub notes: Vec<String>,
}

/// Options of [`read_openface_with`].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct OpenFaceOptions {
    /// Frame rate of the source. When given, times come from the `frame` column
    /// (`(frame - 1) / fps`) instead of `timestamp` (OpenFace writes 0 there for image folders).
    pub frame_rate_hz: Option<f64>,
}

/// Gaze angle (radians) that maps to eyeLook 1.0.
pub const GAZE_FULL_SCALE_RAD: f32 = 0.5;
/// OpenFace AU intensities run from 0 to this.
pub const AU_INTENSITY_MAX: f32 = 5.0;

/// The AU intensity columns read, and the blendshapes each one drives (both sides).
/// Several AUs driving one blendshape combine by maximum.
pub const AU_MAPPING: [(&str, &[B]); 18] = [
    ("AU01_r", &[B::BROW_INNER_UP]),
    ("AU02_r", &[B::BROW_OUTER_UP_LEFT, B::BROW_OUTER_UP_RIGHT]),
    ("AU04_r", &[B::BROW_DOWN_LEFT, B::BROW_DOWN_RIGHT]),
    ("AU05_r", &[B::EYE_WIDE_LEFT, B::EYE_WIDE_RIGHT]),
    (
        "AU06_r",
        &[
            B::CHEEK_SQUINT_LEFT,
            B::CHEEK_SQUINT_RIGHT,
            B::EYE_SQUINT_LEFT,
            B::EYE_SQUINT_RIGHT,
        ],
    ),
    ("AU07_r", &[B::EYE_SQUINT_LEFT, B::EYE_SQUINT_RIGHT]),
    ("AU09_r", &[B::NOSE_SNEER_LEFT, B::NOSE_SNEER_RIGHT]),
    ("AU10_r", &[B::MOUTH_UPPER_UP_LEFT, B::MOUTH_UPPER_UP_RIGHT]),
    ("AU12_r", &[B::MOUTH_SMILE_LEFT, B::MOUTH_SMILE_RIGHT]),
    ("AU14_r", &[B::MOUTH_DIMPLE_LEFT, B::MOUTH_DIMPLE_RIGHT]),
    ("AU15_r", &[B::MOUTH_FROWN_LEFT, B::MOUTH_FROWN_RIGHT]),
    ("AU17_r", &[B::MOUTH_SHRUG_LOWER]),
    ("AU20_r", &[B::MOUTH_STRETCH_LEFT, B::MOUTH_STRETCH_RIGHT]),
    ("AU23_r", &[B::MOUTH_PRESS_LEFT, B::MOUTH_PRESS_RIGHT]),
    ("AU24_r", &[B::MOUTH_PRESS_LEFT, B::MOUTH_PRESS_RIGHT]),
    ("AU25_r", &[B::JAW_OPEN]),
    ("AU26_r", &[B::JAW_OPEN]),
    ("AU45_r", &[B::EYE_BLINK_LEFT, B::EYE_BLINK_RIGHT]),
];

/// For each cue, the AU groups it needs: every group must have at least one column present.
const CUE_AU_NEEDS: [(CueId, &[&[&str]]); 9] = [
    // Genuine and polite smiles differ by the eye crinkle: both need AU12 and AU6 or AU7.
    (CueId::GenuineSmile, &[&["AU12_r"], &["AU06_r", "AU07_r"]]),
    (CueId::PoliteSmile, &[&["AU12_r"], &["AU06_r", "AU07_r"]]),
    (CueId::EyebrowFlash, &[&["AU01_r", "AU02_r"]]),
    (CueId::LipCompression, &[&["AU23_r", "AU24_r"]]),
    (CueId::NoseWrinkle, &[&["AU09_r", "AU10_r"]]),
    (CueId::BlinkCluster, &[&["AU45_r"]]),
    (CueId::MicroFrown, &[&["AU04_r"]]),
    (CueId::MicroAnger, &[&["AU04_r"], &["AU23_r", "AU24_r"]]),
    (CueId::MicroSurprise, &[&["AU01_r", "AU02_r"], &["AU05_r"]]),
];

/// Column indexes found in the header.
struct Columns {
    frame: Option<usize>,
    face_id: Option<usize>,
    timestamp: Option<usize>,
    confidence: Option<usize>,
    success: Option<usize>,
    gaze_angle_x: Option<usize>,
    gaze_angle_y: Option<usize>,
    pose_rx: Option<usize>,
    pose_ry: Option<usize>,
    pose_rz: Option<usize>,
    /// Per entry of [`AU_MAPPING`].
    aus: [Option<usize>; AU_MAPPING.len()],
}

/// Reads an OpenFace 2.x CSV (times from the `timestamp` column).
pub fn read_openface(reader: impl Read) -> Result<OpenFaceImport, FormatError> {
    read_openface_with(reader, &OpenFaceOptions::default())
}

/// Reads an OpenFace 2.x CSV with options.
///
/// Columns are found by their trimmed header name (OpenFace writes `" AU01_r"` with a space),
/// so column order and extra columns do not matter. Needed: `timestamp` (or `frame` with
/// [`OpenFaceOptions::frame_rate_hz`]) and at least one `AU.._r` column. Optional: `face_id`
/// (track; 0 when absent), `confidence` (presence), `success` (0 -> presence 0), `gaze_angle_x/y`
/// (radians), `pose_Rx/Ry/Rz` (radians).
pub fn read_openface_with(
    reader: impl Read,
    options: &OpenFaceOptions,
) -> Result<OpenFaceImport, FormatError> {
    let mut csv = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .has_headers(true)
        .flexible(false)
        .from_reader(LineLimit::new(reader));
    let header = match csv.headers() {
        Ok(header) => header.clone(),
        Err(source) => return Err(csv_error(source, 1, csv.get_ref())),
    };
    let find = |name: &str| header.iter().position(|h| h == name);
    let columns = Columns {
        frame: find("frame"),
        face_id: find("face_id"),
        timestamp: find("timestamp"),
        confidence: find("confidence"),
        success: find("success"),
        gaze_angle_x: find("gaze_angle_x"),
        gaze_angle_y: find("gaze_angle_y"),
        pose_rx: find("pose_Rx"),
        pose_ry: find("pose_Ry"),
        pose_rz: find("pose_Rz"),
        aus: AU_MAPPING.map(|(name, _)| find(name)),
    };
    if columns.aus.iter().all(Option::is_none) {
        let first = header.iter().take(6).collect::<Vec<_>>().join(", ");
        return Err(FormatError::OpenFaceHeader {
            line: 1,
            problem: format!(
                "no action-unit intensity column (AU01_r ... AU45_r) in the header `{first}, ...`"
            ),
        });
    }
    let frame_rate_hz = match options.frame_rate_hz {
        Some(fps) if !(fps.is_finite() && fps > 0.0) => {
            return Err(FormatError::OpenFaceHeader {
                line: 1,
                problem: format!("the frame rate must be a positive number, got {fps}"),
            });
        }
        Some(fps) if columns.frame.is_none() => {
            return Err(FormatError::OpenFaceHeader {
                line: 1,
                problem: format!("a frame rate ({fps}) was given but there is no `frame` column"),
            });
        }
        other => other,
    };
    if frame_rate_hz.is_none() && columns.timestamp.is_none() {
        return Err(FormatError::OpenFaceHeader {
            line: 1,
            problem: "no `timestamp` column (give the frame rate to take times from `frame`)"
                .to_string(),
        });
    }
    let has_gaze = columns.gaze_angle_x.is_some() || columns.gaze_angle_y.is_some();
    let has_pose =
        columns.pose_rx.is_some() || columns.pose_ry.is_some() || columns.pose_rz.is_some();

    let mut signals = Vec::new();
    let mut last_time: BTreeMap<TrackId, (f64, usize)> = BTreeMap::new();
    let mut unsuccessful_rows = 0_usize;
    let mut record = csv::StringRecord::new();
    loop {
        match csv.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(source) => {
                let line = source.position().map_or(0, |p| p.line() as usize);
                return Err(csv_error(source, line, csv.get_ref()));
            }
        }
        let line = record.position().map_or(0, |p| p.line() as usize);
        if signals.len() == MAX_OPENFACE_ROWS {
            return Err(FormatError::TooManyRows {
                line,
                max_rows: MAX_OPENFACE_ROWS,
            });
        }
        let row = Row {
            record: &record,
            header: &header,
            line,
        };

        let track = match columns.face_id {
            Some(col) => {
                let id = row.number(col)?;
                if id < 0.0 || id.fract() != 0.0 || id > f64::from(u32::MAX) {
                    return Err(row.invalid(col, "a face id must be a whole number >= 0"));
                }
                TrackId(id as u32)
            }
            None => TrackId(0),
        };
        let pts_s = match (frame_rate_hz, columns.frame) {
            (Some(fps), Some(col)) => {
                let frame = row.number(col)?;
                if frame < 1.0 || frame.fract() != 0.0 {
                    return Err(row.invalid(col, "a frame number must be a whole number >= 1"));
                }
                (frame - 1.0) / fps
            }
            _ => match columns.timestamp {
                Some(col) => row.number(col)?,
                None => 0.0, // unreachable: checked with the header
            },
        };
        if let Some(&(previous_s, previous_line)) = last_time.get(&track)
            && pts_s <= previous_s
        {
            return Err(FormatError::TimeNotIncreasing {
                line,
                track,
                pts_s,
                previous_s,
                previous_line,
            });
        }
        last_time.insert(track, (pts_s, line));

        let mut face = FaceSignals::neutral(track, pts_s);
        if let Some(col) = columns.confidence {
            face.presence = row.number(col)?.clamp(0.0, 1.0) as f32;
        }
        if let Some(col) = columns.success
            && row.number(col)? == 0.0
        {
            face.presence = 0.0;
            unsuccessful_rows += 1;
        }
        for ((_, channels), column) in AU_MAPPING.iter().zip(columns.aus) {
            let Some(col) = column else { continue };
            let value = (row.number(col)? as f32 / AU_INTENSITY_MAX).clamp(0.0, 1.0);
            for channel in *channels {
                let slot = &mut face.blendshapes[channel.0];
                *slot = slot.max(value);
            }
        }
        if let Some(col) = columns.gaze_angle_x {
            // > 0: gaze towards the camera's +x (image right) = the subject's left.
            let x = (row.number(col)? as f32 / GAZE_FULL_SCALE_RAD).clamp(-1.0, 1.0);
            let (towards_left, towards_right) = (x.max(0.0), (-x).max(0.0));
            face.blendshapes[B::EYE_LOOK_OUT_LEFT.0] = towards_left;
            face.blendshapes[B::EYE_LOOK_IN_RIGHT.0] = towards_left;
            face.blendshapes[B::EYE_LOOK_IN_LEFT.0] = towards_right;
            face.blendshapes[B::EYE_LOOK_OUT_RIGHT.0] = towards_right;
        }
        if let Some(col) = columns.gaze_angle_y {
            // > 0: gaze down (camera y points down).
            let y = (row.number(col)? as f32 / GAZE_FULL_SCALE_RAD).clamp(-1.0, 1.0);
            let (down, up) = (y.max(0.0), (-y).max(0.0));
            face.blendshapes[B::EYE_LOOK_DOWN_LEFT.0] = down;
            face.blendshapes[B::EYE_LOOK_DOWN_RIGHT.0] = down;
            face.blendshapes[B::EYE_LOOK_UP_LEFT.0] = up;
            face.blendshapes[B::EYE_LOOK_UP_RIGHT.0] = up;
        }
        face.head_pose = HeadPose {
            // OpenFace: Rx > 0 = head down, Ry > 0 = turn to the subject's right, Rz > 0 =
            // clockwise in the image. microcue: pitch > 0 up, yaw > 0 to the subject's left.
            pitch_deg: -row.degrees(columns.pose_rx)?,
            yaw_deg: -row.degrees(columns.pose_ry)?,
            roll_deg: row.degrees(columns.pose_rz)?,
        };
        face.validate()
            .map_err(|problem| FormatError::InvalidSignals { line, problem })?;
        signals.push(face);
    }
    if signals.is_empty() {
        return Err(FormatError::OpenFaceHeader {
            line: 2,
            problem: "the CSV has a header but no data rows".to_string(),
        });
    }

    let present = |name: &str| {
        AU_MAPPING
            .iter()
            .zip(columns.aus)
            .any(|((n, _), c)| *n == name && c.is_some())
    };
    let mut unavailable_cues = Vec::new();
    for cue in CueId::ALL {
        let unavailable = match cue {
            // AUs are bilateral: a one-sided pull cannot be told from a symmetric one.
            CueId::UnilateralLipCorner | CueId::PupilDilation => true,
            CueId::GazeAversion => !has_gaze && !has_pose,
            _ => CUE_AU_NEEDS
                .iter()
                .find(|(c, _)| *c == cue)
                .is_some_and(|(_, groups)| !groups.iter().all(|g| g.iter().any(|n| present(n)))),
        };
        if unavailable {
            unavailable_cues.push(cue);
        }
    }

    let mut notes = vec![
        format!(
            "{} rows of {} face(s) imported; AU intensities (0–5) scaled to 0–1 blendshape units",
            signals.len(),
            last_time.len()
        ),
        "OpenFace action units are bilateral: both sides of each channel get the same value, so \
         unilateral_lip_corner cannot be read"
            .to_string(),
        "no landmarks: OpenFace's 68-point landmarks do not map onto MediaPipe's 478-point mesh"
            .to_string(),
    ];
    let missing: Vec<&str> = AU_MAPPING
        .iter()
        .zip(columns.aus)
        .filter(|(_, c)| c.is_none())
        .map(|((name, _), _)| *name)
        .filter(|name| *name != "AU24_r")
        .collect();
    if !missing.is_empty() {
        notes.push(format!(
            "missing AU columns (read as 0): {}",
            missing.join(", ")
        ));
    }
    if !present("AU24_r") && present("AU23_r") {
        notes.push(
            "no AU24_r (OpenFace 2.x does not estimate AU24 intensity): lip compression is read \
             from AU23 (lip tightener)"
                .to_string(),
        );
    }
    if has_gaze {
        notes.push(format!(
            "gaze angles mapped onto eyeLook channels ({GAZE_FULL_SCALE_RAD} rad = 1.0)"
        ));
    } else if has_pose {
        notes.push("no gaze columns: gaze aversion rests on head pose alone".to_string());
    }
    if !has_pose {
        notes.push("no pose columns: head pose set to 0".to_string());
    }
    if unsuccessful_rows > 0 {
        notes.push(format!(
            "{unsuccessful_rows} rows had success=0 (face not tracked): their presence is 0"
        ));
    }
    if let Some(fps) = frame_rate_hz {
        notes.push(format!("times taken from the frame column at {fps} fps"));
    }
    if !unavailable_cues.is_empty() {
        let names: Vec<&str> = unavailable_cues.iter().map(|c| c.as_str()).collect();
        notes.push(format!(
            "cues OpenFace cannot express here: {}",
            names.join(", ")
        ));
    }
    Ok(OpenFaceImport {
        signals,
        unavailable_cues,
        notes,
    })
}

fn csv_error<R>(source: csv::Error, line: usize, reader: &LineLimit<R>) -> FormatError {
    if let Some(line) = reader.overlong_line {
        return FormatError::LineTooLong {
            line,
            max_bytes: MAX_LINE_BYTES,
        };
    }
    FormatError::Csv {
        line: source.position().map_or(line, |p| p.line() as usize),
        source,
    }
}

/// Fails a read once a line runs past [`MAX_LINE_BYTES`] (the csv crate would grow its record
/// without bound), remembering which line it was. Wrap any reader handed to the csv crate in it.
pub struct LineLimit<R> {
    inner: R,
    /// Bytes of the current line so far.
    line_bytes: usize,
    /// Number of the current line, from 1.
    line: usize,
    overlong_line: Option<usize>,
}

impl<R> LineLimit<R> {
    /// Wraps `inner`.
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            line_bytes: 0,
            line: 1,
            overlong_line: None,
        }
    }

    /// The line (from 1) that ran past [`MAX_LINE_BYTES`], once a read has failed on it.
    pub fn overlong_line(&self) -> Option<usize> {
        self.overlong_line
    }
}

impl<R: Read> Read for LineLimit<R> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let count = self.inner.read(buffer)?;
        for &byte in &buffer[..count] {
            if byte == b'\n' {
                self.line += 1;
                self.line_bytes = 0;
            } else {
                self.line_bytes += 1;
                if self.line_bytes > MAX_LINE_BYTES {
                    self.overlong_line = Some(self.line);
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("line {} is longer than {MAX_LINE_BYTES} bytes", self.line),
                    ));
                }
            }
        }
        Ok(count)
    }
}

/// One CSV row with what is needed to report a bad value.
struct Row<'a> {
    record: &'a csv::StringRecord,
    header: &'a csv::StringRecord,
    line: usize,
}

impl Row<'_> {
    fn number(&self, col: usize) -> Result<f64, FormatError> {
        let text = self.record.get(col).unwrap_or("");
        match text.parse::<f64>() {
            Ok(value) if value.is_finite() => Ok(value),
            _ => Err(self.invalid(col, "expected a finite number")),
        }
    }

    fn degrees(&self, col: Option<usize>) -> Result<f32, FormatError> {
        match col {
            Some(col) => Ok(self.number(col)?.to_degrees() as f32),
            None => Ok(0.0),
        }
    }

    fn invalid(&self, col: usize, problem: &str) -> FormatError {
        FormatError::OpenFaceValue {
            line: self.line,
            column: self.header.get(col).unwrap_or("?").to_string(),
            value: self.record.get(col).unwrap_or("").to_string(),
            problem: problem.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// OpenFace 2.x style: spaces after commas, gaze vectors, pose, AUs (no AU24_r), AU_c.
    const OPENFACE_HEADER: &str = "frame, face_id, timestamp, confidence, success, gaze_0_x, \
        gaze_0_y, gaze_0_z, gaze_1_x, gaze_1_y, gaze_1_z, gaze_angle_x, gaze_angle_y, pose_Tx, \
        pose_Ty, pose_Tz, pose_Rx, pose_Ry, pose_Rz, AU01_r, AU02_r, AU04_r, AU05_r, AU06_r, \
        AU07_r, AU09_r, AU10_r, AU12_r, AU14_r, AU15_r, AU17_r, AU20_r, AU23_r, AU25_r, AU26_r, \
        AU45_r, AU01_c, AU12_c";

    fn row(
        frame: u32,
        timestamp: f64,
        success: u8,
        gaze: [f64; 2],
        pose: [f64; 3],
        aus: [f64; 17],
    ) -> String {
        let aus: Vec<String> = aus.iter().map(|v| format!("{v:.2}")).collect();
        format!(
            "{frame}, 0, {timestamp:.3}, 0.98, {success}, 0.1, 0.2, -0.97, 0.1, 0.2, -0.97, \
             {:.3}, {:.3}, 10.0, 20.0, 400.0, {:.3}, {:.3}, {:.3}, {}, 1, 0",
            gaze[0],
            gaze[1],
            pose[0],
            pose[1],
            pose[2],
            aus.join(", ")
        )
    }

    fn csv(rows: &[String]) -> String {
        let mut text = String::from(OPENFACE_HEADER);
        for r in rows {
            text.push('\n');
            text.push_str(r);
        }
        text.push('\n');
        text
    }

    // AU order of the header: 01 02 04 05 06 07 09 10 12 14 15 17 20 23 25 26 45.
    const AU12: usize = 8;
    const AU06: usize = 4;
    const AU23: usize = 13;
    const AU45: usize = 16;

    #[test]
    fn maps_aus_gaze_and_pose_onto_blendshape_channels() {
        let mut aus = [0.0; 17];
        aus[AU12] = 4.0;
        aus[AU06] = 2.5;
        aus[AU23] = 1.0;
        aus[AU45] = 5.0;
        let text = csv(&[row(1, 0.0, 1, [0.25, -0.1], [0.1, -0.2, 0.05], aus)]);
        let import = read_openface(text.as_bytes()).expect("valid OpenFace CSV");
        let face = &import.signals[0];
        let close = |a: f32, b: f32| (a - b).abs() < 1e-5;
        assert!(close(face.blendshape(B::MOUTH_SMILE_LEFT), 0.8));
        assert!(close(face.blendshape(B::MOUTH_SMILE_RIGHT), 0.8));
        assert!(close(face.blendshape(B::CHEEK_SQUINT_LEFT), 0.5));
        assert!(
            close(face.blendshape(B::EYE_SQUINT_RIGHT), 0.5),
            "AU06 drives eyeSquint too"
        );
        assert!(close(face.blendshape(B::MOUTH_PRESS_LEFT), 0.2));
        assert!(close(face.blendshape(B::EYE_BLINK_LEFT), 1.0));
        // Gaze 0.25 rad towards the subject's left, 0.1 rad up.
        assert!(close(face.blendshape(B::EYE_LOOK_OUT_LEFT), 0.5));
        assert!(close(face.blendshape(B::EYE_LOOK_IN_RIGHT), 0.5));
        assert!(close(face.blendshape(B::EYE_LOOK_IN_LEFT), 0.0));
        assert!(close(face.blendshape(B::EYE_LOOK_UP_LEFT), 0.2));
        assert!(close(face.blendshape(B::EYE_LOOK_DOWN_LEFT), 0.0));
        assert!((face.head_pose.pitch_deg - (-0.1_f32.to_degrees())).abs() < 1e-3);
        assert!((face.head_pose.yaw_deg - 0.2_f32.to_degrees()).abs() < 1e-3);
        assert!((face.head_pose.roll_deg - 0.05_f32.to_degrees()).abs() < 1e-3);
        assert!(close(face.presence, 0.98));
        assert_eq!(face.track, TrackId(0));
        assert!(face.landmarks_in_image.is_empty());
        assert_eq!(
            import.unavailable_cues,
            vec![CueId::UnilateralLipCorner, CueId::PupilDilation]
        );
        assert!(import.notes.iter().any(|n| n.contains("AU24")));
    }

    #[test]
    fn two_aus_on_one_channel_combine_by_maximum() {
        let mut aus = [0.0; 17];
        aus[AU06] = 1.0;
        aus[5] = 3.0; // AU07
        let text = csv(&[row(1, 0.0, 1, [0.0; 2], [0.0; 3], aus)]);
        let face = &read_openface(text.as_bytes()).expect("valid").signals[0];
        assert!((face.blendshape(B::EYE_SQUINT_LEFT) - 0.6).abs() < 1e-6);
        assert!((face.blendshape(B::CHEEK_SQUINT_LEFT) - 0.2).abs() < 1e-6);
    }

    #[test]
    fn failed_rows_get_presence_zero_and_tracks_come_from_face_id() {
        let text = "frame,face_id,timestamp,confidence,success,AU01_r,AU02_r\n\
                    1,0,0.000,0.9,1,0.5,0.5\n\
                    1,1,0.000,0.9,1,0.0,0.0\n\
                    2,0,0.033,0.1,0,0.0,0.0\n\
                    2,1,0.033,0.9,1,1.0,1.0\n";
        let import = read_openface(text.as_bytes()).expect("valid");
        let tracks: Vec<u32> = import.signals.iter().map(|s| s.track.0).collect();
        assert_eq!(tracks, vec![0, 1, 0, 1]);
        assert_eq!(import.signals[2].presence, 0.0);
        assert!(
            import
                .notes
                .iter()
                .any(|n| n.contains("1 rows had success=0"))
        );
        // Only brow AUs: everything but the eyebrow flash is unavailable, and gaze aversion
        // too (no gaze, no pose).
        assert!(!import.unavailable_cues.contains(&CueId::EyebrowFlash));
        for cue in [
            CueId::GenuineSmile,
            CueId::LipCompression,
            CueId::GazeAversion,
            CueId::MicroSurprise,
            CueId::BlinkCluster,
            CueId::UnilateralLipCorner,
            CueId::PupilDilation,
        ] {
            assert!(import.unavailable_cues.contains(&cue), "{cue}");
        }
    }

    #[test]
    fn pose_without_gaze_keeps_gaze_aversion_available() {
        let text = "timestamp,pose_Rx,pose_Ry,pose_Rz,AU45_r\n0.0,0,0.5,0,0\n0.04,0,0,0,0\n";
        let import = read_openface(text.as_bytes()).expect("valid");
        assert!(!import.unavailable_cues.contains(&CueId::GazeAversion));
        assert!(!import.unavailable_cues.contains(&CueId::BlinkCluster));
        assert!((import.signals[0].head_pose.yaw_deg + 28.6479).abs() < 1e-3);
    }

    #[test]
    fn errors_name_the_line_the_column_and_what_to_do() {
        let not_openface = "name,age\nada,36\n";
        let error = read_openface(not_openface.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("line 1:"), "{error}");
        assert!(error.contains("is this an OpenFace 2.x CSV?"), "{error}");

        let bad_value = "frame, timestamp, AU12_r\n1, 0.0, 1.0\n2, 0.033, high\n";
        let error = read_openface(bad_value.as_bytes()).unwrap_err().to_string();
        assert_eq!(
            error,
            "line 3, column `AU12_r`: expected a finite number (got `high`)"
        );

        let short_row = "timestamp, AU12_r\n0.0, 1.0\n0.1\n";
        let error = read_openface(short_row.as_bytes()).unwrap_err();
        assert!(
            matches!(error, FormatError::Csv { line: 3, .. }),
            "{error:?}"
        );

        let image_folder = "frame, timestamp, AU12_r\n1, 0.0, 1.0\n2, 0.0, 1.0\n";
        let error = read_openface(image_folder.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("line 3: timestamp 0"), "{error}");
        assert!(error.contains("frame rate"), "{error}");
        // ... and with the frame rate it reads.
        let options = OpenFaceOptions {
            frame_rate_hz: Some(25.0),
        };
        let import = read_openface_with(image_folder.as_bytes(), &options).expect("frame times");
        assert_eq!(import.signals[1].pts_s, 0.04);

        let header_only = format!("{OPENFACE_HEADER}\n");
        let error = read_openface(header_only.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(error.contains("no data rows"), "{error}");

        let no_time = "frame, AU12_r\n1, 0.0\n";
        let error = read_openface(no_time.as_bytes()).unwrap_err().to_string();
        assert!(error.contains("no `timestamp` column"), "{error}");
    }

    /// The example of docs/formats.md, with the values the doc states.
    #[test]
    fn documented_example_gives_the_documented_values() {
        let text = "frame, face_id, timestamp, confidence, success, gaze_angle_x, gaze_angle_y, \
            pose_Rx, pose_Ry, pose_Rz, AU01_r, AU02_r, AU04_r, AU05_r, AU06_r, AU07_r, AU09_r, \
            AU10_r, AU12_r, AU14_r, AU15_r, AU17_r, AU20_r, AU23_r, AU25_r, AU26_r, AU45_r\n\
            1, 0, 0.000, 0.98, 1, 0.021, 0.105, 0.094, -0.031, 0.012, 0.00, 0.00, 0.35, 0.00, \
            0.00, 0.21, 0.00, 0.00, 0.00, 0.41, 0.00, 0.62, 0.00, 0.00, 0.00, 0.13, 0.00\n\
            2, 0, 0.033, 0.98, 1, 0.020, 0.104, 0.095, -0.030, 0.012, 0.00, 0.00, 0.33, 0.00, \
            2.10, 0.25, 0.00, 0.00, 2.85, 0.40, 0.00, 0.60, 0.00, 0.00, 0.00, 0.12, 0.00\n";
        let import = read_openface(text.as_bytes()).expect("the documented example reads");
        let face = &import.signals[1];
        let close = |a: f32, b: f32| (a - b).abs() < 1e-3;
        assert!(close(face.blendshape(B::MOUTH_SMILE_LEFT), 0.57));
        assert!(close(face.blendshape(B::CHEEK_SQUINT_RIGHT), 0.42));
        assert!(close(face.blendshape(B::EYE_SQUINT_LEFT), 0.42));
        assert!(close(face.blendshape(B::BROW_DOWN_RIGHT), 0.066));
        assert!(close(face.blendshape(B::EYE_LOOK_OUT_LEFT), 0.04));
        assert!(close(face.blendshape(B::EYE_LOOK_DOWN_RIGHT), 0.208));
        assert!((face.head_pose.yaw_deg - 1.7).abs() < 0.05);
        assert!((face.head_pose.pitch_deg + 5.4).abs() < 0.05);
        assert_eq!(
            import.unavailable_cues,
            vec![CueId::UnilateralLipCorner, CueId::PupilDilation]
        );
    }

    fn signals_json(pts_s: f64) -> String {
        let face = FaceSignals::neutral(TrackId(2), pts_s);
        serde_json::to_string(&face).expect("serialises")
    }

    #[test]
    fn signals_lines_round_trip_and_skip_blank_lines() {
        let text = format!("{}\n\n   \n{}\r\n", signals_json(0.0), signals_json(0.5));
        let faces: Vec<FaceSignals> = read_signals(text.as_bytes())
            .collect::<Result<_, _>>()
            .expect("valid lines");
        assert_eq!(faces.len(), 2);
        assert_eq!(faces[1].pts_s, 0.5);
        assert_eq!(faces[1].track, TrackId(2));
    }

    #[test]
    fn signals_errors_carry_the_line_number() {
        let mut short = FaceSignals::neutral(TrackId(0), 1.0);
        short.blendshapes.truncate(10);
        let text = format!(
            "{}\n\n{}\n{{\"pts_s\": 1}}\n",
            signals_json(0.0),
            serde_json::to_string(&short).expect("serialises")
        );
        let results: Vec<_> = read_signals(text.as_bytes()).collect();
        assert_eq!(results.len(), 3);
        assert!(results[0].is_ok());
        let invalid = results[1].as_ref().unwrap_err().to_string();
        assert!(
            invalid.starts_with("line 3: blendshapes must have 52"),
            "{invalid}"
        );
        let not_json = results[2].as_ref().unwrap_err();
        assert!(
            matches!(not_json, FormatError::SignalsJson { line: 4, .. }),
            "{not_json:?}"
        );
        assert!(
            parse_signals_line("not json", 7)
                .unwrap_err()
                .to_string()
                .starts_with("line 7:")
        );
    }
}
