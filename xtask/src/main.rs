use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use xtask::codegen::{self, Freshness, Target};
use xtask::official;

mod test;

const USAGE: &str = "\
usage: cargo xtask codegen [--check]
       cargo xtask codegen --spec FILE --out FILE [--runtime PATH] [--tags A,B] [--check]
       cargo xtask official-check [--official FILE] [--tags A,B] [--no-build] [--wire]
       cargo xtask test [--no-install] [--shifted-clock] [-- CARGO-TEST-ARGS]

  codegen          regenerate every target of xtask/codegen.toml
  codegen --check  fail, showing the difference, when the committed code is stale
  --spec, --out    one spec to one file instead, paths relative to the current directory
  --runtime        Rust path of the runtime crate (default ::atlas_runtime)
  --tags           only the operations carrying one of these tags (comma-separated)
  official-check   extend spec/atlas.yaml with every operation of MongoDB's official spec
                   (ours win), generate it into a scratch crate under
                   target/official-check/, build it, and print generation time, build
                   time and peak memory (default spec: ../shared/official/
                   atlas-api-transformed.yaml beside the workspace)
  --wire           then call every operation through the built client against
                   Stoplight Prism's mock of the spec (static and --dynamic answers,
                   @stoplight/prism-cli installed under target/ci-tools with npm), judge
                   requests and answers with Prism's validator, print the totals, and
                   fail on a client defect: a request the validator refuses whose values
                   keep the spec, a spec-valid answer that does not decode, a spec-valid
                   example body that does not build, a body field sent that was not set
  test             provision what the test suite needs beyond cargo, then run
                   `cargo test --locked --workspace --features atlas-logs/demo`
                   followed by CARGO-TEST-ARGS (`--workspace` and the feature are
                   dropped when they pick packages with -p, `--features` when they
                   give features);
                   exits with cargo test's status
                   system tools: curl, gzip, kill, Apache httpd at /usr/sbin/apache2,
                   python3 with venv, tzdata; missing ones are installed with apt-get as
                   root or with passwordless sudo on Debian-like systems, else
                   named, and nothing runs
                   Python packages: tests/requirements.txt in a venv at
                   target/test-venv (redone only when that file changes), whose
                   interpreter the tests get as ATLAS_TEST_PYTHON
  --no-install     name missing system packages instead of installing them
  --shifted-clock  run every test binary and doctest with the clock 400 days ahead
                   (libfaketime, Debian's faketime) in TZ=Pacific/Kiritimati (UTC+14):
                   no test may depend on the day or the zone it runs in

A run that refuses anything lists every refusal, exits non-zero and writes nothing.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match args.first().map(String::as_str) {
        Some("codegen") => codegen_command(&args[1..]),
        Some("official-check") => official_command(&args[1..]),
        Some("test") => codegen::workspace_root().and_then(|root| test::run(&root, &args[1..])),
        Some("help" | "--help" | "-h") => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => Err(usage("")),
    };
    match outcome {
        Ok(code) => code,
        Err(e) if e.is::<Usage>() => {
            eprintln!("{e}\n{USAGE}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[derive(Debug)]
struct Usage(String);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

fn usage(message: &str) -> anyhow::Error {
    Usage(message.to_string()).into()
}

/// `--flag value` pairs and bare `--switch`es.
struct Flags {
    values: Vec<(String, String)>,
    switches: Vec<String>,
}

impl Flags {
    fn parse(args: &[String], with_value: &[&str], switches: &[&str]) -> anyhow::Result<Self> {
        let mut flags = Flags {
            values: Vec::new(),
            switches: Vec::new(),
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            if with_value.contains(&arg.as_str()) {
                let value = args
                    .next()
                    .ok_or_else(|| usage(&format!("{arg} needs a value")))?;
                flags.values.push((arg.clone(), value.clone()));
            } else if switches.contains(&arg.as_str()) {
                flags.switches.push(arg.clone());
            } else {
                return Err(usage(&format!("unknown argument `{arg}`")));
            }
        }
        Ok(flags)
    }

    fn value(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn has(&self, name: &str) -> bool {
        self.switches.iter().any(|s| s == name)
    }

    fn tags(&self) -> Vec<String> {
        self.value("--tags")
            .map(|list| {
                list.split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn codegen_command(args: &[String]) -> anyhow::Result<ExitCode> {
    let flags = Flags::parse(
        args,
        &["--spec", "--out", "--runtime", "--tags"],
        &["--check"],
    )?;
    let root = codegen::workspace_root()?;
    let targets = match (flags.value("--spec"), flags.value("--out")) {
        (Some(spec), Some(out)) => {
            let cwd = std::env::current_dir().context("reading the current directory")?;
            let mut target = Target::new(
                relative(&root, &cwd.join(spec)),
                relative(&root, &cwd.join(out)),
            );
            if let Some(runtime) = flags.value("--runtime") {
                target.runtime = runtime.to_string();
            }
            target.tags = flags.tags();
            vec![target]
        }
        (None, None) => {
            if flags.value("--runtime").is_some() || flags.value("--tags").is_some() {
                return Err(usage("--runtime and --tags go with --spec and --out"));
            }
            codegen::targets(&root)?
        }
        _ => return Err(usage("--spec and --out go together")),
    };

    // Every target first; nothing is written unless all of them generate.
    let mut generated = Vec::new();
    let mut failures = Vec::new();
    for target in &targets {
        let started = Instant::now();
        match codegen::generate(&root, target) {
            Ok(code) => generated.push((target, code, started.elapsed())),
            Err(e) => failures.push(e),
        }
    }
    if !failures.is_empty() {
        for e in &failures {
            eprintln!("error: {e:#}");
        }
        eprintln!("\nNothing was written.");
        return Ok(ExitCode::FAILURE);
    }

    if flags.has("--check") {
        let mut stale = false;
        let files = generated
            .iter()
            .flat_map(|(target, code, _)| code.files(target));
        for (target, code) in files {
            let (output, spec) = (target.output.display(), target.spec.display());
            match codegen::compare(&root, &target, code) {
                Freshness::UpToDate => eprintln!("{output} is up to date with {spec}"),
                Freshness::Stale { diff } => {
                    stale = true;
                    eprintln!("{output} is stale: it differs from what {spec} produces:\n");
                    let lines: Vec<&str> = diff.lines().collect();
                    for line in lines.iter().take(200) {
                        eprintln!("{line}");
                    }
                    if lines.len() > 200 {
                        eprintln!("... ({} more lines of diff)", lines.len() - 200);
                    }
                }
            }
        }
        if stale {
            eprintln!("\nRun `cargo xtask codegen` and commit the result.");
            return Ok(ExitCode::FAILURE);
        }
        return Ok(ExitCode::SUCCESS);
    }

    for (target, code, elapsed) in &generated {
        let mut changed = false;
        for (file, text) in code.files(target) {
            changed |= codegen::write(&root, &file, text)?;
        }
        let verb = if changed { "wrote" } else { "unchanged" };
        eprintln!(
            "{verb} {} from {} ({} operations) in {elapsed:.2?}",
            target.output.display(),
            target.spec.display(),
            code.operations,
        );
        if codegen::crate_manifest(&root.join(&target.output)).is_none() {
            for dep in &code.dependencies {
                eprintln!(
                    "note: no crate around {}; the crate it goes into needs: {}",
                    target.output.display(),
                    dep.suggestion
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `path` relative to the workspace root when it lies inside it (messages and the header
/// of generated files then read the same whoever runs the command), else absolute.
fn relative(root: &Path, path: &Path) -> PathBuf {
    let path = normalize_dots(path);
    path.strip_prefix(root)
        .map(Path::to_path_buf)
        .unwrap_or(path)
}

fn normalize_dots(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

fn official_command(args: &[String]) -> anyhow::Result<ExitCode> {
    let flags = Flags::parse(args, &["--official", "--tags"], &["--no-build", "--wire"])?;
    if flags.has("--no-build") && flags.has("--wire") {
        return Err(usage(
            "--wire calls the built client: it cannot go with --no-build",
        ));
    }
    let root = codegen::workspace_root()?;
    let official = match flags.value("--official") {
        Some(path) => std::env::current_dir()?.join(path),
        None => official::default_spec(&root),
    };
    if !official.is_file() {
        bail!(
            "no official spec at {}; pass --official FILE",
            official.display()
        );
    }
    let options = official::Options {
        official,
        tags: flags.tags(),
        build: !flags.has("--no-build"),
        wire: flags.has("--wire"),
    };
    official::run(&root, &options)?;
    Ok(ExitCode::SUCCESS)
}
