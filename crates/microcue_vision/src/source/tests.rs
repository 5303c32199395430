//! Tests of the frame sources, on generated media and the real clips in `shared/data/faces`.
