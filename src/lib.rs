//! Not published: this package only holds the workspace's end-to-end tests (`tests/`)
//! and runnable examples (`examples/`).
#![forbid(unsafe_code)]
