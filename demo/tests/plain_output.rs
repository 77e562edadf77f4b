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
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("Demo complete"), "{stdout}");
    assert!(stderr.contains("INFO"), "the library logged: {stderr}");
    assert!(
        !out.stdout.contains(&0x1b) && !out.stderr.contains(&0x1b),
        "escape byte in the output:\n{stdout}\n{stderr}"
    );
}
