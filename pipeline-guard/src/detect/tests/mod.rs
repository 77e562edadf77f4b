//! Unit tests of the detector, by entry point.

mod argv_tests;
mod parse_tests;
mod shell_tests;
