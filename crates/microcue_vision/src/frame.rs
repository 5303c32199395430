//! Decoded video frames.

/// One decoded frame: packed RGB8, row-major, no padding, with its presentation time.
///
/// Sources fill a caller-owned `Frame` so that the buffer is reused from frame to frame.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Frame {
    /// Presentation time, seconds from the start of the source (never assumed constant-rate).
    pub pts_s: f64,
    /// Zero-based index of the frame in presentation order (the count of frames yielded before it).
    pub index: u64,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width * height * 3` bytes, RGB.
    pub rgb: Vec<u8>,
}

impl Frame {
    /// Resizes the buffer for a `width` x `height` image (keeps capacity).
    pub fn resize(&mut self, width: u32, height: u32) {
        self.width = width;
        self.height = height;
        self.rgb.resize(width as usize * height as usize * 3, 0);
    }

    /// The RGB value at (x, y); panics when out of bounds.
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        let i = (y as usize * self.width as usize + x as usize) * 3;
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }
}
