//! `loadgen`: the raw-socket HTTP/1.1 load generator (issue 3; not built yet).
#![forbid(unsafe_code)]

fn main() {
    eprintln!("loadgen is not implemented yet (see issue 3)");
    std::process::exit(2);
}
