//! Tests of the frame sources: generated Y4M streams and image folders, and the real clips in
//! the repository's `tests/data/faces` and `assets/`. Tests that need the `ffmpeg` CLI fail,
//! saying what to install, when it is not on `PATH`.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use super::image_dir::natural_cmp;
use super::*;
use crate::test_support::{fixture, require_ffmpeg};

/// A clip of `tests/data/faces` (MANIFEST.md there gives each one's source and properties).
fn clip(name: &str) -> PathBuf {
    fixture(&format!("faces/{name}"))
}

/// The bundled demo clip: H.264 High with B-frames, 640x360, 30 fps, 72 frames.
fn single_face() -> PathBuf {
    let path = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../assets/single_face.mp4"
    ));
    assert!(path.is_file(), "{} is missing", path.display());
    path.to_path_buf()
}

/// Every frame of a source: (pts_s, width, height, mean RGB), plus the error that ended it.
struct Decoded {
    pts_s: Vec<f64>,
    sizes: Vec<(u32, u32)>,
    mean_rgb: Vec<[f64; 3]>,
    error: Option<SourceError>,
}

fn decode_all(source: &mut dyn FrameSource) -> Decoded {
    let mut frame = Frame::default();
    let mut decoded = Decoded {
        pts_s: Vec::new(),
        sizes: Vec::new(),
        mean_rgb: Vec::new(),
        error: None,
    };
    loop {
        match source.next_frame(&mut frame) {
            Ok(true) => {
                assert_eq!(
                    frame.index as usize,
                    decoded.pts_s.len(),
                    "frame.index counts frames"
                );
                assert_eq!(
                    frame.rgb.len(),
                    frame.width as usize * frame.height as usize * 3
                );
                decoded.pts_s.push(frame.pts_s);
                decoded.sizes.push((frame.width, frame.height));
                decoded.mean_rgb.push(mean_rgb(&frame));
            }
            Ok(false) => break,
            Err(error) => {
                decoded.error = Some(error);
                break;
            }
        }
    }
    // A finished source stays finished.
    assert!(matches!(source.next_frame(&mut frame), Ok(false)));
    decoded
}

fn mean_rgb(frame: &Frame) -> [f64; 3] {
    let mut sums = [0u64; 3];
    for pixel in frame.rgb.chunks_exact(3) {
        for (sum, &value) in sums.iter_mut().zip(pixel) {
            *sum += u64::from(value);
        }
    }
    let count = (frame.rgb.len() / 3).max(1) as f64;
    sums.map(|sum| sum as f64 / count)
}

fn assert_strictly_increasing(pts_s: &[f64], what: &str) {
    for (index, pair) in pts_s.windows(2).enumerate() {
        assert!(
            pair[1] > pair[0],
            "{what}: pts not increasing at frame {}: {} then {}",
            index + 1,
            pair[0],
            pair[1]
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Natural order

#[test]
fn natural_order_puts_frame2_before_frame10() {
    let mut names = vec![
        "frame10.png",
        "frame2.png",
        "frame1.png",
        "frame_003.png",
        "frame009.png",
    ];
    names.sort_by(|a, b| natural_cmp(a, b));
    assert_eq!(
        names,
        [
            "frame1.png",
            "frame2.png",
            "frame009.png",
            "frame10.png",
            "frame_003.png"
        ]
    );
    assert_eq!(natural_cmp("img_009", "img_10"), std::cmp::Ordering::Less);
    assert_eq!(natural_cmp("a1b2", "a1b10"), std::cmp::Ordering::Less);
    assert_eq!(
        natural_cmp("a01", "a1"),
        "a01".cmp("a1"),
        "ties break on the raw name"
    );
    assert_eq!(natural_cmp("same", "same"), std::cmp::Ordering::Equal);
}

// ---------------------------------------------------------------------------------------------
// Y4M

/// A solid-colour frame.
fn solid_frame(width: u32, height: u32, rgb: [u8; 3]) -> Frame {
    let mut frame = Frame::default();
    frame.resize(width, height);
    for pixel in frame.rgb.chunks_exact_mut(3) {
        pixel.copy_from_slice(&rgb);
    }
    frame
}

fn assert_close(actual: [u8; 3], expected: [u8; 3], tolerance: i32, what: &str) {
    for channel in 0..3 {
        let difference = (i32::from(actual[channel]) - i32::from(expected[channel])).abs();
        assert!(
            difference <= tolerance,
            "{what}: got {actual:?}, expected {expected:?} (tolerance {tolerance})"
        );
    }
}

/// Hand-written 4:2:0 Y4M: BT.601 limited-range red (Y 81, U 90, V 240) then green
/// (Y 145, U 54, V 34), 4x2 pixels, 25 fps.
fn handmade_y4m(colorspace: &str) -> Vec<u8> {
    let mut bytes = format!("YUV4MPEG2 W4 H2 F25:1 Ip A1:1{colorspace}\n").into_bytes();
    for (y, u, v) in [(81u8, 90u8, 240u8), (145, 54, 34)] {
        bytes.extend_from_slice(b"FRAME\n");
        bytes.extend_from_slice(&[y; 8]);
        bytes.extend_from_slice(&[u; 2]);
        bytes.extend_from_slice(&[v; 2]);
    }
    bytes
}

#[test]
fn y4m_c420jpeg_c420_and_default_headers_give_known_colours() {
    for colorspace in [" C420jpeg XYSCSS=420JPEG", " C420", " C420mpeg2", ""] {
        let bytes = handmade_y4m(colorspace);
        let mut source = Y4mSource::from_reader("stdin", Cursor::new(bytes)).expect("header");
        assert_eq!((source.info().width, source.info().height), (4, 2));
        assert_eq!(source.info().nominal_fps, Some(25.0));
        assert_eq!(source.frame_rate(), (25, 1));
        let mut frame = Frame::default();
        assert!(source.next_frame(&mut frame).expect("frame 0"));
        assert_close(frame.pixel(3, 1), [255, 0, 0], 3, colorspace);
        assert_eq!(frame.pts_s, 0.0);
        assert!(source.next_frame(&mut frame).expect("frame 1"));
        assert_close(frame.pixel(0, 0), [0, 255, 0], 3, colorspace);
        assert!((frame.pts_s - 0.04).abs() < 1e-12);
        assert!(!source.next_frame(&mut frame).expect("end"));
    }
}

#[test]
fn y4m_high_bit_depth_and_444_are_read() {
    // 10-bit 4:2:0: the 8-bit red above shifted left by 2, little-endian.
    let mut bytes = b"YUV4MPEG2 W2 H2 F30000:1001 C420p10\nFRAME\n".to_vec();
    for sample in [81u16 << 2; 4].into_iter().chain([90 << 2, 240 << 2]) {
        bytes.extend_from_slice(&sample.to_le_bytes());
    }
    let mut source = Y4mSource::from_reader("ten-bit", Cursor::new(bytes)).expect("header");
    let mut frame = Frame::default();
    assert!(source.next_frame(&mut frame).expect("frame"));
    assert_close(frame.pixel(1, 1), [255, 0, 0], 3, "C420p10");
    assert!((source.info().nominal_fps.unwrap_or(0.0) - 29.97).abs() < 0.01);

    // Full-range 4:4:4 mid grey.
    let mut bytes = b"YUV4MPEG2 W1 H1 F1:1 C444 XCOLORRANGE=FULL\nFRAME\n".to_vec();
    bytes.extend_from_slice(&[128, 128, 128]);
    let mut source = Y4mSource::from_reader("grey", Cursor::new(bytes)).expect("header");
    assert!(source.next_frame(&mut frame).expect("frame"));
    assert_eq!(frame.pixel(0, 0), [128, 128, 128]);
}

#[test]
fn y4m_writer_round_trips_through_the_reader() {
    // Odd size on purpose: chroma planes round up.
    let (width, height) = (7, 5);
    let colours = [
        [200, 30, 40],
        [20, 180, 60],
        [50, 60, 220],
        [128, 128, 128],
        [250, 250, 250],
    ];
    let mut writer =
        Y4mWriter::with_fps(Vec::new(), width, height, 30000.0 / 1001.0).expect("header");
    for (index, colour) in colours.iter().enumerate() {
        let mut frame = solid_frame(width, height, *colour);
        frame.index = index as u64;
        writer.write_frame(&frame).expect("write");
    }
    assert_eq!(writer.frames_written(), colours.len() as u64);
    let bytes = writer.finish().expect("finish");
    assert!(bytes.starts_with(b"YUV4MPEG2 W7 H5 F30000:1001 "));

    let mut source = Y4mSource::from_reader("round-trip", Cursor::new(bytes)).expect("header");
    let mut frame = Frame::default();
    for (index, colour) in colours.iter().enumerate() {
        assert!(source.next_frame(&mut frame).expect("frame"));
        for (x, y) in [(0, 0), (6, 4), (3, 2)] {
            assert_close(
                frame.pixel(x, y),
                *colour,
                4,
                &format!("frame {index} at ({x},{y})"),
            );
        }
        let expected_pts = index as f64 * 1001.0 / 30000.0;
        assert!((frame.pts_s - expected_pts).abs() < 1e-9);
    }
    assert!(!source.next_frame(&mut frame).expect("end"));

    // A frame of the wrong size is refused, not written.
    let mut writer = Y4mWriter::new(Vec::new(), 4, 4, 25, 1).expect("header");
    let error = writer
        .write_frame(&solid_frame(2, 2, [0, 0, 0]))
        .expect_err("size mismatch");
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
}

#[test]
fn y4m_file_opens_by_extension_and_by_content() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bytes = handmade_y4m(" C420jpeg");
    let with_extension = dir.path().join("clip.y4m");
    let without_extension = dir.path().join("clip.raw");
    std::fs::write(&with_extension, &bytes).expect("write");
    std::fs::write(&without_extension, &bytes).expect("write");
    for path in [with_extension, without_extension] {
        let mut source = open_source(&SourceSpec::new(&path).with_ffmpeg(false)).expect("open");
        assert_eq!(source.info().kind, SourceKind::Y4m);
        assert_eq!(source.info().pts_origin, PtsOrigin::FixedRate);
        let decoded = decode_all(source.as_mut());
        assert!(decoded.error.is_none());
        assert_eq!(decoded.pts_s, [0.0, 0.04]);
    }
}

#[test]
fn y4m_bad_header_and_truncated_frame_are_clear_errors() {
    let error =
        Y4mSource::from_reader("stdin", Cursor::new(b"RIFF....".to_vec())).expect_err("not y4m");
    let message = error.to_string();
    assert!(
        message.contains("`stdin`") && message.contains("YUV4MPEG2"),
        "{message}"
    );

    let error = Y4mSource::from_reader("stdin", Cursor::new(Vec::new())).expect_err("empty");
    assert!(error.to_string().contains("empty"), "{error}");

    let error = Y4mSource::from_reader(
        "odd.y4m",
        Cursor::new(b"YUV4MPEG2 W4 H2 F25:1 C411\n".to_vec()),
    )
    .expect_err("4:1:1");
    assert!(error.to_string().contains("C411"), "{error}");

    // Second frame cut in half: the first frame is yielded, then an error names frame 1.
    let mut bytes = handmade_y4m(" C420jpeg");
    bytes.truncate(bytes.len() - 6);
    let mut source = Y4mSource::from_reader("cut.y4m", Cursor::new(bytes)).expect("header");
    let decoded = decode_all(&mut source);
    assert_eq!(decoded.pts_s.len(), 1);
    match decoded.error {
        Some(SourceError::Decode {
            path,
            frame_index: 1,
            source:
                DecodeFailure::ShortFrame {
                    got_bytes: 6,
                    expected_bytes: 12,
                },
        }) => assert_eq!(path, Path::new("cut.y4m")),
        other => panic!("expected a short-frame error at frame 1, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Image folders

/// Writes 5 PNGs named so that only natural order is right; frame k is a solid grey 40*k+20.
fn write_png_folder(dir: &Path) -> Vec<u8> {
    let names = ["f1.png", "f2.png", "f3.png", "f9.png", "f10.png"];
    let mut greys = Vec::new();
    for (index, name) in names.iter().enumerate() {
        let grey = 40 * index as u8 + 20;
        let image = image::RgbImage::from_pixel(6, 4, image::Rgb([grey, grey / 2, 255 - grey]));
        image.save(dir.join(name)).expect("save png");
        greys.push(grey);
    }
    // Not a frame: ignored.
    std::fs::write(dir.join("notes.txt"), b"not an image").expect("write");
    greys
}

#[test]
fn image_folder_yields_frames_in_natural_order_at_the_given_fps() {
    let dir = tempfile::tempdir().expect("tempdir");
    let greys = write_png_folder(dir.path());
    let mut source = open_source(&SourceSpec::new(dir.path()).with_fps(25.0)).expect("open");
    let info = source.info().clone();
    assert_eq!(info.kind, SourceKind::ImageFolder);
    assert_eq!((info.width, info.height), (6, 4));
    assert_eq!(info.frame_count, Some(5));
    assert_eq!(info.duration_s, Some(0.2));
    assert_eq!(info.codec, "png");
    let mut frame = Frame::default();
    for (index, grey) in greys.iter().enumerate() {
        assert!(source.next_frame(&mut frame).expect("frame"));
        assert!(
            (frame.pts_s - index as f64 * 0.04).abs() < 1e-12,
            "pts {}",
            frame.pts_s
        );
        assert_eq!(
            frame.pixel(5, 3),
            [*grey, grey / 2, 255 - grey],
            "frame {index}"
        );
    }
    assert!(!source.next_frame(&mut frame).expect("end"));
}

#[test]
fn image_folder_converts_grey_rgba_bmp_and_jpeg() {
    let dir = tempfile::tempdir().expect("tempdir");
    image::GrayImage::from_pixel(3, 2, image::Luma([77]))
        .save(dir.path().join("a1.png"))
        .expect("save");
    image::RgbaImage::from_pixel(3, 2, image::Rgba([10, 20, 30, 40]))
        .save(dir.path().join("a2.png"))
        .expect("save");
    image::RgbImage::from_pixel(3, 2, image::Rgb([200, 100, 50]))
        .save(dir.path().join("a3.bmp"))
        .expect("save");
    image::RgbImage::from_pixel(3, 2, image::Rgb([90, 160, 220]))
        .save(dir.path().join("a4.JPG"))
        .expect("save");
    let mut source = ImageDirSource::open(dir.path(), 10.0).expect("open");
    assert_eq!(source.files().len(), 4);
    let mut frame = Frame::default();
    let expected = [[77, 77, 77], [10, 20, 30], [200, 100, 50], [90, 160, 220]];
    for (index, colour) in expected.iter().enumerate() {
        assert!(source.next_frame(&mut frame).expect("frame"));
        let tolerance = if index == 3 { 6 } else { 0 };
        assert_close(
            frame.pixel(1, 1),
            *colour,
            tolerance,
            &format!("frame {index}"),
        );
    }
    assert!(!source.next_frame(&mut frame).expect("end"));
}

#[test]
fn image_folder_errors_name_the_folder_and_frame() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_png_folder(dir.path());
    let error = open_source(&SourceSpec::new(dir.path())).expect_err("no fps");
    let message = error.to_string();
    assert!(message.contains("image folders need --fps"), "{message}");
    assert!(matches!(error, SourceError::MissingFps { .. }));
    assert!(matches!(
        ImageDirSource::open(dir.path(), 0.0),
        Err(SourceError::InvalidFps { .. })
    ));

    let empty = tempfile::tempdir().expect("tempdir");
    let error = ImageDirSource::open(empty.path(), 25.0).expect_err("empty");
    assert!(matches!(error, SourceError::EmptyFolder { .. }), "{error}");

    // A frame of another size stops the folder at that frame.
    image::RgbImage::from_pixel(8, 8, image::Rgb([0, 0, 0]))
        .save(dir.path().join("f11.png"))
        .expect("save");
    std::fs::write(dir.path().join("f12.png"), b"not a png").expect("write");
    let mut source = ImageDirSource::open(dir.path(), 25.0).expect("open");
    let decoded = decode_all(&mut source);
    assert_eq!(decoded.pts_s.len(), 5);
    match decoded.error {
        Some(SourceError::Decode {
            frame_index: 5,
            source: DecodeFailure::SizeChanged { path, .. },
            ..
        }) => {
            assert!(path.ends_with("f11.png"));
        }
        other => panic!("expected a size change at frame 5, got {other:?}"),
    }

    std::fs::remove_file(dir.path().join("f11.png")).expect("remove");
    let mut source = ImageDirSource::open(dir.path(), 25.0).expect("open");
    let decoded = decode_all(&mut source);
    match decoded.error {
        Some(error @ SourceError::Decode { frame_index: 5, .. }) => {
            let chain = format!(
                "{error}: {}",
                std::error::Error::source(&error)
                    .map(ToString::to_string)
                    .unwrap_or_default()
            );
            assert!(chain.contains("f12.png"), "{chain}");
        }
        other => panic!("expected an image error at frame 5, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// MP4 / MOV (H.264, native)

#[test]
fn single_face_mp4_has_72_frames_in_presentation_order() {
    let path = single_face();
    let mut source = Mp4Source::open(&path).expect("open");
    let info = source.info().clone();
    assert_eq!(info.kind, SourceKind::Mp4H264);
    assert_eq!(info.pts_origin, PtsOrigin::Container);
    assert_eq!((info.width, info.height), (640, 360));
    assert_eq!(info.frame_count, Some(72));
    let fps = info.nominal_fps.expect("fps");
    assert!((fps - 30.0).abs() < 0.01, "nominal fps {fps}");
    assert!(info.codec.starts_with("h264"), "{}", info.codec);

    let decoded = decode_all(&mut source);
    assert!(decoded.error.is_none(), "{:?}", decoded.error);
    assert_eq!(decoded.pts_s.len(), 72, "B-frame clip must not stop early");
    assert!(decoded.sizes.iter().all(|&size| size == (640, 360)));
    assert_eq!(decoded.pts_s[0], 0.0);
    assert_strictly_increasing(&decoded.pts_s, "single_face.mp4");
    let mean_interval_s = decoded.pts_s[71] / 71.0;
    assert!(
        (mean_interval_s - 1.0 / 30.0).abs() < 1e-6,
        "interval {mean_interval_s}"
    );
    // Real picture content, not grey or green (a broken YUV conversion).
    let [red, green, blue] = decoded.mean_rgb[36];
    assert!(
        red > 40.0 && green > 30.0 && blue > 20.0,
        "{:?}",
        decoded.mean_rgb[36]
    );
}

#[test]
fn mp4_frame_buffer_is_reused() {
    let path = single_face();
    let mut source = Mp4Source::open(&path).expect("open");
    let mut frame = Frame::default();
    assert!(source.next_frame(&mut frame).expect("frame 0"));
    let buffer = frame.rgb.as_ptr();
    for _ in 0..20 {
        assert!(source.next_frame(&mut frame).expect("frame"));
        assert_eq!(frame.rgb.as_ptr(), buffer, "the RGB buffer was reallocated");
    }
}

#[test]
fn mp4_from_bytes_matches_the_file() {
    let path = single_face();
    let bytes = std::fs::read(&path).expect("read");
    let mut in_memory = Mp4Source::from_bytes("demo.mp4", bytes).expect("from bytes");
    assert_eq!(in_memory.info().name, "demo.mp4");
    let from_memory = decode_all(&mut in_memory);
    let from_file = decode_all(&mut Mp4Source::open(&path).expect("open"));
    assert!(from_memory.error.is_none());
    assert_eq!(from_memory.pts_s, from_file.pts_s);
    assert_eq!(from_memory.mean_rgb, from_file.mean_rgb);
}

#[test]
fn talking_face_decodes_all_1000_frames_at_25_fps() {
    let path = clip("talking_face_40s.mp4");
    let mut source = open_source(&SourceSpec::new(&path)).expect("open");
    assert_eq!(source.info().kind, SourceKind::Mp4H264);
    assert_eq!((source.info().width, source.info().height), (360, 288));
    let decoded = decode_all(source.as_mut());
    assert!(decoded.error.is_none(), "{:?}", decoded.error);
    assert_eq!(decoded.pts_s.len(), 1000);
    assert_strictly_increasing(&decoded.pts_s, "talking_face_40s.mp4");
    for (index, pts_s) in decoded.pts_s.iter().enumerate() {
        assert!(
            (pts_s - index as f64 * 0.04).abs() < 1e-9,
            "frame {index} at {pts_s}"
        );
    }
}

#[test]
fn no_face_mp4_edit_list_hides_three_leading_frames() {
    let path = clip("no_face.mp4");
    let mut source = Mp4Source::open(&path).expect("open");
    // 98 samples; the edit list starts presentation at media time 2392 (12288 per s), while
    // the composition times run 1024, 1536, 2048, 2560, ... (B-frames): the 3 frames before
    // 2392 decode (as references) but are not shown, and 2560 is shown at 0 s. 95 frames, with
    // the same timestamps as ffmpeg.
    assert_eq!(source.sample_count(), 98);
    assert_eq!(source.info().frame_count, Some(95));
    let decoded = decode_all(&mut source);
    assert!(decoded.error.is_none(), "{:?}", decoded.error);
    assert_eq!(decoded.pts_s.len(), 95);
    assert_eq!(decoded.pts_s[0], 0.0);
    assert_strictly_increasing(&decoded.pts_s, "no_face.mp4");
    assert!(
        (decoded.pts_s[94] - 94.0 / 24.0).abs() < 1e-6,
        "last pts {}",
        decoded.pts_s[94]
    );
}

#[test]
fn other_h264_clips_decode_with_their_frame_counts() {
    for (name, frames, fps) in [
        ("WolfgangLanger_Pexels_3s.mp4", 72, 24000.0 / 1001.0),
        ("cap13_edit2.mp4", 765, 25.0),
    ] {
        let path = clip(name);
        let mut source = Mp4Source::open(&path).expect("open");
        let decoded = decode_all(&mut source);
        assert!(decoded.error.is_none(), "{name}: {:?}", decoded.error);
        assert_eq!(decoded.pts_s.len(), frames, "{name}");
        assert_strictly_increasing(&decoded.pts_s, name);
        let nominal = source.info().nominal_fps.expect("fps");
        assert!((nominal - fps).abs() < 0.01, "{name}: {nominal}");
    }
}

#[test]
fn mp4_frames_match_ffmpeg_frame_for_frame() {
    require_ffmpeg();
    for (name, path) in [
        ("single_face.mp4", single_face()),
        ("no_face.mp4", clip("no_face.mp4")),
    ] {
        let native = decode_all(&mut Mp4Source::open(&path).expect("open"));
        let mut piped = FfmpegSource::open(&path).expect("ffmpeg");
        assert_eq!(piped.info().pts_origin, PtsOrigin::Ffprobe);
        let piped = decode_all(&mut piped);
        assert!(piped.error.is_none(), "{name}: {:?}", piped.error);
        assert_eq!(native.pts_s.len(), piped.pts_s.len(), "{name}");
        for (index, (native_pts, piped_pts)) in native.pts_s.iter().zip(&piped.pts_s).enumerate() {
            assert!(
                (native_pts - piped_pts).abs() < 1e-3,
                "{name} frame {index}: {native_pts} vs {piped_pts}"
            );
        }
        // Same picture at each index (B-frames reordered the same way): the mean colour of
        // frame i is closest to the other decoder's frame i among its neighbours.
        let distance = |a: [f64; 3], b: [f64; 3]| (0..3).map(|c| (a[c] - b[c]).abs()).sum::<f64>();
        for index in 1..native.mean_rgb.len() - 1 {
            let same = distance(native.mean_rgb[index], piped.mean_rgb[index]);
            assert!(same < 1.5, "{name} frame {index} differs by {same}");
            for neighbour in [index - 1, index + 1] {
                let other = distance(native.mean_rgb[index], piped.mean_rgb[neighbour]);
                assert!(
                    same <= other,
                    "{name} frame {index} looks more like ffmpeg's {neighbour}"
                );
            }
        }
    }
}

fn write_temp(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write temp file");
    path
}

#[test]
fn truncated_mp4_is_an_error_naming_the_file() {
    let path = single_face();
    let bytes = std::fs::read(&path).expect("read");
    let dir = tempfile::tempdir().expect("tempdir");
    // The index (`moov`) is at the end of this file, so 60% of it has no index.
    let cut = write_temp(dir.path(), "cut.mp4", &bytes[..bytes.len() * 6 / 10]);
    let error = Mp4Source::open(&cut).expect_err("truncated");
    let message = error.to_string();
    assert!(matches!(error, SourceError::Container { .. }), "{message}");
    assert!(
        message.contains("cut.mp4") && message.contains("truncated"),
        "{message}"
    );
}

#[test]
fn truncated_faststart_mp4_yields_frames_then_names_the_missing_one() {
    let path = single_face();
    require_ffmpeg();
    let dir = tempfile::tempdir().expect("tempdir");
    let faststart = dir.path().join("faststart.mp4");
    let status = std::process::Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(&path)
        .args(["-c", "copy", "-movflags", "+faststart"])
        .arg(&faststart)
        .status()
        .expect("run ffmpeg");
    assert!(status.success());
    let bytes = std::fs::read(&faststart).expect("read");
    let cut = write_temp(
        dir.path(),
        "cut_faststart.mp4",
        &bytes[..bytes.len() * 6 / 10],
    );
    let mut source = Mp4Source::open(&cut).expect("the index is complete");
    let decoded = decode_all(&mut source);
    assert!(
        decoded.pts_s.len() > 10,
        "frames before the cut decode: {}",
        decoded.pts_s.len()
    );
    assert!(decoded.pts_s.len() < 72);
    match decoded.error {
        Some(
            ref error @ SourceError::Decode {
                ref path,
                frame_index,
                source: DecodeFailure::Truncated { .. },
            },
        ) => {
            assert!(path.ends_with("cut_faststart.mp4"));
            assert!(frame_index > 10 && frame_index < 72, "{frame_index}");
            assert!(
                error.to_string().contains(&format!("frame {frame_index}")),
                "{error}"
            );
        }
        other => panic!("expected a truncation error, got {other:?}"),
    }
}

/// `path` remuxed by ffmpeg into a fragmented MP4 (`moof` boxes) in `dir`.
fn fragmented_copy(path: &Path, dir: &Path) -> PathBuf {
    require_ffmpeg();
    let fragmented = dir.join("fragmented.mp4");
    let status = std::process::Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(path)
        .args(["-c", "copy", "-an", "-movflags", "frag_keyframe+empty_moov"])
        .arg(&fragmented)
        .status()
        .expect("run ffmpeg");
    assert!(status.success());
    fragmented
}

#[test]
fn fragmented_mp4_decodes_like_the_original() {
    let path = single_face();
    let dir = tempfile::tempdir().expect("tempdir");
    let fragmented = fragmented_copy(&path, dir.path());
    let original = decode_all(&mut Mp4Source::open(&path).expect("open"));
    let mut source = Mp4Source::open(&fragmented).expect("open fragmented");
    assert_eq!(source.info().frame_count, Some(72));
    let decoded = decode_all(&mut source);
    assert!(decoded.error.is_none(), "{:?}", decoded.error);
    assert_eq!(decoded.pts_s.len(), 72);
    for (index, (a, b)) in decoded.pts_s.iter().zip(&original.pts_s).enumerate() {
        assert!((a - b).abs() < 1e-9, "frame {index}: {a} vs {b}");
    }
    assert_eq!(decoded.mean_rgb, original.mean_rgb);
}

#[test]
fn hostile_fragment_sample_runs_are_refused_before_parsing() {
    let path = single_face();
    let dir = tempfile::tempdir().expect("tempdir");
    let fragmented = fragmented_copy(&path, dir.path());
    let original = std::fs::read(&fragmented).expect("read");
    let moof = find_box(&original, b"moof");

    // A run that stores nothing per sample and claims 4 294 967 295 samples.
    let mut huge = original.clone();
    let run = moof + find_box(&huge[moof..], b"trun");
    huge[run + 9..run + 12].fill(0);
    huge[run + 12..run + 16].copy_from_slice(&u32::MAX.to_be_bytes());
    let error = Mp4Source::from_bytes("huge_run.mp4", huge).expect_err("refused");
    assert!(error.to_string().contains("4294967295 samples"), "{error}");

    // A box of size 0 inside a fragment's track (re_mp4 would read the same boxes again and
    // again, each time looping over the run's samples).
    let mut looping = original;
    let header = moof + find_box(&looping[moof..], b"tfhd");
    looping[header..header + 4].fill(0);
    let error = Mp4Source::from_bytes("looping.mp4", looping).expect_err("refused");
    assert!(error.to_string().contains("do not add up"), "{error}");
}

/// Frame `index` of a source (decoding from the start).
fn nth_frame(source: &mut dyn FrameSource, index: u64) -> Frame {
    let mut frame = Frame::default();
    loop {
        assert!(
            source.next_frame(&mut frame).expect("decode"),
            "no frame {index}"
        );
        if frame.index == index {
            return frame;
        }
    }
}

/// The display rotation ffprobe reads from `path`, degrees (`None` without one).
fn display_rotation(path: &Path) -> Option<i32> {
    let output = std::process::Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0"])
        .args(["-show_entries", "stream_side_data=rotation"])
        .args(["-of", "default=nw=1:nk=1"])
        .arg(path)
        .output()
        .expect("run ffprobe");
    String::from_utf8_lossy(&output.stdout).trim().parse().ok()
}

/// Copies `source` into `target` with a display rotation of `degrees`. ffmpeg up to 5.x writes
/// it from the `rotate` tag; later versions ignore the tag and take `-display_rotation` on the
/// input instead, so both are tried; a copy without a rotation fails the test.
fn rotated_copy(source: &Path, target: &Path, degrees: i32) {
    let tagged = [
        "-i".to_owned(),
        source.display().to_string(),
        "-metadata:s:v:0".to_owned(),
        format!("rotate={degrees}"),
    ];
    let rotation_option = [
        "-display_rotation".to_owned(),
        degrees.to_string(),
        "-i".to_owned(),
        source.display().to_string(),
    ];
    for input_args in [tagged, rotation_option] {
        let status = std::process::Command::new("ffmpeg")
            .args(["-nostdin", "-v", "quiet", "-y"])
            .args(&input_args)
            .args(["-c", "copy", "-an"])
            .arg(target)
            .status()
            .expect("run ffmpeg");
        let written = display_rotation(target).map(|rotation| rotation.rem_euclid(360));
        if status.success() && written.is_some_and(|r| r == degrees || r == 360 - degrees) {
            return;
        }
    }
    panic!(
        "this ffmpeg wrote no display rotation of {degrees} into {}",
        target.display()
    );
}

#[test]
fn rotated_phone_style_mp4_comes_out_upright_like_ffmpeg() {
    let path = single_face();
    require_ffmpeg();
    let dir = tempfile::tempdir().expect("tempdir");
    for degrees in [90, 180, 270] {
        let rotated = dir.path().join(format!("rotated_{degrees}.mp4"));
        rotated_copy(&path, &rotated, degrees);
        let mut piped = FfmpegSource::open(&rotated).expect("ffmpeg");
        let piped_size = (piped.info().width, piped.info().height);
        let upright = if degrees == 180 {
            (640, 360)
        } else {
            (360, 640)
        };
        assert_eq!(piped_size, upright, "ffmpeg applies rotate={degrees}");
        let mut native = Mp4Source::open(&rotated).expect("open");
        assert_eq!(
            (native.info().width, native.info().height),
            piped_size,
            "{degrees}"
        );
        let native_frame = nth_frame(&mut native, 30);
        let piped_frame = nth_frame(&mut piped, 30);
        assert_eq!(
            (native_frame.width, native_frame.height),
            (piped_frame.width, piped_frame.height)
        );
        let difference = native_frame
            .rgb
            .iter()
            .zip(&piped_frame.rgb)
            .map(|(a, b)| f64::from(a.abs_diff(*b)))
            .sum::<f64>()
            / native_frame.rgb.len() as f64;
        assert!(
            difference < 3.0,
            "rotate={degrees}: mean difference {difference}"
        );
    }
}

#[test]
fn random_bytes_named_mp4_are_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let noise: Vec<u8> = (0..50_000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    let path = write_temp(dir.path(), "noise.mp4", &noise);
    let error = open_source(&SourceSpec::new(&path)).expect_err("noise");
    let message = error.to_string();
    assert!(matches!(error, SourceError::Container { .. }), "{message}");
    assert!(
        message.contains("noise.mp4") && message.contains("not"),
        "{message}"
    );

    let empty = write_temp(dir.path(), "empty.mp4", b"");
    assert!(matches!(
        Mp4Source::open(&empty),
        Err(SourceError::Container { .. })
    ));
    assert!(matches!(
        Mp4Source::open(dir.path().join("missing.mp4")),
        Err(SourceError::NotFound { .. })
    ));
    let error = open_source(&SourceSpec::new(dir.path().join("missing.mkv"))).expect_err("missing");
    assert!(matches!(error, SourceError::NotFound { .. }), "{error}");
    assert!(error.to_string().contains("missing.mkv"), "{error}");
}

/// Offset of the first `kind` box inside `bytes` (a naive scan; fine for these files).
fn find_box(bytes: &[u8], kind: &[u8; 4]) -> usize {
    bytes
        .windows(4)
        .position(|window| window == kind)
        .map(|position| position - 4)
        .expect("box present")
}

#[test]
fn a_second_moov_or_a_moov_whose_boxes_do_not_add_up_is_refused() {
    let original = std::fs::read(single_face()).expect("read");
    let moov = find_box(&original, b"moov");
    let size = u32::from_be_bytes(original[moov..moov + 4].try_into().expect("4 bytes")) as usize;

    let mut twice = original.clone();
    twice.extend_from_slice(&original[moov..moov + size]);
    let error = Mp4Source::from_bytes("two_moov.mp4", twice).expect_err("refused");
    assert!(
        error.to_string().contains("more than one `moov`"),
        "{error}"
    );

    // `mvhd` declared 4 bytes long: re_mp4 would step into the middle of it.
    let mut short = original;
    short[moov + 8..moov + 12].copy_from_slice(&4u32.to_be_bytes());
    let error = Mp4Source::from_bytes("short_box.mp4", short).expect_err("refused");
    assert!(error.to_string().contains("do not add up"), "{error}");
}

#[test]
fn inconsistent_sample_tables_are_errors_not_panics() {
    let path = single_face();
    let original = std::fs::read(&path).expect("read");
    let dir = tempfile::tempdir().expect("tempdir");
    let moov = find_box(&original, b"moov");

    // stco lists a single chunk: the samples need more.
    let mut bytes = original.clone();
    let stco = moov + find_box(&bytes[moov..], b"stco");
    bytes[stco + 12..stco + 16].copy_from_slice(&1u32.to_be_bytes());
    let broken = write_temp(dir.path(), "stco.mp4", &bytes);
    let error = Mp4Source::open(&broken).expect_err("short stco");
    assert!(error.to_string().contains("chunk"), "{error}");

    // stsc refers to chunk 0.
    let mut bytes = original.clone();
    let stsc = moov + find_box(&bytes[moov..], b"stsc");
    bytes[stsc + 16..stsc + 20].copy_from_slice(&0u32.to_be_bytes());
    let broken = write_temp(dir.path(), "stsc.mp4", &bytes);
    assert!(matches!(
        Mp4Source::open(&broken),
        Err(SourceError::Container { .. })
    ));

    // stts covers fewer samples than stsz declares.
    let mut bytes = original.clone();
    let stts = moov + find_box(&bytes[moov..], b"stts");
    bytes[stts + 16..stts + 20].copy_from_slice(&3u32.to_be_bytes());
    let broken = write_temp(dir.path(), "stts.mp4", &bytes);
    let error = Mp4Source::open(&broken).expect_err("short stts");
    assert!(error.to_string().contains("stts"), "{error}");

    // A sample pointing past the end of the file.
    let mut bytes = original.clone();
    let stco = moov + find_box(&bytes[moov..], b"stco");
    let last_entry = stco
        + 16
        + 4 * (u32::from_be_bytes(bytes[stco + 12..stco + 16].try_into().expect("4 bytes"))
            as usize
            - 1);
    bytes[last_entry..last_entry + 4].copy_from_slice(&u32::MAX.to_be_bytes());
    let broken = write_temp(dir.path(), "offset.mp4", &bytes);
    let mut source = Mp4Source::open(&broken).expect("tables are consistent");
    let decoded = decode_all(&mut source);
    assert!(
        matches!(
            decoded.error,
            Some(SourceError::Decode {
                source: DecodeFailure::Truncated { .. },
                ..
            })
        ),
        "{:?}",
        decoded.error
    );
}

/// xorshift64: deterministic noise for corruption tests.
fn noise(state: &mut u64) -> u8 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    (*state >> 32) as u8
}

#[test]
fn corrupt_h264_data_never_panics() {
    let path = single_face();
    let original = std::fs::read(&path).expect("read");
    let samples = Mp4Source::open(&path).expect("open").sample_ranges();
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;

    // 1. Noise over 4 KB of media data, length prefixes included.
    let mut bytes = original.clone();
    for byte in &mut bytes[100_000..104_096] {
        *byte = noise(&mut state);
    }
    // 2. Noise inside the NAL payloads of samples 20..=24, length prefixes kept, so the
    //    garbage reaches openh264 itself.
    let mut payload_bytes = original.clone();
    for &(offset, size) in &samples[20..25] {
        let (start, end) = (offset as usize, (offset + size) as usize);
        let mut nal = start;
        while nal + 4 <= end {
            let len =
                u32::from_be_bytes(payload_bytes[nal..nal + 4].try_into().expect("4")) as usize;
            let payload = (nal + 6).min(end)..(nal + 4 + len).min(end);
            for byte in &mut payload_bytes[payload] {
                *byte = noise(&mut state);
            }
            nal += 4 + len;
        }
    }
    for (name, bytes) in [
        ("corrupt.mp4", bytes),
        ("corrupt_payload.mp4", payload_bytes),
    ] {
        let mut source = Mp4Source::from_bytes(name, bytes).expect("index intact");
        let decoded = decode_all(&mut source);
        eprintln!(
            "{name}: {} frames, then {:?}",
            decoded.pts_s.len(),
            decoded.error.as_ref().map(|error| (
                error.to_string(),
                std::error::Error::source(error).map(ToString::to_string)
            ))
        );
        // Either the damage is reported (an error naming the file and frame) or openh264
        // decodes through it; a panic is not acceptable. Frames before it are always yielded.
        assert!(decoded.pts_s.len() >= 10, "{name}: {}", decoded.pts_s.len());
        if let Some(error) = decoded.error {
            assert!(error.to_string().contains(name), "{error}");
            assert!(matches!(error, SourceError::Decode { .. }), "{error}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// HEVC / other formats through ffmpeg

#[test]
fn hevc_mov_needs_ffmpeg_with_a_clear_message() {
    let path = clip("face_noface_3s.mov");
    let error = open_source(&SourceSpec::new(&path).with_ffmpeg(false)).expect_err("HEVC");
    let message = error.to_string();
    assert_eq!(
        message,
        "`".to_owned()
            + &path.display().to_string()
            + "` is HEVC; microcue decodes H.264 natively; install ffmpeg (`apt-get install \
               ffmpeg` / `brew install ffmpeg`) to read it"
    );
}

#[test]
fn hevc_mov_decodes_through_ffmpeg_with_variable_frame_rate() {
    require_ffmpeg();
    let name = "face_noface_3s.mov";
    let mut source = open_source(&SourceSpec::new(clip(name))).expect("open");
    let info = source.info().clone();
    assert_eq!(info.kind, SourceKind::Ffmpeg);
    assert_eq!(info.codec, "hevc");
    assert_eq!(info.pts_origin, PtsOrigin::Ffprobe);
    assert_eq!((info.width, info.height), (960, 540));
    let decoded = decode_all(source.as_mut());
    assert!(decoded.error.is_none(), "{name}: {:?}", decoded.error);
    assert_eq!(
        decoded.pts_s.len(),
        90,
        "{name}: passthrough, no duplicated frames"
    );
    assert_eq!(decoded.pts_s[0], 0.0);
    assert_strictly_increasing(&decoded.pts_s, name);
    // Variable frame rate: the phone's 30 fps part, a 13.7 ms step, then the 24 fps animation.
    let intervals: Vec<f64> = decoded
        .pts_s
        .windows(2)
        .map(|pair| pair[1] - pair[0])
        .collect();
    let at_rate = |intervals: &[f64], fps: f64| {
        intervals
            .iter()
            .all(|interval| (interval - 1.0 / fps).abs() < 1e-3)
    };
    assert!(at_rate(&intervals[..72], 30.0), "{:?}", &intervals[..72]);
    assert!(at_rate(&intervals[74..], 24.0), "{:?}", &intervals[74..]);
    assert!((intervals[73] - 0.013672).abs() < 1e-5, "{}", intervals[73]);
}

#[test]
fn mjpeg_avi_reads_through_ffmpeg_or_says_what_to_install() {
    let path = clip("depth_sample_mjpeg.avi");
    let error = open_source(&SourceSpec::new(&path).with_ffmpeg(false)).expect_err("no ffmpeg");
    assert!(
        matches!(error, SourceError::UnsupportedFormat { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("install ffmpeg"), "{error}");
    require_ffmpeg();
    let mut source = open_source(&SourceSpec::new(&path)).expect("open");
    assert_eq!((source.info().width, source.info().height), (128, 200));
    let decoded = decode_all(source.as_mut());
    assert!(decoded.error.is_none(), "{:?}", decoded.error);
    assert_eq!(decoded.pts_s.len(), 30);
    assert_strictly_increasing(&decoded.pts_s, "depth_sample_mjpeg.avi");
}

#[test]
fn ffmpeg_failure_is_reported_with_its_message() {
    require_ffmpeg();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_temp(dir.path(), "garbage.avi", &[7u8; 4096]);
    let error = open_source(&SourceSpec::new(&path)).expect_err("garbage");
    let message = error.to_string();
    assert!(matches!(error, SourceError::Ffmpeg { .. }), "{message}");
    assert!(message.contains("garbage.avi"), "{message}");
}

// ---------------------------------------------------------------------------------------------
// Speed (run in release: `cargo test -p microcue_vision --release --lib decode_rate -- --ignored
// --nocapture`)

#[test]
#[ignore = "a measurement; run in release"]
fn decode_rate() {
    require_ffmpeg();
    let clips = [
        ("single_face.mp4", single_face(), false),
        ("talking_face_40s.mp4", clip("talking_face_40s.mp4"), false),
        ("single_face.mp4", single_face(), true),
        ("talking_face_40s.mp4", clip("talking_face_40s.mp4"), true),
        ("face_noface_3s.mov", clip("face_noface_3s.mov"), true),
    ];
    for (name, path, through_ffmpeg) in clips {
        // Best of 3 runs, opening included; wall clock, and this thread's CPU time (Linux),
        // which a busy machine disturbs less (the ffmpeg pipe's work is in child processes).
        let mut best_fps: f64 = 0.0;
        let mut best_cpu_fps: f64 = 0.0;
        let mut frames = 0;
        for _ in 0..3 {
            let started = std::time::Instant::now();
            let cpu_started_ns = thread_cpu_ns();
            let mut source: Box<dyn FrameSource> = if through_ffmpeg {
                Box::new(FfmpegSource::open(&path).expect("ffmpeg"))
            } else {
                Box::new(Mp4Source::open(&path).expect("open"))
            };
            let mut frame = Frame::default();
            frames = 0;
            while source.next_frame(&mut frame).expect("decode") {
                frames += 1;
            }
            best_fps = best_fps.max(frames as f64 / started.elapsed().as_secs_f64());
            if let (Some(start_ns), Some(end_ns)) = (cpu_started_ns, thread_cpu_ns()) {
                let cpu_s = (end_ns - start_ns) as f64 / 1e9;
                best_cpu_fps = best_cpu_fps.max(frames as f64 / cpu_s);
            }
        }
        let how = if through_ffmpeg {
            "ffmpeg pipe"
        } else {
            "native"
        };
        eprintln!(
            "{name} ({how}): {frames} frames, {best_fps:.0} frames/s wall, \
             {best_cpu_fps:.0} frames/s of this thread's CPU time"
        );
        assert!(
            best_fps > 50.0,
            "{name} ({how}) decodes at only {best_fps:.0} frames/s"
        );
    }
}

/// This thread's time on a CPU, in ns (`/proc/thread-self/schedstat`), when available.
fn thread_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}
