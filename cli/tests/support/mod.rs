//! Helpers shared by the CLI's test binaries.

use std::process::Output;

/// The command's stdout, after checking that it exited with 0 (its
/// stderr is the failure message otherwise).
pub(crate) fn ok(o: &Output) -> String {
    assert_eq!(
        o.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).expect("UTF-8 stdout")
}
