//! The IDX fuzz target: every input is a file's content (gzip or raw IDX) handed to
//! `gdl_mnist::idx::fuzz_one`, which runs every reader on it and checks what it returns.
//! `idx.rs` and `error.rs` are compiled here from gdl-mnist's own sources, so that the
//! instrumented binary needs neither gdl-core nor Burn. See README.md for the commands.

#[allow(dead_code)]
#[path = "../../src/error.rs"]
mod error;
#[allow(dead_code)]
#[path = "../../src/idx.rs"]
mod idx;

fn main() {
    afl::fuzz!(|data: &[u8]| {
        idx::fuzz_one(data);
    });
}
