//! MP4/MOV H.264 decoding: `re_mp4` demuxes the sample tables, `openh264` decodes.
//!
//! Timestamps come from the container: each sample's composition time (decode time plus its
//! `ctts` offset) mapped through the track's edit list as ffmpeg maps it: frames before the
//! edit's media start (or after its end) are decoded as references but not shown, and the
//! first shown frame is at 0 s. openh264 runs with
//! [`Flush::NoFlush`] so that it reorders B-frames into presentation order; the k-th decoded
//! picture is therefore the sample with the k-th smallest composition time, which is how each
//! picture gets its `pts_s` (openh264 itself does not carry timestamps through).
//!
//! Pictures come out upright: a rotation in the track header (portrait phone video) is
//! applied, as players and ffmpeg do.
//!
//! Corrupt input never panics: the `moov` index is parsed and its sample tables checked
//! before `re_mp4` builds its sample list (whose indexing would panic on inconsistent tables),
//! sample offsets are checked against the file length, and decoder errors become
//! [`SourceError::Decode`] with the frame index.
//!
//! Nor can it exhaust memory: the index is read only when it is complete and at most
//! [`MAX_MOOV_BYTES`]; tracks other than video are dropped before `re_mp4` lists their samples
//! (an hour of PCM audio is 170 million samples); the samples listed are at most
//! [`MAX_SAMPLES`]; frames are at most [`super::MAX_FRAME_PIXELS`].

use std::fs::File;
use std::io::{Cursor, Read, Seek, SeekFrom};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use openh264::OpenH264API;
use openh264::decoder::{Decoder, DecoderConfig, Flush};
use openh264::formats::YUVSource;
use re_mp4::{BoxHeader, MoovBox, Mp4, ReadBox, StsdBoxContent, TrakBox};

use super::{
    DecodeFailure, FrameSource, PtsOrigin, SourceError, SourceInfo, SourceKind, check_frame_size,
    io_error, median_rate,
};
use crate::Frame;

/// The largest `moov` index (or `moof` fragment header) read into memory. Real files: kilobytes
/// to a few megabytes; ten hours of video with audio, about 60 MB.
pub const MAX_MOOV_BYTES: u64 = 128 << 20;
/// The most samples listed over the kept tracks: 18.5 hours at 30 fps. `re_mp4` keeps 56 bytes
/// per sample, so this bounds its list at 112 MB, however few bytes declare the samples.
pub const MAX_SAMPLES: u64 = 2_000_000;
/// The most entries of an edit list (real files: one to three).
pub const MAX_EDITS: usize = 1024;
/// The `ftyp` box in front of the compact copy of `moov` that `re_mp4` parses.
const COMPACT_FTYP: &[u8; 20] = b"\0\0\0\x14ftypqt  \0\0\0\0qt  ";

/// An H.264 track in an MP4/MOV file (or in memory), decoded to RGB frames.
pub struct Mp4Source {
    info: SourceInfo,
    bytes: Bytes,
    /// Non-empty samples of the video track, in decode order.
    samples: Vec<SampleLocation>,
    /// For the k-th decoded picture (presentation order): its pts, or `None` when the edit
    /// list hides it.
    presentation_s: Vec<Option<f64>>,
    /// Median frame interval, used only if the decoder outputs more pictures than samples.
    frame_interval_s: f64,
    /// SPS and PPS from the `avcC` box, Annex-B framed.
    parameter_sets: Vec<u8>,
    nal_length_size: usize,
    decoder: Decoder,
    started: bool,
    next_sample: usize,
    pictures_decoded: usize,
    yielded: u64,
    sample_buffer: Vec<u8>,
    annex_b: Vec<u8>,
    /// The track's display rotation, applied to every picture.
    rotation: Rotation,
    /// A decoded picture before rotation (unused when there is none).
    unrotated: Vec<u8>,
    /// Pictures returned by `flush_remaining` at the end of the stream.
    flushed: Vec<FlushedPicture>,
    flushed_next: usize,
    drained: bool,
    finished: bool,
}

struct FlushedPicture {
    width: u32,
    height: u32,
    rgb: Vec<u8>,
}

#[derive(Debug, Clone, Copy)]
struct SampleLocation {
    offset_bytes: u64,
    size_bytes: u64,
}

/// Where sample bytes are read from.
enum Bytes {
    File { file: File, len_bytes: u64 },
    Memory(Vec<u8>),
}

impl Bytes {
    fn len_bytes(&self) -> u64 {
        match self {
            Self::File { len_bytes, .. } => *len_bytes,
            Self::Memory(bytes) => bytes.len() as u64,
        }
    }

    /// Fills `buffer` from `offset`; the caller has checked the range against the length.
    fn read_exact_at(&mut self, offset: u64, buffer: &mut [u8]) -> std::io::Result<()> {
        match self {
            Self::File { file, .. } => {
                file.seek(SeekFrom::Start(offset))?;
                file.read_exact(buffer)
            }
            Self::Memory(bytes) => {
                let start = usize::try_from(offset).map_err(std::io::Error::other)?;
                let source = bytes
                    .get(start..start + buffer.len())
                    .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::UnexpectedEof))?;
                buffer.copy_from_slice(source);
                Ok(())
            }
        }
    }
}

impl std::fmt::Debug for Mp4Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mp4Source")
            .field("info", &self.info)
            .field("samples", &self.samples.len())
            .field("next_sample", &self.next_sample)
            .finish_non_exhaustive()
    }
}

impl Mp4Source {
    /// Opens an MP4/MOV file. Errors with [`SourceError::NeedsFfmpeg`] when the video track is
    /// not H.264 (e.g. HEVC from phones).
    pub fn open(path: impl AsRef<Path>) -> Result<Self, SourceError> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|source| io_error(path, source))?;
        let len_bytes = file
            .metadata()
            .map_err(|source| io_error(path, source))?
            .len();
        Self::from_parts(path, Bytes::File { file, len_bytes })
    }

    /// Decodes a clip held in memory (e.g. one embedded in the binary); `name` stands for its
    /// path in [`SourceInfo`] and error messages.
    pub fn from_bytes(name: &str, bytes: Vec<u8>) -> Result<Self, SourceError> {
        Self::from_parts(Path::new(name), Bytes::Memory(bytes))
    }

    /// Number of video samples in the file, including any the edit list hides.
    pub fn sample_count(&self) -> usize {
        self.samples.len()
    }

    /// (offset, size) in bytes of each video sample, decode order (for corruption tests).
    #[cfg(test)]
    pub(crate) fn sample_ranges(&self) -> Vec<(u64, u64)> {
        self.samples
            .iter()
            .map(|sample| (sample.offset_bytes, sample.size_bytes))
            .collect()
    }

    fn from_parts(path: &Path, mut bytes: Bytes) -> Result<Self, SourceError> {
        let container = |reason: String| SourceError::Container {
            path: path.to_path_buf(),
            reason,
        };
        let mp4 = parse_container(&mut bytes).map_err(|failure| match failure {
            ParseFailure::Io(source) => io_error(path, source),
            ParseFailure::Invalid(reason) => container(reason),
        })?;
        let track = mp4
            .tracks()
            .values()
            .find(|track| {
                let trak = track.trak(&mp4);
                &trak.mdia.hdlr.handler_type.value == b"vide" && !track.samples.is_empty()
            })
            .ok_or_else(|| SourceError::NoVideoTrack {
                path: path.to_path_buf(),
            })?;
        let trak = track.trak(&mp4);
        let avc1 = match &trak.mdia.minf.stbl.stsd.contents {
            StsdBoxContent::Avc1(avc1) => avc1,
            other => {
                return Err(SourceError::NeedsFfmpeg {
                    path: path.to_path_buf(),
                    codec: codec_name(other),
                });
            }
        };
        let media_timescale = trak.mdia.mdhd.timescale;
        if media_timescale == 0 {
            return Err(container("the video track's timescale is 0".to_owned()));
        }
        let edits = trak
            .edts
            .as_ref()
            .and_then(|edts| edts.elst.as_ref())
            .map_or(0, |elst| elst.entries.len());
        if edits > MAX_EDITS {
            // Each frame's time is looked up in the edit list: keep that lookup short.
            return Err(container(format!(
                "its edit list has {edits} entries, more than microcue reads ({MAX_EDITS}) \
                 (corrupt file?)"
            )));
        }

        // Composition times in the track's media timescale, undoing re_mp4's shift (it moves
        // the earliest composition time to 0; edit lists refer to unshifted times). Its first
        // sample's unshifted composition time is the first `ctts` offset.
        let first_composition_offset = trak
            .mdia
            .minf
            .stbl
            .ctts
            .as_ref()
            .and_then(|ctts| ctts.entries.first())
            .map_or(0, |entry| i64::from(entry.sample_offset));
        let shift = if trak.mdia.minf.stbl.stsz.sample_count > 0 {
            first_composition_offset - track.samples[0].composition_timestamp
        } else {
            0
        };
        let mut samples = Vec::with_capacity(track.samples.len());
        let mut composition_times = Vec::with_capacity(track.samples.len());
        for sample in track.samples.iter().filter(|sample| sample.size > 0) {
            samples.push(SampleLocation {
                offset_bytes: sample.offset,
                size_bytes: sample.size,
            });
            composition_times.push(sample.composition_timestamp + shift);
        }
        composition_times.sort_unstable();

        let timeline = Timeline::new(
            trak,
            mp4.moov.mvhd.timescale,
            media_timescale,
            &composition_times,
        );
        let mut presentation_s: Vec<Option<f64>> = composition_times
            .iter()
            .map(|&composition| timeline.pts_s(composition))
            .collect();
        // Like ffmpeg, start at 0: when the edit begins between two frames, the frame it cuts
        // into is hidden and the next one is shown at 0 (not at the small offset).
        let first_shown_s = presentation_s
            .iter()
            .flatten()
            .copied()
            .fold(f64::INFINITY, f64::min);
        if first_shown_s.is_finite() && first_shown_s != 0.0 {
            for pts in presentation_s.iter_mut().flatten() {
                *pts -= first_shown_s;
            }
        }
        let frame_count = presentation_s.iter().flatten().count();
        if frame_count == 0 {
            return Err(container(
                "its edit list hides every frame of the video track".to_owned(),
            ));
        }
        let nominal_fps = median_rate(presentation_s.iter().flatten().copied());
        let duration_s = timeline.duration_s.or_else(|| {
            (trak.mdia.mdhd.duration > 0)
                .then(|| trak.mdia.mdhd.duration as f64 / f64::from(media_timescale))
        });

        let mut parameter_sets = Vec::new();
        for unit in avc1
            .avcc
            .sequence_parameter_sets
            .iter()
            .chain(&avc1.avcc.picture_parameter_sets)
        {
            parameter_sets.extend_from_slice(&[0, 0, 0, 1]);
            parameter_sets.extend_from_slice(&unit.bytes);
        }
        let nal_length_size = usize::from(avc1.avcc.length_size_minus_one & 0x3) + 1;

        let config = DecoderConfig::new().flush_after_decode(Flush::NoFlush);
        let decoder =
            Decoder::with_api_config(OpenH264API::from_source(), config).map_err(|error| {
                SourceError::Decode {
                    path: path.to_path_buf(),
                    frame_index: 0,
                    source: h264_failure(&error),
                }
            })?;

        let mut info = SourceInfo::new(
            path,
            SourceKind::Mp4H264,
            track
                .codec_string(&mp4)
                .map_or_else(|| "h264".to_owned(), |codec| format!("h264 ({codec})")),
            PtsOrigin::Container,
        );
        check_frame_size(path, u64::from(avc1.width), u64::from(avc1.height))?;
        let rotation = Rotation::of(trak);
        (info.width, info.height) =
            rotation.display_size(u32::from(avc1.width), u32::from(avc1.height));
        info.frame_count = Some(frame_count as u64);
        info.duration_s = duration_s;
        info.nominal_fps = nominal_fps;

        Ok(Self {
            info,
            bytes,
            samples,
            presentation_s,
            frame_interval_s: nominal_fps.map_or(1.0 / 30.0, |fps| 1.0 / fps),
            parameter_sets,
            nal_length_size,
            decoder,
            started: false,
            next_sample: 0,
            pictures_decoded: 0,
            yielded: 0,
            sample_buffer: Vec::new(),
            annex_b: Vec::new(),
            rotation,
            unrotated: Vec::new(),
            flushed: Vec::new(),
            flushed_next: 0,
            drained: false,
            finished: false,
        })
    }

    fn decode_error(&self, frame_index: usize, source: DecodeFailure) -> SourceError {
        SourceError::Decode {
            path: self.info.path.clone(),
            frame_index: frame_index as u64,
            source,
        }
    }

    fn advance(&mut self, frame: &mut Frame) -> Result<bool, SourceError> {
        if !self.started {
            self.started = true;
            if !self.parameter_sets.is_empty() {
                let result = self.decoder.decode(&self.parameter_sets).map(|_| ());
                result.map_err(|error| self.decode_error(0, h264_failure(&error)))?;
            }
        }
        loop {
            if let Some(picture) = self.flushed.get(self.flushed_next) {
                self.flushed_next += 1;
                let ordinal = self.pictures_decoded;
                self.pictures_decoded += 1;
                let pts = presentation_at(&self.presentation_s, ordinal, self.frame_interval_s);
                if let Some(pts_s) = pts {
                    self.rotation
                        .apply(&picture.rgb, picture.width, picture.height, frame);
                    frame.pts_s = pts_s;
                    frame.index = self.yielded;
                    self.yielded += 1;
                    return Ok(true);
                }
                continue;
            }
            if self.drained {
                return Ok(false);
            }
            if self.next_sample < self.samples.len() {
                let sample_index = self.next_sample;
                self.next_sample += 1;
                let location = self.samples[sample_index];
                load_annex_b(
                    &mut self.bytes,
                    location,
                    self.nal_length_size,
                    &mut self.sample_buffer,
                    &mut self.annex_b,
                )
                .map_err(|failure| self.decode_error(sample_index, failure))?;
                let picture = match self.decoder.decode(&self.annex_b) {
                    Ok(picture) => picture,
                    Err(error) => {
                        let failure = h264_failure(&error);
                        return Err(SourceError::Decode {
                            path: self.info.path.clone(),
                            frame_index: sample_index as u64,
                            source: failure,
                        });
                    }
                };
                if let Some(picture) = picture {
                    let ordinal = self.pictures_decoded;
                    self.pictures_decoded += 1;
                    let pts = presentation_at(&self.presentation_s, ordinal, self.frame_interval_s);
                    if let Some(pts_s) = pts {
                        let (width, height) = picture.dimensions();
                        check_picture_size(&self.info.path, sample_index, width, height)?;
                        let (width, height) = (width as u32, height as u32);
                        if self.rotation == Rotation::None {
                            frame.resize(width, height);
                            picture.write_rgb8(&mut frame.rgb);
                        } else {
                            self.unrotated
                                .resize(width as usize * height as usize * 3, 0);
                            picture.write_rgb8(&mut self.unrotated);
                            self.rotation.apply(&self.unrotated, width, height, frame);
                        }
                        frame.pts_s = pts_s;
                        frame.index = self.yielded;
                        self.yielded += 1;
                        return Ok(true);
                    }
                }
                continue;
            }
            // All samples fed: collect the pictures the decoder still holds for reordering.
            self.drained = true;
            let remaining = match self.decoder.flush_remaining() {
                Ok(remaining) => remaining,
                Err(error) => {
                    let failure = h264_failure(&error);
                    return Err(SourceError::Decode {
                        path: self.info.path.clone(),
                        frame_index: self.samples.len() as u64,
                        source: failure,
                    });
                }
            };
            for picture in remaining {
                let (width, height) = picture.dimensions();
                check_picture_size(&self.info.path, self.samples.len(), width, height)?;
                let mut rgb = vec![0; width * height * 3];
                picture.write_rgb8(&mut rgb);
                self.flushed.push(FlushedPicture {
                    width: width as u32,
                    height: height as u32,
                    rgb,
                });
            }
        }
    }
}

impl FrameSource for Mp4Source {
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

/// The pts of the `ordinal`-th decoded picture; past the sample count (which a well-formed
/// stream never reaches) it extrapolates at the median frame interval.
fn presentation_at(presentation_s: &[Option<f64>], ordinal: usize, interval_s: f64) -> Option<f64> {
    if let Some(pts) = presentation_s.get(ordinal) {
        return *pts;
    }
    let last_s = presentation_s.iter().rev().flatten().next().copied()?;
    Some(last_s + (ordinal + 1 - presentation_s.len()) as f64 * interval_s)
}

/// A decoded picture's size: within the frame limits and not empty.
fn check_picture_size(
    path: &Path,
    sample_index: usize,
    width: usize,
    height: usize,
) -> Result<(), SourceError> {
    let (width, height) = (width as u64, height as u64);
    check_frame_size(path, width, height)?;
    if width == 0 || height == 0 {
        return Err(SourceError::Decode {
            path: path.to_path_buf(),
            frame_index: sample_index as u64,
            source: DecodeFailure::EmptyPicture { width, height },
        });
    }
    Ok(())
}

fn h264_failure(error: &openh264::Error) -> DecodeFailure {
    DecodeFailure::H264 {
        state: error.native_code(),
    }
}

/// Reads one sample and rewrites its length-prefixed NAL units with Annex-B start codes.
fn load_annex_b(
    bytes: &mut Bytes,
    location: SampleLocation,
    nal_length_size: usize,
    sample_buffer: &mut Vec<u8>,
    annex_b: &mut Vec<u8>,
) -> Result<(), DecodeFailure> {
    let file_len_bytes = bytes.len_bytes();
    let end = location.offset_bytes.checked_add(location.size_bytes);
    if end.is_none_or(|end| end > file_len_bytes) {
        return Err(DecodeFailure::Truncated {
            offset_bytes: location.offset_bytes,
            size_bytes: location.size_bytes,
            file_len_bytes,
        });
    }
    let size = location.size_bytes as usize;
    sample_buffer.resize(size, 0);
    bytes
        .read_exact_at(location.offset_bytes, sample_buffer)
        .map_err(DecodeFailure::Io)?;
    annex_b.clear();
    let mut rest: &[u8] = sample_buffer;
    while !rest.is_empty() {
        if rest.len() < nal_length_size {
            return Err(DecodeFailure::BadNalLength {
                nal_len_bytes: rest.len() as u64,
                sample_len_bytes: size as u64,
            });
        }
        let (length_bytes, tail) = rest.split_at(nal_length_size);
        let nal_len = length_bytes
            .iter()
            .fold(0usize, |length, &byte| (length << 8) | usize::from(byte));
        if nal_len > tail.len() {
            return Err(DecodeFailure::BadNalLength {
                nal_len_bytes: nal_len as u64,
                sample_len_bytes: size as u64,
            });
        }
        let (nal, tail) = tail.split_at(nal_len);
        annex_b.extend_from_slice(&[0, 0, 0, 1]);
        annex_b.extend_from_slice(nal);
        rest = tail;
    }
    Ok(())
}

/// A track's display rotation, from its `tkhd` matrix (phones record portrait video as
/// landscape pictures plus this matrix). Other matrices (scaling, mirroring) are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rotation {
    None,
    Clockwise90,
    Half,
    Counterclockwise90,
}

impl Rotation {
    fn of(trak: &TrakBox) -> Self {
        const ONE: i32 = 1 << 16;
        const MINUS_ONE: i32 = -ONE;
        let matrix = &trak.tkhd.matrix;
        // Row vector [x y 1] times [[a b u] [c d v] [tx ty w]], y pointing down.
        match (matrix.a, matrix.b, matrix.c, matrix.d) {
            (0, ONE, MINUS_ONE, 0) => Self::Clockwise90,
            (0, MINUS_ONE, ONE, 0) => Self::Counterclockwise90,
            (MINUS_ONE, 0, 0, MINUS_ONE) => Self::Half,
            _ => Self::None,
        }
    }

    fn display_size(self, width: u32, height: u32) -> (u32, u32) {
        match self {
            Self::Clockwise90 | Self::Counterclockwise90 => (height, width),
            Self::None | Self::Half => (width, height),
        }
    }

    /// Writes the `width` x `height` RGB picture `source`, rotated, into `frame`.
    fn apply(self, source: &[u8], width: u32, height: u32, frame: &mut Frame) {
        let (display_width, display_height) = self.display_size(width, height);
        frame.resize(display_width, display_height);
        let (width, height) = (width as usize, height as usize);
        for (row, source_row) in source.chunks_exact(width * 3).enumerate() {
            for (column, pixel) in source_row.chunks_exact(3).enumerate() {
                let (x, y) = match self {
                    Self::None => (column, row),
                    Self::Clockwise90 => (height - 1 - row, column),
                    Self::Half => (width - 1 - column, height - 1 - row),
                    Self::Counterclockwise90 => (row, width - 1 - column),
                };
                let index = (y * display_width as usize + x) * 3;
                frame.rgb[index..index + 3].copy_from_slice(pixel);
            }
        }
    }
}

fn codec_name(contents: &StsdBoxContent) -> String {
    match contents {
        StsdBoxContent::Hvc1(_) | StsdBoxContent::Hev1(_) => "HEVC".to_owned(),
        StsdBoxContent::Av01(_) => "AV1".to_owned(),
        StsdBoxContent::Vp08(_) => "VP8".to_owned(),
        StsdBoxContent::Vp09(_) => "VP9".to_owned(),
        StsdBoxContent::Avc1(_) => "H.264".to_owned(),
        StsdBoxContent::Mp4a(_) | StsdBoxContent::Tx3g(_) => "not video".to_owned(),
        StsdBoxContent::Unknown(fourcc) => {
            let code = String::from_utf8_lossy(&fourcc.value).trim().to_owned();
            match code.as_str() {
                "avc3" | "avc2" | "avc4" => {
                    format!("H.264 with in-band parameter sets (`{code}`)")
                }
                _ => format!("codec `{code}`"),
            }
        }
    }
}

/// Maps composition times to presentation times through the edit list.
struct Timeline {
    /// Non-empty edits; `None` when the track has no usable edit list.
    segments: Option<Vec<EditSegment>>,
    /// Earliest composition time (the origin when there is no edit list).
    first_composition: i64,
    media_timescale: f64,
    /// Total duration of the non-empty edits, when there is an edit list.
    duration_s: Option<f64>,
}

struct EditSegment {
    presentation_start_s: f64,
    media_start: i64,
    /// Exclusive; `i64::MAX` for an open-ended edit.
    media_end: i64,
}

impl Timeline {
    fn new(
        trak: &TrakBox,
        movie_timescale: u32,
        media_timescale: u32,
        sorted_compositions: &[i64],
    ) -> Self {
        let first_composition = sorted_compositions.first().copied().unwrap_or(0);
        let mut timeline = Self {
            segments: None,
            first_composition,
            media_timescale: f64::from(media_timescale),
            duration_s: None,
        };
        let Some(elst) = trak.edts.as_ref().and_then(|edts| edts.elst.as_ref()) else {
            return timeline;
        };
        if movie_timescale == 0 || elst.entries.is_empty() {
            return timeline;
        }
        let mut segments = Vec::new();
        let mut cursor_s = 0.0;
        let mut shown_s = 0.0;
        for entry in &elst.entries {
            let media_time = if elst.version == 1 {
                entry.media_time as i64
            } else {
                i64::from(entry.media_time as u32 as i32)
            };
            let duration_s = entry.segment_duration as f64 / f64::from(movie_timescale);
            // media_time -1 is an empty edit (a gap); rate 0 is a dwell, treated as a gap.
            if media_time >= 0 && entry.media_rate != 0 {
                let media_end = if entry.segment_duration == 0 {
                    i64::MAX
                } else {
                    let scaled = (u128::from(entry.segment_duration) * u128::from(media_timescale)
                        + u128::from(movie_timescale / 2))
                        / u128::from(movie_timescale);
                    media_time.saturating_add(i64::try_from(scaled).unwrap_or(i64::MAX))
                };
                segments.push(EditSegment {
                    presentation_start_s: cursor_s,
                    media_start: media_time,
                    media_end,
                });
            }
            if media_time >= 0 && entry.media_rate != 0 {
                shown_s += duration_s;
            }
            cursor_s += duration_s;
        }
        if segments.is_empty() {
            return timeline;
        }
        timeline.duration_s = (shown_s > 0.0).then_some(shown_s);
        timeline.segments = Some(segments);
        timeline
    }

    fn pts_s(&self, composition: i64) -> Option<f64> {
        match &self.segments {
            None => Some((composition - self.first_composition) as f64 / self.media_timescale),
            Some(segments) => segments
                .iter()
                .find(|segment| {
                    composition >= segment.media_start && composition < segment.media_end
                })
                .map(|segment| {
                    segment.presentation_start_s
                        + (composition - segment.media_start) as f64 / self.media_timescale
                }),
        }
    }
}

enum ParseFailure {
    Io(std::io::Error),
    Invalid(String),
}

impl From<std::io::Error> for ParseFailure {
    fn from(error: std::io::Error) -> Self {
        Self::Io(error)
    }
}

/// Top-level boxes of the file, as far as they are complete.
struct TopLevel {
    moov: Option<(u64, u64)>,
    moov_cut_off: bool,
    /// More than one complete `moov`: re_mp4 would parse one this walk did not pick.
    second_moov: bool,
    /// (offset, size) of each complete `moof` box.
    fragments: Vec<(u64, u64)>,
    /// Number of top-level boxes.
    boxes: u64,
    has_fragments: bool,
    truncated: bool,
}

fn walk_top_level(bytes: &mut Bytes) -> std::io::Result<TopLevel> {
    let len_bytes = bytes.len_bytes();
    let mut top = TopLevel {
        moov: None,
        moov_cut_off: false,
        second_moov: false,
        fragments: Vec::new(),
        boxes: 0,
        has_fragments: false,
        truncated: false,
    };
    let mut offset = 0u64;
    while offset + 8 <= len_bytes {
        let mut header = [0u8; 8];
        bytes.read_exact_at(offset, &mut header)?;
        let size32 = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
        let kind = [header[4], header[5], header[6], header[7]];
        let (size, header_len) = match size32 {
            0 => (len_bytes - offset, 8),
            1 => {
                if offset + 16 > len_bytes {
                    top.truncated = true;
                    break;
                }
                let mut large = [0u8; 8];
                bytes.read_exact_at(offset + 8, &mut large)?;
                (u64::from_be_bytes(large), 16)
            }
            size => (u64::from(size), 8),
        };
        if size < header_len {
            top.truncated = true;
            break;
        }
        let complete = offset.checked_add(size).is_some_and(|end| end <= len_bytes);
        top.boxes += 1;
        match &kind {
            b"moov" if complete => {
                top.second_moov |= top.moov.is_some();
                top.moov = Some((offset, size));
            }
            b"moov" => top.moov_cut_off = true,
            b"moof" => {
                top.has_fragments = true;
                if complete {
                    top.fragments.push((offset, size));
                }
            }
            _ => {}
        }
        if !complete {
            top.truncated = true;
            break;
        }
        offset += size;
    }
    if offset < len_bytes && offset + 8 > len_bytes {
        top.truncated = true;
    }
    Ok(top)
}

/// What `re_mp4` reads from: the file's bytes with some box types renamed to `free` (so that
/// it skips them), and a budget of read and seek calls. re_mp4 steps from box to box by their
/// declared sizes and never checks that a step moves forward: a box of size 0 inside a
/// container sends it round in circles. Each call reads at least a byte or moves to the next
/// field, so a budget of a few calls per byte ends such a circle with an error instead.
struct Guarded<R> {
    /// Read from its start.
    inner: R,
    position: u64,
    /// (offset, new type): box types to rename.
    renames: Vec<(u64, [u8; 4])>,
    calls_left: u64,
}

impl<R> Guarded<R> {
    /// A reader of `inner`, whose parse should take at most a few calls per byte of `parsed`.
    fn new(inner: R, renames: Vec<(u64, [u8; 4])>, parsed_bytes: u64) -> Self {
        Self {
            inner,
            position: 0,
            renames,
            calls_left: parsed_bytes.saturating_mul(8).saturating_add(10_000),
        }
    }

    fn spend(&mut self) -> std::io::Result<()> {
        if self.calls_left == 0 {
            return Err(std::io::Error::other(
                "its boxes do not add up: reading them went round in circles",
            ));
        }
        self.calls_left -= 1;
        Ok(())
    }
}

impl<R: Read> Read for Guarded<R> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        self.spend()?;
        let start = self.position;
        let count = self.inner.read(buffer)?;
        self.position += count as u64;
        for (offset, kind) in &self.renames {
            for (at, byte) in (*offset..).zip(kind) {
                if (start..self.position).contains(&at) {
                    buffer[(at - start) as usize] = *byte;
                }
            }
        }
        Ok(count)
    }
}

impl<R: Seek> Seek for Guarded<R> {
    fn seek(&mut self, position: SeekFrom) -> std::io::Result<u64> {
        self.spend()?;
        self.position = self.inner.seek(position)?;
        Ok(self.position)
    }
}

/// The offsets of the type fields of the `udta` and `meta` boxes in `moov` and its `trak`s
/// (relative to `moov_bytes`), found by stepping through the boxes as re_mp4 does. re_mp4
/// parses their contents without checking declared sizes against what is there (a size
/// becomes an allocation), and microcue needs none of it: renamed to `free`, they are skipped.
/// `None` when the boxes of `moov` or of a `trak` do not add up: re_mp4 would step through
/// them differently and could meet a `udta` this walk did not see.
fn metadata_boxes(moov_bytes: &[u8]) -> Option<Vec<u64>> {
    let mut found = Vec::new();
    let sound = for_each_box_two_deep(moov_bytes, 0, b"trak", &mut |at, kind, _| {
        if matches!(&kind, b"udta" | b"meta") {
            found.push(at as u64 + 4);
        }
        true
    });
    sound.then_some(found)
}

/// A box header at `at`: (size, header length, type); `None` past the end of `bytes`. A
/// 64-bit size is returned as such; a size of 0 ("to the end") as 0.
fn box_header(bytes: &[u8], at: usize) -> Option<(u64, usize, [u8; 4])> {
    let header = bytes.get(at..at.checked_add(8)?)?;
    let size32 = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
    let kind = [header[4], header[5], header[6], header[7]];
    if size32 == 1 {
        let large = bytes.get(at + 8..at.checked_add(16)?)?;
        Some((u64::from_be_bytes(large.try_into().ok()?), 16, kind))
    } else {
        Some((u64::from(size32), 8, kind))
    }
}

/// Calls `visit(offset, type)` for each box inside the container box at
/// `container`, stepping by the declared sizes as re_mp4 does; stops at a size that would not
/// move forward or that exceeds the container's. Returns whether the children filled the
/// container exactly (nothing stopped the walk).
fn for_each_child(bytes: &[u8], container: usize, visit: &mut dyn FnMut(usize, [u8; 4])) -> bool {
    let Some((container_size, container_header, _)) = box_header(bytes, container) else {
        return false;
    };
    let end = (container as u64).saturating_add(container_size);
    let mut at = container + container_header;
    while (at as u64) < end {
        let Some((size, header, kind)) = box_header(bytes, at) else {
            return false;
        };
        if size < header as u64 || size > container_size {
            return false;
        }
        visit(at, kind);
        let Some(next) = usize::try_from(size)
            .ok()
            .and_then(|size| at.checked_add(size))
        else {
            return false;
        };
        at = next;
    }
    at as u64 == end
}

/// Calls `visit(offset, type, inside)` for each box inside `container` and, with `inside` set,
/// for each box inside those of type `into`. Returns whether every level filled its container
/// exactly (see [`for_each_child`]) and every `visit` returned true.
fn for_each_box_two_deep(
    bytes: &[u8],
    container: usize,
    into: &[u8; 4],
    visit: &mut dyn FnMut(usize, [u8; 4], bool) -> bool,
) -> bool {
    let mut inner_sound = true;
    let outer_sound = for_each_child(bytes, container, &mut |at, kind| {
        inner_sound &= visit(at, kind, false);
        if &kind == into {
            inner_sound &= for_each_child(bytes, at, &mut |at, kind| {
                inner_sound &= visit(at, kind, true);
            });
        }
    });
    outer_sound && inner_sound
}

/// Runs a `re_mp4` parse step, turning a panic on malformed tables into an error.
fn guarded<T>(step: impl FnOnce() -> re_mp4::Result<T>) -> Result<T, ParseFailure> {
    match catch_unwind(AssertUnwindSafe(step)) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(ParseFailure::Invalid(format!("{error} (corrupt file?)"))),
        Err(_) => Err(ParseFailure::Invalid(
            "the MP4 parser failed on malformed tables (corrupt file?)".to_owned(),
        )),
    }
}

fn parse_container(bytes: &mut Bytes) -> Result<Mp4, ParseFailure> {
    let top = walk_top_level(bytes)?;
    let Some((moov_offset, moov_size)) = top.moov else {
        let reason = if top.moov_cut_off {
            "its `moov` index is cut off: the file is truncated (an interrupted recording or \
             copy?)"
        } else if top.truncated {
            "no `moov` index before the data ends: the file is truncated or is not an MP4/MOV"
        } else {
            "no `moov` index: this is not an MP4/MOV file"
        };
        return Err(ParseFailure::Invalid(reason.to_owned()));
    };
    if top.second_moov {
        return Err(ParseFailure::Invalid(
            "it has more than one `moov` index (corrupt file?)".to_owned(),
        ));
    }
    if moov_size > MAX_MOOV_BYTES {
        return Err(ParseFailure::Invalid(format!(
            "its `moov` index claims {moov_size} bytes, more than microcue reads \
             ({MAX_MOOV_BYTES}) (corrupt file?)"
        )));
    }
    // Everything re_mp4 needs is in `moov` (sample offsets are absolute): it parses a compact
    // copy behind a synthetic `ftyp`. This also reads files whose `mdat` is cut off after a
    // complete `moov` (the frames present decode, then the first missing one is an error) and
    // QuickTime files without `ftyp`.
    let mut compact = Vec::with_capacity(COMPACT_FTYP.len() + moov_size as usize);
    compact.extend_from_slice(COMPACT_FTYP);
    compact.resize(COMPACT_FTYP.len() + moov_size as usize, 0);
    bytes.read_exact_at(moov_offset, &mut compact[COMPACT_FTYP.len()..])?;
    let Some(metadata) = metadata_boxes(&compact[COMPACT_FTYP.len()..]) else {
        return Err(ParseFailure::Invalid(
            "the boxes of its `moov` index do not add up (corrupt file?)".to_owned(),
        ));
    };
    let renames: Vec<(u64, [u8; 4])> = metadata.into_iter().map(|at| (at, *b"free")).collect();
    for &(at, kind) in &renames {
        let at = COMPACT_FTYP.len() + at as usize;
        compact[at..at + 4].copy_from_slice(&kind);
    }
    let moov_bytes = &compact[COMPACT_FTYP.len()..];
    let moov = guarded(|| {
        let mut reader = Guarded::new(Cursor::new(moov_bytes), Vec::new(), moov_size);
        let header = BoxHeader::read(&mut reader)?;
        MoovBox::read_box(&mut reader, header.size)
    })?;
    let fragmented = top.has_fragments && !top.truncated;
    // Only the video tracks are kept, when the box walk agrees with re_mp4's track list.
    let dropped = if fragmented {
        None
    } else {
        non_video_traks(moov_bytes, &moov)
    };
    let mut sample_total = 0u64;
    for (index, trak) in moov.traks.iter().enumerate() {
        if dropped
            .as_ref()
            .is_some_and(|dropped| dropped.iter().any(|&(trak, _)| trak == index))
        {
            continue;
        }
        sample_total += check_sample_tables(trak).map_err(|problem| {
            ParseFailure::Invalid(format!(
                "track {}: {problem} (corrupt file?)",
                trak.tkhd.track_id
            ))
        })?;
    }
    if fragmented {
        for &(offset, size) in &top.fragments {
            sample_total += fragment_sample_count(bytes, offset, size)?;
            check_sample_total(sample_total)?;
        }
    }
    check_sample_total(sample_total)?;
    if fragmented {
        // Fragmented MP4: samples live in `moof` boxes, which re_mp4 reads from the whole file
        // (skipping `mdat`), with the same boxes renamed as in the compact copy.
        let renames: Vec<(u64, [u8; 4])> = renames
            .iter()
            .map(|&(at, kind)| (moov_offset + at, kind))
            .collect();
        let fragment_bytes: u64 = top.fragments.iter().map(|&(_, size)| size).sum();
        let parsed_bytes = moov_size + fragment_bytes + 64 * top.boxes;
        return match bytes {
            Bytes::File { file, len_bytes } => {
                let len_bytes = *len_bytes;
                file.seek(SeekFrom::Start(0))?;
                let reader = std::io::BufReader::new(&mut *file);
                guarded(|| Mp4::read(Guarded::new(reader, renames, parsed_bytes), len_bytes))
            }
            Bytes::Memory(memory) => {
                let len_bytes = memory.len() as u64;
                let reader = Guarded::new(Cursor::new(&memory[..]), renames, parsed_bytes);
                guarded(|| Mp4::read(reader, len_bytes))
            }
        };
    }
    if let Some(dropped) = dropped
        && !dropped.is_empty()
    {
        for (_, range) in dropped.iter().rev() {
            let start = COMPACT_FTYP.len() + range.start;
            compact.drain(start..COMPACT_FTYP.len() + range.end);
        }
        let removed: usize = dropped.iter().map(|(_, range)| range.len()).sum();
        set_box_size(
            &mut compact[COMPACT_FTYP.len()..],
            moov_size - removed as u64,
        );
    }
    let len_bytes = compact.len() as u64;
    let reader = Guarded::new(Cursor::new(&compact[..]), Vec::new(), len_bytes);
    guarded(|| Mp4::read(reader, len_bytes))
}

fn check_sample_total(sample_total: u64) -> Result<(), ParseFailure> {
    if sample_total > MAX_SAMPLES {
        return Err(ParseFailure::Invalid(format!(
            "it lists {sample_total} samples, more than microcue reads ({MAX_SAMPLES}, 18 hours \
             at 30 fps) (corrupt file?)\nhint: split a longer recording, e.g. \
             `ffmpeg -i IN -c copy -f segment -segment_time 3600 part%02d.mp4`"
        )));
    }
    Ok(())
}

/// The samples a `moof` box lists (every run of every track), counted from its bytes before
/// re_mp4 parses it: re_mp4 loops over a run's sample count even when the run stores nothing
/// per sample, so a hostile count would cost seconds per run. Only fragments whose boxes step
/// exactly as re_mp4 steps are accepted, so that it finds no run this count missed.
fn fragment_sample_count(bytes: &mut Bytes, offset: u64, size: u64) -> Result<u64, ParseFailure> {
    if size > MAX_MOOV_BYTES {
        return Err(ParseFailure::Invalid(format!(
            "a `moof` fragment claims {size} bytes, more than microcue reads ({MAX_MOOV_BYTES}) \
             (corrupt file?)"
        )));
    }
    let mut moof_bytes = vec![0u8; size as usize];
    bytes.read_exact_at(offset, &mut moof_bytes)?;
    let mut total = 0u64;
    let sound = for_each_box_two_deep(&moof_bytes, 0, b"traf", &mut |at, kind, inside| {
        if !(inside && &kind == b"trun") {
            return true;
        }
        run_sample_count(&moof_bytes, at)
            .map(|count| total += u64::from(count))
            .is_some()
    });
    if !sound {
        return Err(ParseFailure::Invalid(format!(
            "the `moof` fragment at byte {offset}: its boxes do not add up (corrupt file?)"
        )));
    }
    Ok(total)
}

/// The sample count of the `trun` box at `at` (after its header, version and flags); `None`
/// when the box is too short to hold it.
fn run_sample_count(bytes: &[u8], at: usize) -> Option<u32> {
    let (size, header, _) = box_header(bytes, at)?;
    if size < header as u64 + 8 {
        return None;
    }
    let count = bytes.get(at + header + 4..at + header + 8)?;
    Some(u32::from_be_bytes(count.try_into().ok()?))
}

/// The `trak` boxes of `moov_bytes` that are not video, as (index into `moov.traks`, byte
/// range in `moov_bytes`); `None` when the boxes and re_mp4's track list do not line up.
fn non_video_traks(
    moov_bytes: &[u8],
    moov: &MoovBox,
) -> Option<Vec<(usize, std::ops::Range<usize>)>> {
    let mut traks = Vec::new();
    let mut ends_inside = true;
    for_each_child(moov_bytes, 0, &mut |at, kind| {
        if &kind == b"trak" {
            let size = box_header(moov_bytes, at).map_or(0, |(size, _, _)| size);
            match usize::try_from(size)
                .ok()
                .and_then(|size| at.checked_add(size))
            {
                Some(end) if end <= moov_bytes.len() => traks.push(at..end),
                _ => ends_inside = false,
            }
        }
    });
    if !ends_inside || traks.len() != moov.traks.len() {
        return None;
    }
    Some(
        traks
            .into_iter()
            .enumerate()
            .filter(|(index, _)| &moov.traks[*index].mdia.hdlr.handler_type.value != b"vide")
            .collect(),
    )
}

/// Rewrites the size in the box header at the start of `box_bytes` (a size of 0, "to the end",
/// stays as it is).
fn set_box_size(box_bytes: &mut [u8], size: u64) {
    match u32::from_be_bytes([box_bytes[0], box_bytes[1], box_bytes[2], box_bytes[3]]) {
        0 => {}
        1 => box_bytes[8..16].copy_from_slice(&size.to_be_bytes()),
        _ => box_bytes[..4].copy_from_slice(&(size as u32).to_be_bytes()),
    }
}

/// Checks that a track's sample tables are consistent, walking them exactly as
/// `re_mp4`'s sample-list builder does (which indexes without bounds checks). Returns the
/// number of samples it will list.
fn check_sample_tables(trak: &TrakBox) -> Result<u64, String> {
    let stbl = &trak.mdia.minf.stbl;
    let declared = stbl.stsz.sample_count as usize;
    if stbl.stsz.sample_size == 0 && stbl.stsz.sample_sizes.len() < declared {
        return Err("the sample size table (stsz) is short".to_owned());
    }
    // re_mp4 lists every entry of a per-sample size table, even beyond the declared count.
    let sample_count = if stbl.stsz.sample_size == 0 {
        stbl.stsz.sample_sizes.len()
    } else {
        declared
    };
    if sample_count as u64 > MAX_SAMPLES {
        return Err(format!(
            "it lists {sample_count} samples, more than microcue reads ({MAX_SAMPLES}, 18 hours \
             at 30 fps)"
        ));
    }
    if sample_count == 0 {
        return Ok(0);
    }
    let chunk_count = match (&stbl.stco, &stbl.co64) {
        (Some(stco), _) => stco.entries.len(),
        (None, Some(co64)) => co64.entries.len(),
        (None, None) => return Err("no chunk offset table (stco/co64)".to_owned()),
    };
    let runs = &stbl.stsc.entries;
    if runs.is_empty() {
        return Err("empty sample-to-chunk table (stsc)".to_owned());
    }
    if runs.iter().any(|run| run.first_chunk == 0) {
        return Err("the sample-to-chunk table (stsc) refers to chunk 0".to_owned());
    }
    let mut chunk_index = 1u64;
    let mut run = 0usize;
    let mut last_sample_in_chunk = u64::from(runs[0].samples_per_chunk);
    let mut last_chunk_in_run = runs
        .get(1)
        .map_or(u64::MAX, |next| u64::from(next.first_chunk) - 1);
    for sample_n in 1..sample_count as u64 {
        if sample_n < last_sample_in_chunk {
            continue;
        }
        chunk_index += 1;
        if chunk_index > last_chunk_in_run {
            run += 1;
            last_chunk_in_run = runs
                .get(run + 1)
                .map_or(u64::MAX, |next| u64::from(next.first_chunk) - 1);
        }
        last_sample_in_chunk += u64::from(runs[run].samples_per_chunk);
    }
    if chunk_index > chunk_count as u64 {
        return Err(format!(
            "the samples need {chunk_index} chunks but the chunk offset table lists {chunk_count}"
        ));
    }

    let stts = &stbl.stts.entries;
    let mut stts_run = -1i64;
    let mut last_in_stts_run = -1i64;
    let mut last_decode_time = 0u64;
    for sample_n in 0..sample_count as i64 {
        if sample_n > last_in_stts_run {
            stts_run += 1;
            let Some(entry) = stts.get(stts_run as usize) else {
                return Err("the time-to-sample table (stts) is short".to_owned());
            };
            last_in_stts_run = last_in_stts_run.max(0) + i64::from(entry.sample_count);
        }
        if sample_n > 0 {
            last_decode_time += u64::from(stts[stts_run as usize].sample_delta);
        }
    }
    if last_decode_time > i64::MAX as u64 / 2 {
        return Err("sample times overflow".to_owned());
    }
    if trak.mdia.mdhd.duration < last_decode_time {
        return Err("the track duration (mdhd) ends before its last sample".to_owned());
    }

    if let Some(ctts) = &stbl.ctts {
        let mut ctts_run = -1i64;
        let mut last_in_ctts_run = -1i64;
        for sample_n in 0..sample_count as i64 {
            if sample_n >= last_in_ctts_run {
                ctts_run += 1;
                let Some(entry) = ctts.entries.get(ctts_run as usize) else {
                    return Err("the composition offset table (ctts) is short".to_owned());
                };
                last_in_ctts_run = last_in_ctts_run.max(0) + i64::from(entry.sample_count);
            }
        }
    }
    if let Some(stss) = &stbl.stss
        && stss.entries.contains(&0)
    {
        return Err("the sync sample table (stss) refers to sample 0".to_owned());
    }
    Ok(sample_count as u64)
}
