//! A stand-in for the next release of an example program, served by the end-to-end
//! tests (`tests/self_update.rs`, `tests/hardening.rs`): a real executable (Windows runs
//! nothing else in an executable's place) that prints `NEXT_VERSION_SAYS`, whatever its
//! arguments.

fn main() {
    let says = std::env::var("NEXT_VERSION_SAYS").unwrap_or_else(|_| "next version".into());
    println!("{says}");
}
