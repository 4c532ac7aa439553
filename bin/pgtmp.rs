//! `pgtmp` entry point (stub — being implemented).
fn main() {}
