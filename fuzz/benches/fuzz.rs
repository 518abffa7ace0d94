//! The long fuzzing run: every parser of outside bytes in the runtime, 1,000,000 mutated
//! inputs each by default.
//!
//! ```sh
//! cargo bench -p atlas-fuzz --bench fuzz
//! FUZZ_ITERATIONS=100000 FUZZ_SEED=0x1234 FUZZ_TARGETS=gzip,pages cargo bench -p atlas-fuzz --bench fuzz
//! ```
//!
//! Each parser runs on a thread with a 2 MiB stack. Prints a table of inputs, panics,
//! hangs, slowest input and throughput per parser, and the failures found; exits non-zero
//! on any panic or hang. `FUZZ_LAST_INPUT=file` keeps the input running, for a crash that
//! ends the process (a stack overflow).

use atlas_fuzz as fuzzer;

use std::time::{Instant, SystemTime, UNIX_EPOCH};

fn main() {
    let iterations = fuzzer::env_u64("FUZZ_ITERATIONS", 1_000_000);
    let random = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let seed = fuzzer::env_u64("FUZZ_SEED", random);
    let only = std::env::var("FUZZ_TARGETS").ok();
    let targets: Vec<_> = fuzzer::targets()
        .into_iter()
        .filter(|t| {
            only.as_deref()
                .is_none_or(|only| only.split(',').any(|n| n.trim() == t.name))
        })
        .collect();
    if targets.is_empty() {
        eprintln!("FUZZ_TARGETS names no target");
        std::process::exit(2);
    }
    println!(
        "fuzzing {} parsers, {iterations} mutated inputs each, seed {seed:#x} (FUZZ_SEED={seed:#x} reproduces this run)",
        targets.len()
    );
    let started = Instant::now();
    let mut reports = Vec::new();
    for target in &targets {
        // The stack of a tokio worker thread, where the runtime's parsers usually run.
        let report = std::thread::scope(|scope| {
            std::thread::Builder::new()
                .name(target.name.to_string())
                .stack_size(2 << 20)
                .spawn_scoped(scope, || fuzzer::run(target, iterations, seed))
                .expect("a fuzzing thread")
                .join()
                .expect("the fuzzing thread ended")
        });
        println!("{}", report.describe());
        reports.push(report);
    }
    let wall = started.elapsed();
    println!();
    println!(
        "| parser | parses | inputs | panics | hangs (> 1 s) | slowest input | inputs/s | wall time |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (target, r) in targets.iter().zip(&reports) {
        println!(
            "| `{}` | {} | {} | {} | {} | {:.2} ms | {:.0} | {:.1} s |",
            r.name,
            target.what,
            r.inputs,
            r.panics,
            r.hangs,
            r.slowest.as_secs_f64() * 1e3,
            r.rate(),
            r.wall.as_secs_f64()
        );
    }
    let inputs: u64 = reports.iter().map(|r| r.inputs).sum();
    println!(
        "\n{inputs} inputs in {:.1} s, seed {seed:#x}",
        wall.as_secs_f64()
    );
    if reports.iter().any(|r| !r.passed()) {
        eprintln!("fuzzing found panics or hangs");
        std::process::exit(1);
    }
}
