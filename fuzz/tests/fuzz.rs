//! "No panic and no wrong answer on any input": every parser of outside bytes, fed mutated
//! inputs (`FUZZ_ITERATIONS` per parser, 20,000 by default; `FUZZ_SEED` to reproduce a
//! run; `FUZZ_LAST_INPUT=file` to find an input that crashes the process). Any panic,
//! failed property or input slower than a second fails the test. The long run is
//! `cargo bench -p atlas-fuzz --bench fuzz`.

use atlas_fuzz as fuzzer;

/// The seed of every run unless `FUZZ_SEED` says otherwise, so that CI runs the same
/// inputs each time.
const DEFAULT_SEED: u64 = 0x00a7_1a5f_0220_2026;

fn check(name: &str) {
    let iterations = fuzzer::env_u64("FUZZ_ITERATIONS", 20_000);
    let seed = fuzzer::env_u64("FUZZ_SEED", DEFAULT_SEED);
    let target = fuzzer::targets()
        .into_iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("no fuzz target {name}"));
    let report = fuzzer::run(&target, iterations, seed);
    println!("{} -- {}", target.what, report.describe());
    assert!(report.passed(), "{}", report.describe());
    assert_eq!(report.inputs, target.seeds.len() as u64 + iterations);
}

#[test]
fn every_parser_has_a_test() {
    let names: Vec<_> = fuzzer::targets().iter().map(|t| t.name).collect();
    assert_eq!(
        names,
        [
            "token_answer",
            "digest",
            "headers",
            "profile",
            "pages",
            "timestamps",
            "gzip",
            "envelope",
            "disposition",
            "json_scan",
            "export_pages",
            "error_bodies",
            "state_files",
            "delivery_records"
        ]
    );
}

#[test]
fn token_answer() {
    check("token_answer");
}

#[test]
fn digest() {
    check("digest");
}

#[test]
fn headers() {
    check("headers");
}

#[test]
fn profile() {
    check("profile");
}

#[test]
fn pages() {
    check("pages");
}

#[test]
fn timestamps() {
    check("timestamps");
}

#[test]
fn gzip() {
    check("gzip");
}

#[test]
fn envelope() {
    check("envelope");
}

#[test]
fn json_scan() {
    check("json_scan");
}

#[test]
fn disposition() {
    check("disposition");
}

#[test]
fn export_pages() {
    check("export_pages");
}

#[test]
fn error_bodies() {
    check("error_bodies");
}

#[test]
fn state_files() {
    check("state_files");
}

#[test]
fn delivery_records() {
    check("delivery_records");
}
