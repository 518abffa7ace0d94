//! A mutation fuzzer for every parser of outside bytes: the runtime's (tokens, Digest
//! challenges, headers, profiles, pages, timestamps, gzip, envelopes, file names) and the
//! client's (the export's pages, error bodies, state files, delivery records). The CI test
//! (`tests/fuzz.rs`) runs each at its usual size; the long run is `benches/fuzz.rs`.
//!
//! Each [`Target`] has seed inputs (valid examples of what it parses, and a few near
//! misses) and a function that feeds one input through the public entry point our own
//! code path goes through and asserts what must hold of the result. The client's targets
//! judge each result with an oracle that calls none of the code under test ([`json`], a
//! JSON reader of its own that keeps every key, and rules written out again): a result the
//! oracle says is wrong, accepted or refused, fails like a panic. Every iteration takes a
//! seed, applies 1 to 8 random mutations and runs the target inside `catch_unwind`, timed.
//! A panic (an assertion of the target included) or an input slower than [`HANG`] is
//! recorded with the input. A watchdog stops the process, printing the input, if one input
//! runs longer than [`STUCK`]. Runs are reproducible: the RNG is seeded from the run's
//! seed and the target's name, and every failure names its iteration and knobs.

mod client_targets;
pub mod json;
mod runtime_targets;

/// Every target, in the order the reports list them.
pub fn targets() -> Vec<Target> {
    let mut all = runtime_targets::all();
    all.extend(client_targets::all());
    all
}

use std::cell::{Cell, RefCell};
use std::fmt::Write as _;
use std::io::Write as _;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// One input taking longer than this is a hang.
pub const HANG: Duration = Duration::from_secs(1);

/// One input taking longer than this stops the process: it may never return.
pub const STUCK: Duration = Duration::from_secs(30);

/// The longest input a mutation may produce.
const MAX_LEN: usize = 64 * 1024;

/// Failures kept with their input, per report; the rest are only counted.
const KEPT_FAILURES: usize = 20;

/// A parser under test.
pub struct Target {
    /// Short name, used to select it and to derive its RNG seed.
    pub name: &'static str,
    /// What it parses, for the report.
    pub what: &'static str,
    /// Valid examples (and near misses) of its input.
    pub seeds: Vec<Vec<u8>>,
    /// Tokens worth inserting for this target, besides the common ones.
    pub tokens: &'static [&'static [u8]],
    /// Runs one input; `knobs` picks what the input does not carry (a status, a split).
    /// Panics when a property of the parser does not hold.
    pub run: fn(&[u8], u64),
}

/// What one run of a target found.
pub struct Report {
    /// The target's name.
    pub name: &'static str,
    /// The run's seed.
    pub seed: u64,
    /// Inputs run, the unmutated seeds included.
    pub inputs: u64,
    /// Inputs that panicked.
    pub panics: u64,
    /// Inputs slower than [`HANG`].
    pub hangs: u64,
    /// The slowest input's time.
    pub slowest: Duration,
    /// The whole run's time.
    pub wall: Duration,
    /// The first failures, with their inputs.
    pub failures: Vec<String>,
}

impl Report {
    /// No panic and no hang.
    pub fn passed(&self) -> bool {
        self.panics == 0 && self.hangs == 0
    }

    /// Inputs per second.
    pub fn rate(&self) -> f64 {
        self.inputs as f64 / self.wall.as_secs_f64().max(1e-9)
    }

    /// A summary line and the kept failures.
    pub fn describe(&self) -> String {
        let mut text = format!(
            "{}: {} inputs (seed {:#x}), {} panics, {} hangs, slowest {:.3} ms, {:.0} inputs/s, {:.2} s",
            self.name,
            self.inputs,
            self.seed,
            self.panics,
            self.hangs,
            self.slowest.as_secs_f64() * 1e3,
            self.rate(),
            self.wall.as_secs_f64(),
        );
        for failure in &self.failures {
            text.push_str("\n  ");
            text.push_str(&failure.replace('\n', "\n    "));
        }
        let more = (self.panics + self.hangs).saturating_sub(self.failures.len() as u64);
        if more > 0 {
            let _ = write!(text, "\n  ... and {more} more");
        }
        text
    }
}

/// A number from the environment (decimal, or hex with `0x`), else `default`.
pub fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(value) => {
            let value = value.trim().replace('_', "");
            let parsed = match value.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => value.parse(),
            };
            parsed.unwrap_or_else(|_| panic!("{name}={value} is not a number"))
        }
        Err(_) => default,
    }
}

/// Runs `target` on its seeds, then on `iterations` mutated inputs.
pub fn run(target: &Target, iterations: u64, seed: u64) -> Report {
    install_panic_hook();
    let mut rng = SmallRng::seed_from_u64(seed ^ fnv1a(target.name.as_bytes()));
    let mutator = Mutator {
        seeds: &target.seeds,
        tokens: target.tokens,
    };
    let watch = Watch::start(target.name, seed);
    let mut report = Report {
        name: target.name,
        seed,
        inputs: 0,
        panics: 0,
        hangs: 0,
        slowest: Duration::ZERO,
        wall: Duration::ZERO,
        failures: Vec::new(),
    };
    // A stack overflow aborts the process before any report: with `FUZZ_LAST_INPUT` set,
    // each input is written to that file before it runs, so the last one can be found.
    let last_input = std::env::var_os("FUZZ_LAST_INPUT");
    let started = Instant::now();
    let mut input = Vec::with_capacity(MAX_LEN);
    let total = target.seeds.len() as u64 + iterations;
    for i in 0..total {
        let knobs: u64 = rng.random();
        match target.seeds.get(i as usize) {
            Some(seed) => {
                input.clear();
                input.extend_from_slice(seed);
            }
            None => mutator.mutate(&mut rng, &mut input),
        }
        if let Some(path) = &last_input {
            std::fs::write(path, &input).expect("FUZZ_LAST_INPUT cannot be written");
        }
        watch.begin(i, &input, knobs);
        let began = Instant::now();
        QUIET.with(|q| q.set(true));
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| (target.run)(&input, knobs)));
        QUIET.with(|q| q.set(false));
        let took = began.elapsed();
        watch.end();
        report.inputs += 1;
        report.slowest = report.slowest.max(took);
        let failure = match outcome {
            Err(payload) => {
                report.panics += 1;
                let message = LAST_PANIC
                    .with(|m| m.borrow_mut().take())
                    .unwrap_or_else(|| payload_text(payload.as_ref()));
                Some(format!("panic: {message}"))
            }
            Ok(()) if took > HANG => {
                report.hangs += 1;
                Some(format!("hang: {:.3} s", took.as_secs_f64()))
            }
            Ok(()) => None,
        };
        if let Some(failure) = failure
            && report.failures.len() < KEPT_FAILURES
        {
            report
                .failures
                .push(format!("{failure}\n{}", describe_input(i, knobs, &input)));
        }
    }
    report.wall = started.elapsed();
    report
}

/// Iteration, knobs and the input (hex and text, truncated).
fn describe_input(iteration: u64, knobs: u64, input: &[u8]) -> String {
    const SHOWN: usize = 256;
    let shown = &input[..input.len().min(SHOWN)];
    let more = if input.len() > SHOWN { "..." } else { "" };
    let mut hex = String::with_capacity(shown.len() * 2);
    for b in shown {
        let _ = write!(hex, "{b:02x}");
    }
    format!(
        "input #{iteration} (knobs {knobs:#018x}, {} bytes)\nhex:  {hex}{more}\ntext: {:?}{more}",
        input.len(),
        String::from_utf8_lossy(shown),
    )
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

thread_local! {
    /// Set while a fuzz input runs on this thread: its panics are recorded, not printed.
    static QUIET: Cell<bool> = const { Cell::new(false) };
    /// The message and place of the last recorded panic on this thread.
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Records panics of fuzz inputs instead of printing them; any other panic is printed as
/// usual.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if QUIET.with(Cell::get) {
                let place = info
                    .location()
                    .map(|l| format!(" at {}:{}", l.file(), l.line()))
                    .unwrap_or_default();
                let message = format!("{}{place}", payload_text(info.payload()));
                LAST_PANIC.with(|m| *m.borrow_mut() = Some(message));
            } else {
                previous(info);
            }
        }));
    });
}

fn payload_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(a panic without a message)".to_string()
    }
}

/// Watches one run from another thread: an input running longer than [`STUCK`] ends the
/// process with the input printed, since it may never return.
struct Watch {
    shared: Arc<Watched>,
}

struct Watched {
    /// Nanoseconds since `epoch` at which the current input began; 0 when none runs.
    began: AtomicU64,
    epoch: Instant,
    /// The input running, its knobs and its iteration.
    input: Mutex<(Vec<u8>, u64, u64)>,
    done: AtomicBool,
}

impl Watch {
    fn start(name: &'static str, seed: u64) -> Self {
        let shared = Arc::new(Watched {
            began: AtomicU64::new(0),
            epoch: Instant::now(),
            input: Mutex::new((Vec::new(), 0, 0)),
            done: AtomicBool::new(false),
        });
        let watched = Arc::clone(&shared);
        std::thread::spawn(move || {
            while !watched.done.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(100));
                let began = watched.began.load(Ordering::Relaxed);
                if began == 0 {
                    continue;
                }
                let now = watched.epoch.elapsed().as_nanos() as u64;
                if Duration::from_nanos(now.saturating_sub(began)) > STUCK {
                    let current = watched.input.lock().unwrap_or_else(|p| p.into_inner());
                    let (input, knobs, iteration) = &*current;
                    // Straight to stderr: the test harness's capture would lose it on exit.
                    let _ = writeln!(
                        std::io::stderr(),
                        "fuzz {name} (seed {seed:#x}): one input has run for more than {STUCK:?}; stopping\n{}",
                        describe_input(*iteration, *knobs, input)
                    );
                    std::process::exit(2);
                }
            }
        });
        Self { shared }
    }

    fn begin(&self, iteration: u64, input: &[u8], knobs: u64) {
        {
            let mut current = self.shared.input.lock().unwrap_or_else(|p| p.into_inner());
            current.0.clear();
            current.0.extend_from_slice(input);
            current.1 = knobs;
            current.2 = iteration;
        }
        let now = self.shared.epoch.elapsed().as_nanos() as u64;
        self.shared.began.store(now.max(1), Ordering::Relaxed);
    }

    fn end(&self) {
        self.shared.began.store(0, Ordering::Relaxed);
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.shared.done.store(true, Ordering::Relaxed);
    }
}

/// Tokens worth inserting into any input: numbers at and past the edges of every integer
/// and float type, JSON, TOML and header syntax, escapes, and text that is not ASCII.
const TOKENS: &[&[u8]] = &[
    b"-1",
    b"0",
    b"-0",
    b"255",
    b"256",
    b"65536",
    b"2147483647",
    b"2147483648",
    b"-2147483649",
    b"4294967295",
    b"4294967296",
    b"9223372036854775807",
    b"9223372036854775808",
    b"-9223372036854775808",
    b"-9223372036854775809",
    b"18446744073709551615",
    b"18446744073709551616",
    b"340282366920938463463374607431768211456",
    b"1e309",
    b"-1e309",
    b"1e-400",
    b"1.7976931348623157e308",
    b"5e-324",
    b"0.1e99999999999999999999",
    b"NaN",
    b"nan",
    b"inf",
    b"-inf",
    b"Infinity",
    b"0x7fffffff",
    b"0o777",
    b"0b101",
    b"1_000",
    b"[",
    b"]",
    b"{",
    b"}",
    b"[]",
    b"{}",
    b"[[",
    b"]]",
    b"\"",
    b"'",
    b"\"\"\"",
    b"'''",
    b"\\",
    b"\\\"",
    b"\\u0000",
    b"\\ud800",
    b"\\udfff",
    b"\\ud83e\\udd80",
    b"\\uZZZZ",
    b"\\U0010FFFF",
    b"\\U00110000",
    b"null",
    b"true",
    b"false",
    b",",
    b":",
    b"=",
    b";",
    b"#",
    b".",
    b"\r\n",
    b"\n",
    b"\r",
    b"\t",
    b" ",
    b"\x00",
    b"\x7f",
    b"\x80",
    b"\xc3",
    b"\xe6\x97",
    b"\xf0\x9f\xa6",
    b"\xff\xfe",
    "é".as_bytes(),
    "日本".as_bytes(),
    "🦀".as_bytes(),
    "\u{202e}".as_bytes(),
    "\u{feff}".as_bytes(),
    "\u{fffd}".as_bytes(),
];

/// Bytes worth putting in place of another.
const INTERESTING_BYTES: &[u8] = &[
    0x00, 0x01, 0x09, 0x0a, 0x0d, 0x1f, 0x20, 0x7f, 0x80, 0xbf, 0xc0, 0xff, b'"', b'\'', b'\\',
    b'{', b'}', b'[', b']', b',', b':', b'=', b'0', b'9', b'-', b'+', b'.', b'e', b'E', b'T', b'Z',
];

struct Mutator<'a> {
    seeds: &'a [Vec<u8>],
    tokens: &'a [&'a [u8]],
}

impl Mutator<'_> {
    /// Puts a seed into `out` and applies 1 to 8 mutations to it.
    fn mutate(&self, rng: &mut SmallRng, out: &mut Vec<u8>) {
        out.clear();
        out.extend_from_slice(self.seed(rng));
        // 1 to 8 mutations, few more often than many: a third of the inputs get one.
        let most = rng.random_range(1..=8);
        for _ in 0..rng.random_range(1..=most) {
            self.mutate_once(rng, out);
        }
        out.truncate(MAX_LEN);
    }

    fn seed(&self, rng: &mut SmallRng) -> &[u8] {
        &self.seeds[rng.random_range(0..self.seeds.len())]
    }

    fn token(&self, rng: &mut SmallRng) -> &[u8] {
        // The target's own tokens are drawn as often as all the common ones.
        if !self.tokens.is_empty() && rng.random_bool(0.5) {
            self.tokens[rng.random_range(0..self.tokens.len())]
        } else {
            TOKENS[rng.random_range(0..TOKENS.len())]
        }
    }

    fn mutate_once(&self, rng: &mut SmallRng, out: &mut Vec<u8>) {
        let at = |rng: &mut SmallRng, out: &Vec<u8>| rng.random_range(0..=out.len());
        match rng.random_range(0..16) {
            // Flip a bit.
            0 if !out.is_empty() => {
                let i = rng.random_range(0..out.len());
                out[i] ^= 1 << rng.random_range(0..8);
            }
            // Insert random bytes.
            1 => {
                let i = at(rng, out);
                let n = rng.random_range(1..=4);
                let bytes: Vec<u8> = (0..n).map(|_| rng.random()).collect();
                out.splice(i..i, bytes);
            }
            // Delete a range.
            2 if !out.is_empty() => {
                let i = rng.random_range(0..out.len());
                let n = rng.random_range(1..=16.min(out.len() - i));
                out.drain(i..i + n);
            }
            // Replace a byte with a random one.
            3 if !out.is_empty() => {
                let i = rng.random_range(0..out.len());
                out[i] = rng.random();
            }
            // Replace a byte with an interesting one.
            4 if !out.is_empty() => {
                let i = rng.random_range(0..out.len());
                out[i] = INTERESTING_BYTES[rng.random_range(0..INTERESTING_BYTES.len())];
            }
            // Splice: this input's head and another seed's tail.
            5 => {
                let other = self.seed(rng);
                let i = at(rng, out);
                let j = rng.random_range(0..=other.len());
                out.truncate(i);
                out.extend_from_slice(&other[j..]);
            }
            // Insert part of another seed.
            6 => {
                let other = self.seed(rng);
                let a = rng.random_range(0..=other.len());
                let b = rng.random_range(a..=other.len());
                let i = at(rng, out);
                out.splice(i..i, other[a..b].iter().copied());
            }
            // Insert a token.
            7 => {
                let token = self.token(rng).to_vec();
                let i = at(rng, out);
                out.splice(i..i, token);
            }
            // Replace a range with a token.
            8 if !out.is_empty() => {
                let token = self.token(rng).to_vec();
                let i = rng.random_range(0..out.len());
                let n = rng.random_range(1..=8.min(out.len() - i));
                out.splice(i..i + n, token);
            }
            // Replace a run of digits with a token or a long digit string.
            9 => {
                let digits = long_digits(rng);
                let token = if rng.random_bool(0.5) {
                    self.token(rng).to_vec()
                } else {
                    digits
                };
                match digit_run(rng, out) {
                    Some((i, j)) => {
                        out.splice(i..j, token);
                    }
                    None => {
                        let i = at(rng, out);
                        out.splice(i..i, token);
                    }
                }
            }
            // Insert a very long digit string.
            10 => {
                let digits = long_digits(rng);
                let i = at(rng, out);
                out.splice(i..i, digits);
            }
            // Insert deep nesting.
            11 => {
                let (open, depth): (&[u8], usize) = match rng.random_range(0..4) {
                    0 => (b"[", rng.random_range(1..=200)),
                    1 => (b"[", rng.random_range(200..=20_000)),
                    2 => (b"{\"a\":", rng.random_range(1..=2_000)),
                    _ => (b"a={", rng.random_range(1..=2_000)),
                };
                let i = at(rng, out);
                out.splice(i..i, open.repeat(depth));
            }
            // Duplicate a range.
            12 if !out.is_empty() => {
                let a = rng.random_range(0..out.len());
                let b = rng.random_range(a..=out.len().min(a + 64));
                let copy = out[a..b].to_vec();
                let i = at(rng, out);
                out.splice(i..i, copy);
            }
            // Cut the end off.
            13 if !out.is_empty() => {
                let i = rng.random_range(0..out.len());
                out.truncate(i);
            }
            // Replace what a pair of quotes holds, keeping the quotes.
            14 | 15 => {
                let with = match rng.random_range(0..5) {
                    0 => self.token(rng).to_vec(),
                    1 => long_digits(rng),
                    2 => Vec::new(),
                    3 => {
                        let n = rng.random_range(1..=16);
                        (0..n).map(|_| rng.random()).collect()
                    }
                    _ => {
                        let token = self.token(rng).to_vec();
                        token.repeat(rng.random_range(2..=2_000))
                    }
                };
                match quoted_run(rng, out) {
                    Some((i, j)) => {
                        out.splice(i..j, with);
                    }
                    None => {
                        let i = at(rng, out);
                        out.splice(i..i, with);
                    }
                }
            }
            // A mutation that needs bytes, on an empty input: insert a token.
            _ => {
                let token = self.token(rng).to_vec();
                out.extend_from_slice(&token);
            }
        }
    }
}

/// Digits, sometimes very many, sometimes signed or with a fraction or exponent.
fn long_digits(rng: &mut SmallRng) -> Vec<u8> {
    let n = if rng.random_bool(0.1) {
        rng.random_range(300..=5_000)
    } else {
        rng.random_range(1..=40)
    };
    let mut digits: Vec<u8> = (0..n).map(|_| b'0' + rng.random_range(0..10)).collect();
    match rng.random_range(0..6) {
        0 => digits.insert(0, b'-'),
        1 => digits.extend_from_slice(b".5"),
        2 => digits.extend_from_slice(b"e999"),
        _ => {}
    }
    digits
}

/// A run of ASCII digits of `input`, picked at random among the first few.
fn digit_run(rng: &mut SmallRng, input: &[u8]) -> Option<(usize, usize)> {
    let mut runs = Vec::new();
    let mut i = 0;
    while i < input.len() && runs.len() < 32 {
        if input[i].is_ascii_digit() {
            let start = i;
            while i < input.len() && input[i].is_ascii_digit() {
                i += 1;
            }
            runs.push((start, i));
        } else {
            i += 1;
        }
    }
    (!runs.is_empty()).then(|| runs[rng.random_range(0..runs.len())])
}

/// What a pair of double quotes of `input` holds, picked at random among the first few.
fn quoted_run(rng: &mut SmallRng, input: &[u8]) -> Option<(usize, usize)> {
    let mut runs = Vec::new();
    let mut open = None;
    let mut escaped = false;
    for (i, &b) in input.iter().enumerate() {
        if runs.len() >= 32 {
            break;
        }
        match (b, escaped, open) {
            (b'\\', false, Some(_)) => escaped = true,
            (b'"', false, None) => open = Some(i + 1),
            (b'"', false, Some(start)) => {
                runs.push((start, i));
                open = None;
            }
            _ => escaped = false,
        }
    }
    (!runs.is_empty()).then(|| runs[rng.random_range(0..runs.len())])
}
