//! Planar YUV <-> packed RGB8 conversion (BT.601, fixed point), for Y4M reading and writing.
//!
//! BT.601 matches what openh264's `write_rgb8` uses, so a clip gives the same colours whether
//! it is decoded natively or through the ffmpeg pipe. Y4M carries no matrix; limited range is
//! the default and `XCOLORRANGE=FULL` selects full range.

/// Whether luma spans 16..=235 (video) or 0..=255 (JPEG).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum YuvRange {
    Limited,
    Full,
}

/// Chroma subsampling of a planar YUV image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Chroma {
    /// Half width, half height.
    Sub420,
    /// Half width, full height.
    Sub422,
    /// Full resolution.
    Sub444,
    /// Luma only.
    Mono,
}

impl Chroma {
    /// Width and height of each chroma plane (0 x 0 for mono).
    pub(crate) fn plane_size(self, width: usize, height: usize) -> (usize, usize) {
        match self {
            Self::Sub420 => (width.div_ceil(2), height.div_ceil(2)),
            Self::Sub422 => (width.div_ceil(2), height),
            Self::Sub444 => (width, height),
            Self::Mono => (0, 0),
        }
    }

    /// Right shifts from luma to chroma coordinates (x, y).
    fn shifts(self) -> (usize, usize) {
        match self {
            Self::Sub420 => (1, 1),
            Self::Sub422 => (1, 0),
            Self::Sub444 | Self::Mono => (0, 0),
        }
    }
}

/// Fixed-point (x256) coefficients of one range.
struct Coefficients {
    luma_offset: i32,
    luma_scale: i32,
    red_from_v: i32,
    green_from_u: i32,
    green_from_v: i32,
    blue_from_u: i32,
}

const LIMITED: Coefficients = Coefficients {
    luma_offset: 16,
    luma_scale: 298,
    red_from_v: 409,
    green_from_u: 100,
    green_from_v: 208,
    blue_from_u: 516,
};

const FULL: Coefficients = Coefficients {
    luma_offset: 0,
    luma_scale: 256,
    red_from_v: 359,
    green_from_u: 88,
    green_from_v: 183,
    blue_from_u: 454,
};

fn clamp_u8(value: i32) -> u8 {
    value.clamp(0, 255) as u8
}

/// Tightly packed 8-bit planes: `y` is width x height, `u`/`v` the chroma plane size.
pub(crate) struct YuvImage<'a> {
    pub(crate) y: &'a [u8],
    pub(crate) u: &'a [u8],
    pub(crate) v: &'a [u8],
    pub(crate) chroma: Chroma,
    pub(crate) range: YuvRange,
    pub(crate) width: usize,
    pub(crate) height: usize,
}

/// Converts `image` to RGB8 in `rgb` (`width * height * 3` bytes).
pub(crate) fn yuv_to_rgb(image: &YuvImage<'_>, rgb: &mut [u8]) {
    let YuvImage {
        y: y_plane,
        u: u_plane,
        v: v_plane,
        chroma,
        range,
        width,
        height,
    } = *image;
    let coefficients = match range {
        YuvRange::Limited => &LIMITED,
        YuvRange::Full => &FULL,
    };
    let (chroma_width, _) = chroma.plane_size(width, height);
    let (x_shift, y_shift) = chroma.shifts();
    for (row, (luma_row, rgb_row)) in y_plane
        .chunks_exact(width)
        .zip(rgb.chunks_exact_mut(width * 3))
        .take(height)
        .enumerate()
    {
        let chroma_start = (row >> y_shift) * chroma_width;
        for (column, (&luma, pixel)) in luma_row.iter().zip(rgb_row.chunks_exact_mut(3)).enumerate()
        {
            let scaled_luma =
                coefficients.luma_scale * (i32::from(luma) - coefficients.luma_offset) + 128;
            if chroma == Chroma::Mono {
                let gray = clamp_u8(scaled_luma >> 8);
                pixel.copy_from_slice(&[gray, gray, gray]);
                continue;
            }
            let chroma_index = chroma_start + (column >> x_shift);
            let u = i32::from(u_plane[chroma_index]) - 128;
            let v = i32::from(v_plane[chroma_index]) - 128;
            pixel[0] = clamp_u8((scaled_luma + coefficients.red_from_v * v) >> 8);
            pixel[1] = clamp_u8(
                (scaled_luma - coefficients.green_from_u * u - coefficients.green_from_v * v) >> 8,
            );
            pixel[2] = clamp_u8((scaled_luma + coefficients.blue_from_u * u) >> 8);
        }
    }
}

/// Converts RGB8 to limited-range BT.601 4:2:0 planes; chroma is the mean of each 2x2 block
/// (centred siting, as Y4M's `C420jpeg` declares). Plane lengths must match
/// [`Chroma::plane_size`].
pub(crate) fn rgb_to_yuv420(
    rgb: &[u8],
    width: usize,
    height: usize,
    y_plane: &mut [u8],
    u_plane: &mut [u8],
    v_plane: &mut [u8],
) {
    for (luma, pixel) in y_plane.iter_mut().zip(rgb.chunks_exact(3)) {
        let [red, green, blue] = [pixel[0], pixel[1], pixel[2]].map(i32::from);
        *luma = clamp_u8(((66 * red + 129 * green + 25 * blue + 128) >> 8) + 16);
    }
    let (chroma_width, chroma_height) = Chroma::Sub420.plane_size(width, height);
    for chroma_row in 0..chroma_height {
        for chroma_column in 0..chroma_width {
            let mut sums = [0i32; 3];
            let mut count = 0i32;
            for row in (chroma_row * 2)..(chroma_row * 2 + 2).min(height) {
                for column in (chroma_column * 2)..(chroma_column * 2 + 2).min(width) {
                    let index = (row * width + column) * 3;
                    for (sum, &value) in sums.iter_mut().zip(&rgb[index..index + 3]) {
                        *sum += i32::from(value);
                    }
                    count += 1;
                }
            }
            let [red, green, blue] = sums.map(|sum| (sum + count / 2) / count);
            let index = chroma_row * chroma_width + chroma_column;
            u_plane[index] = clamp_u8(((-38 * red - 74 * green + 112 * blue + 128) >> 8) + 128);
            v_plane[index] = clamp_u8(((112 * red - 94 * green - 18 * blue + 128) >> 8) + 128);
        }
    }
}
