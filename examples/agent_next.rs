//! A stand-in for the next release of the `agent` example, served by
//! `tests/self_update.rs`: a real executable (Windows runs nothing else in its place)
//! that says which version it is, whatever its arguments.

fn main() {
    println!("agent 0.2.0 running");
}
