//! `cargo-grader`: the thin CLI over the `grader` library.
fn main() {
    println!("grader: under construction");
}
