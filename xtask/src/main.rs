use std::process::ExitCode;
use std::time::Instant;

use xtask::codegen::{self, Freshness, TARGETS};

const USAGE: &str = "\
usage: cargo xtask codegen [--check]

  codegen          regenerate the client code from the specs
  codegen --check  fail, showing the difference, when the committed code is stale";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let outcome = match args.as_slice() {
        ["codegen"] => codegen_write(),
        ["codegen", "--check"] => codegen_check(),
        ["help" | "--help" | "-h"] => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn codegen_write() -> anyhow::Result<ExitCode> {
    let root = codegen::workspace_root();
    for target in TARGETS {
        let started = Instant::now();
        let changed = codegen::write(&root, target)?;
        let verb = if changed { "wrote" } else { "unchanged" };
        eprintln!(
            "{verb} {} from {} in {:.2?}",
            target.output,
            target.spec,
            started.elapsed()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn codegen_check() -> anyhow::Result<ExitCode> {
    let root = codegen::workspace_root();
    let mut stale = false;
    for target in TARGETS {
        match codegen::check(&root, target)? {
            Freshness::UpToDate => {
                eprintln!("{} is up to date with {}", target.output, target.spec)
            }
            Freshness::Stale { diff } => {
                stale = true;
                eprintln!(
                    "{} is stale: it differs from what {} produces:\n",
                    target.output, target.spec
                );
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
    Ok(ExitCode::SUCCESS)
}
