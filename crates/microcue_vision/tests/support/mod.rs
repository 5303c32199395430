//! Fixture paths shared by the integration test binaries and the unit tests
//! (`src/test_support.rs` includes this file).

use std::path::PathBuf;

/// A file or folder under the repository's `tests/data` (it ships with every clone; MANIFEST.md
/// there gives each file's source and licence). Fails the test, naming it, when it is missing.
pub fn fixture(relative: &str) -> PathBuf {
    let path =
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data")).join(relative);
    assert!(
        path.exists(),
        "{} is missing: tests/data ships with the repository (see tests/data/MANIFEST.md); \
         restore it with `git checkout -- tests/data`",
        path.display()
    );
    path
}
