//! The demo (the README's first command) run as CI runs it: output piped, so plain
//! text only, and every step it announces reached.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test fixtures

use std::process::Command;

#[test]
fn the_demo_completes_and_prints_no_colour_codes_when_piped() {
    let out = Command::new(env!("CARGO_BIN_EXE_updater-demo"))
        .env_remove("NO_COLOR")
        .env("RUST_LOG", "updater=info")
        .output()
        .unwrap();
    let all: Vec<u8> = [out.stdout.as_slice(), b"\n", out.stderr.as_slice()].concat();
    let text = String::from_utf8_lossy(&all);
    assert!(out.status.success(), "{text}");
    // The demo's narrative, and the library's own log (asked for with RUST_LOG).
    for expected in ["Demo complete", "INFO"] {
        assert!(text.contains(expected), "no {expected:?} in:\n{text}");
    }
    assert!(!all.contains(&0x1b), "escape byte in the output:\n{text}");
}
