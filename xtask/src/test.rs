//! `cargo xtask test`: provisions what the test suite needs beyond cargo, then runs
//! `cargo test --locked --workspace --features atlas-logs/demo` (the CLI's tests run its demo).
//!
//! The suite drives standard tools as independent counterparts of our code: `curl` and
//! `gzip` against fake-atlas (fake-atlas/tests/interop.rs), `kill` on the CLI
//! (cli/tests/cli.rs), Apache httpd's mod_auth_digest (tests/apache.rs, cli/tests/apache.rs)
//! and a Flask-HTTPAuth server (tests/auth.rs, Python packages of tests/requirements.txt).
//! Missing system packages are installed with apt-get when this runs as root or with
//! passwordless sudo on a Debian-like system; otherwise the command names them and stops.
//! The Python packages go into a venv under the target directory, reinstalled only when
//! tests/requirements.txt changes; the tests find its interpreter through
//! `ATLAS_TEST_PYTHON`.
//!
//! `--shifted-clock` runs the suite with the present [`SHIFT`] ahead and in the time zone
//! [`SHIFTED_ZONE`] (UTC+14), to prove that no test depends on the day or the zone it runs
//! in. The clock is moved by libfaketime (Debian's `faketime`), for the test binaries and
//! the doctests only, through cargo's `runner`: cargo and rustc run on the real clock.
//! That is not a choice but a need: rustc links jemalloc, whose first allocation calls
//! `clock_gettime` while holding its init lock; libfaketime's own first call then looks up
//! a symbol, the failed look-up allocates, and rustc deadlocks at startup (0 CPU, for ever;
//! a run compiling anything under `faketime` hangs, doctests included). Test binaries use
//! glibc's allocator and run fine. Monotonic clocks stay real
//! (`FAKETIME_DONT_FAKE_MONOTONIC=1`), so timeouts and sleeps behave.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use anyhow::{Context, Result, bail};

/// The variable through which the tests find the venv's interpreter (tests/support.rs).
const PYTHON_VAR: &str = "ATLAS_TEST_PYTHON";

/// Apache httpd as tests/support.rs runs it (Debian's `apache2` package).
const APACHE_BIN: &str = "/usr/sbin/apache2";
const APACHE_MODULES: &str = "/usr/lib/apache2/modules";
const APACHE_MODULE_FILES: &[&str] = &[
    "mod_mpm_prefork.so",
    "mod_authn_core.so",
    "mod_authn_file.so",
    "mod_authz_core.so",
    "mod_authz_user.so",
    "mod_auth_digest.so",
];

/// The interpreter a venv can be made from: `python3` on the PATH, else Debian's.
const SYSTEM_PYTHON: &str = "/usr/bin/python3";

/// How far ahead `--shifted-clock` moves the present (libfaketime's relative offset).
const SHIFT: &str = "+400d";
/// The time zone of `--shifted-clock`: UTC+14, as far from UTC as civil time goes.
const SHIFTED_ZONE: &str = "Pacific/Kiritimati";
/// libfaketime's wrapper, as the runner of every test binary and doctest.
const FAKETIME_BIN: &str = "faketime";

/// A tool the suite needs beyond cargo.
struct Need {
    /// What it is, as the summary and the error name it.
    what: &'static str,
    /// The tests that use it.
    used_by: &'static str,
    /// The Debian packages that provide it.
    packages: &'static [&'static str],
}

const CURL: Need = Need {
    what: "curl",
    used_by: "fake-atlas/tests/interop.rs",
    packages: &["curl"],
};
const GZIP: Need = Need {
    what: "gzip",
    used_by: "fake-atlas/tests/interop.rs",
    packages: &["gzip"],
};
const KILL: Need = Need {
    what: "kill",
    used_by: "cli/tests/cli.rs",
    packages: &["procps"],
};
const APACHE: Need = Need {
    what: "Apache httpd (/usr/sbin/apache2, modules in /usr/lib/apache2/modules)",
    used_by: "tests/apache.rs, cli/tests/apache.rs",
    packages: &["apache2"],
};
const PYTHON: Need = Need {
    what: "python3 with venv and ensurepip",
    used_by: "tests/auth.rs, through the venv",
    packages: &["python3", "python3-venv"],
};

const FAKETIME: Need = Need {
    what: "faketime (libfaketime)",
    used_by: "cargo xtask test --shifted-clock",
    packages: &["faketime"],
};
const TZDATA: Need = Need {
    what: "the time zone database (/usr/share/zoneinfo)",
    used_by: "cargo xtask test --shifted-clock, cli/tests/cli.rs",
    packages: &["tzdata"],
};

/// What is there: for each need, whether it is met, and the Python to make the venv from.
struct Survey {
    missing: Vec<&'static Need>,
    python: Option<OsString>,
}

fn survey(shifted: bool) -> Survey {
    let mut missing = Vec::new();
    for (need, tool) in [(&CURL, "curl"), (&GZIP, "gzip"), (&KILL, "kill")] {
        if on_path(tool).is_none() {
            missing.push(need);
        }
    }
    if shifted && on_path(FAKETIME_BIN).is_none() {
        missing.push(&FAKETIME);
    }
    if !Path::new("/usr/share/zoneinfo")
        .join(SHIFTED_ZONE)
        .is_file()
    {
        missing.push(&TZDATA);
    }
    let apache = Path::new(APACHE_BIN).is_file()
        && APACHE_MODULE_FILES
            .iter()
            .all(|m| Path::new(APACHE_MODULES).join(m).is_file());
    if !apache {
        missing.push(&APACHE);
    }
    let python = venv_capable_python();
    if python.is_none() {
        missing.push(&PYTHON);
    }
    Survey { missing, python }
}

/// `cargo xtask test [--no-install] [--shifted-clock] [-- CARGO-TEST-ARGS]`.
pub fn run(root: &Path, args: &[String]) -> Result<ExitCode> {
    let (ours, extra) = match args.iter().position(|a| a == "--") {
        Some(i) => (&args[..i], &args[i + 1..]),
        None => (args, &[][..]),
    };
    let mut install = true;
    let mut shifted = false;
    for arg in ours {
        match arg.as_str() {
            "--no-install" => install = false,
            "--shifted-clock" => shifted = true,
            other => {
                return Err(crate::usage(&format!(
                    "unknown argument `{other}` (cargo test's arguments go after `--`)"
                )));
            }
        }
    }

    // System packages.
    let mut found = survey(shifted);
    let mut installed: Vec<&str> = Vec::new();
    if !found.missing.is_empty() {
        let packages = packages(&found.missing);
        let installer = if install { installer() } else { None };
        let Some(installer) = installer else {
            report_missing(&found.missing, install);
            return Ok(ExitCode::FAILURE);
        };
        eprintln!(
            "xtask test: installing {} with apt-get{}",
            packages.join(" "),
            if installer.sudo { " (sudo)" } else { "" }
        );
        installer.apt_get(&["update", "-qq"])?;
        let mut install_args = vec!["install", "-y", "-qq", "--no-install-recommends"];
        install_args.extend(packages.iter().copied());
        installer.apt_get(&install_args)?;
        found = survey(shifted);
        if !found.missing.is_empty() {
            report_missing(&found.missing, false);
            bail!("still missing after apt-get install {}", packages.join(" "));
        }
        installed = packages;
    }
    let base_python = found.python.expect("no need is missing");

    // The Python packages, in a venv under the target directory.
    let target = target_dir(root)?;
    let venv = target.join("test-venv");
    let venv_state = provision_venv(root, &venv, &base_python)?;
    let python = venv.join("bin").join("python");

    eprintln!(
        "xtask test: curl, gzip, kill, Apache httpd, python3: {}; venv {}: {venv_state}; {PYTHON_VAR}={}",
        if installed.is_empty() {
            "present".to_string()
        } else {
            format!("installed {} with apt-get", installed.join(" "))
        },
        shown(root, &venv),
        shown(root, &python),
    );

    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command.current_dir(root);
    if shifted {
        let ahead = shifted_days()?;
        eprintln!(
            "xtask test: the clock of every test binary and doctest {SHIFT} ({ahead} days ahead, checked) in {SHIFTED_ZONE}"
        );
        command
            .arg("--config")
            .arg(format!(
                "target.'cfg(all())'.runner = ['{FAKETIME_BIN}', '-f', '{SHIFT}']"
            ))
            .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
            .env("TZ", SHIFTED_ZONE);
    }
    let status = command
        .arg("test")
        .args(cargo_test_args(extra))
        .env(PYTHON_VAR, &python)
        .status()
        .context("running cargo test")?;
    Ok(match status.code() {
        Some(0) => ExitCode::SUCCESS,
        Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(1).max(1)),
        None => ExitCode::FAILURE,
    })
}

/// How many days ahead a program run by `faketime -f SHIFT` sees the present: checked
/// before the suite runs, so that a libfaketime that moves nothing cannot pass for a
/// shifted run.
fn shifted_days() -> Result<i64> {
    let output = Command::new(FAKETIME_BIN)
        .args(["-f", SHIFT, "date", "-u", "+%s"])
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {FAKETIME_BIN}"))?;
    let real = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .context("reading the clock")?
        .as_secs() as i64;
    let seen: i64 = String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .with_context(|| {
            format!(
                "`{FAKETIME_BIN} -f {SHIFT} date -u +%s` printed no time: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            )
        })?;
    let days = (seen - real) / 86_400;
    let wanted: i64 = SHIFT
        .trim_matches(['+', 'd'])
        .parse()
        .expect("SHIFT is +<days>d");
    if (days - wanted).abs() > 1 {
        bail!("`{FAKETIME_BIN} -f {SHIFT}` moved the clock {days} days, not {wanted}");
    }
    Ok(days)
}

/// `--locked --workspace --features atlas-logs/demo` (the CLI's tests run its in-process
/// demo) unless the caller's arguments already say otherwise, then theirs.
fn cargo_test_args(extra: &[String]) -> Vec<String> {
    const DEMO_FEATURE: &str = "atlas-logs/demo";
    // Only cargo's own arguments, not those after a second `--` (the test binaries').
    let cargo_own = match extra.iter().position(|a| a == "--") {
        Some(i) => &extra[..i],
        None => extra,
    };
    let has = |pred: &dyn Fn(&str) -> bool| cargo_own.iter().any(|a| pred(a));
    let mut args = Vec::new();
    if !has(&|a| a == "--locked" || a == "--frozen") {
        args.push("--locked".to_string());
    }
    let selects = has(&|a| {
        a == "--workspace"
            || a == "--all"
            || a == "--manifest-path"
            || a.starts_with("--manifest-path=")
            || a.starts_with("-p")
            || a == "--package"
            || a.starts_with("--package=")
    });
    if !selects {
        args.push("--workspace".to_string());
        if !has(&|a| a.starts_with("--features") || a == "-F" || a == "--all-features") {
            args.extend(["--features".to_string(), DEMO_FEATURE.to_string()]);
        }
    }
    args.extend(extra.iter().cloned());
    args
}

/// The Debian packages for `needs`, each once, in order.
fn packages(needs: &[&Need]) -> Vec<&'static str> {
    let mut packages = Vec::new();
    for need in needs {
        for package in need.packages {
            if !packages.contains(package) {
                packages.push(*package);
            }
        }
    }
    packages
}

fn report_missing(missing: &[&Need], mention_privileges: bool) {
    eprintln!("error: the test suite needs what is not installed here:");
    for need in missing {
        eprintln!("  {} (for {})", need.what, need.used_by);
    }
    let packages = packages(missing).join(" ");
    if is_debian() {
        let sudo = if uid() == Some(0) { "" } else { "sudo " };
        eprintln!(
            "Install them, then run `cargo xtask test` again:\n  {sudo}apt-get install {packages}"
        );
        if mention_privileges {
            eprintln!(
                "(`cargo xtask test` installs them itself when run as root or with passwordless sudo.)"
            );
        }
    } else {
        eprintln!(
            "Install them with the system's package manager (Debian's packages: {packages}), \
             then run `cargo xtask test` again."
        );
    }
}

/// Runs apt-get as root: directly, or through passwordless sudo.
struct Installer {
    sudo: bool,
}

impl Installer {
    fn apt_get(&self, args: &[&str]) -> Result<()> {
        let mut command = if self.sudo {
            let mut c = Command::new("sudo");
            c.args(["-n", "env", "DEBIAN_FRONTEND=noninteractive", "apt-get"]);
            c
        } else {
            let mut c = Command::new("apt-get");
            c.env("DEBIAN_FRONTEND", "noninteractive");
            c
        };
        let status = command
            .args(args)
            .stdin(Stdio::null())
            .status()
            .context("running apt-get")?;
        if !status.success() {
            bail!("apt-get {} failed ({status})", args.join(" "));
        }
        Ok(())
    }
}

/// How to install packages here, if at all: a Debian-like system, as root or with sudo.
fn installer() -> Option<Installer> {
    if !is_debian() || on_path("apt-get").is_none() {
        return None;
    }
    if uid() == Some(0) {
        return Some(Installer { sudo: false });
    }
    let sudo = on_path("sudo").is_some()
        && Command::new("sudo")
            .args(["-n", "true"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
    sudo.then_some(Installer { sudo: true })
}

fn is_debian() -> bool {
    Path::new("/etc/debian_version").is_file()
}

/// The real user id, from /proc.
fn uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The first executable `name` on the PATH.
fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        path.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        path.is_file()
    }
}

/// A Python 3 that can make a venv with pip in it (Debian splits `ensurepip` off into
/// python3-venv): `python3` on the PATH, else /usr/bin/python3.
fn venv_capable_python() -> Option<OsString> {
    let candidates = on_path("python3")
        .into_iter()
        .map(PathBuf::into_os_string)
        .chain(std::iter::once(OsString::from(SYSTEM_PYTHON)));
    candidates.into_iter().find(|python| {
        Command::new(python)
            .args(["-c", "import venv, ensurepip"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// The target directory: `CARGO_TARGET_DIR` when set, else `target/` of the workspace.
fn target_dir(root: &Path) -> Result<PathBuf> {
    Ok(match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => std::env::current_dir()
            .context("reading the current directory")?
            .join(dir),
        _ => root.join("target"),
    })
}

/// Makes `venv` from `base` and installs tests/requirements.txt into it, unless its stamp
/// says it already holds exactly these requirements. Returns what was done.
fn provision_venv(root: &Path, venv: &Path, base: &OsString) -> Result<&'static str> {
    let requirements = root.join("tests").join("requirements.txt");
    let text = std::fs::read(&requirements)
        .with_context(|| format!("reading {}", requirements.display()))?;
    let stamp_text = format!("fnv1a64 {:016x}\n", fnv1a64(&text));
    let stamp = venv.join("requirements.stamp");
    let python = venv.join("bin").join("python");
    // `exists` follows the symlink: a venv whose base interpreter is gone is made again.
    let usable = python.exists();
    if usable && std::fs::read_to_string(&stamp).is_ok_and(|s| s == stamp_text) {
        return Ok("up to date");
    }
    let created = !usable;
    if created {
        if venv.exists() {
            std::fs::remove_dir_all(venv)
                .with_context(|| format!("removing the broken venv {}", venv.display()))?;
        }
        let status = Command::new(base)
            .arg("-m")
            .arg("venv")
            .arg(venv)
            .stdin(Stdio::null())
            .status()
            .with_context(|| format!("running {}", base.to_string_lossy()))?;
        if !status.success() {
            bail!(
                "{} -m venv {} failed ({status})",
                base.to_string_lossy(),
                venv.display()
            );
        }
    }
    let _ = std::fs::remove_file(&stamp);
    let status = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-input",
            "-r",
        ])
        .arg(&requirements)
        .stdin(Stdio::null())
        .status()
        .with_context(|| format!("running {}", python.display()))?;
    if !status.success() {
        bail!(
            "pip could not install {} into {} ({status}; its output is above)",
            requirements.display(),
            venv.display()
        );
    }
    std::fs::write(&stamp, stamp_text).with_context(|| format!("writing {}", stamp.display()))?;
    Ok(if created {
        "created, tests/requirements.txt installed"
    } else {
        "tests/requirements.txt changed, installed"
    })
}

/// 64-bit FNV-1a: a hash that stays the same across Rust releases, for the stamp.
fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// `path` relative to the workspace root when inside it.
fn shown(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn whole_workspace_locked_by_default() {
        assert_eq!(
            cargo_test_args(&[]),
            args(&["--locked", "--workspace", "--features", "atlas-logs/demo"])
        );
        assert_eq!(
            cargo_test_args(&args(&["--release", "--", "--nocapture", "-p"])),
            args(&[
                "--locked",
                "--workspace",
                "--features",
                "atlas-logs/demo",
                "--release",
                "--",
                "--nocapture",
                "-p"
            ])
        );
    }

    #[test]
    fn a_package_selection_replaces_the_workspace() {
        for selection in [
            &["-p", "atlas-client-tests"][..],
            &["-patlas-client-tests"],
            &["--package", "x"],
            &["--package=x"],
            &["--workspace", "--exclude", "x"],
        ] {
            assert_eq!(
                cargo_test_args(&args(selection))[..],
                [&["--locked".to_string()][..], &args(selection)].concat(),
                "{selection:?}"
            );
        }
        assert_eq!(
            cargo_test_args(&args(&["--frozen"])),
            args(&["--workspace", "--features", "atlas-logs/demo", "--frozen"])
        );
        assert_eq!(
            cargo_test_args(&args(&["--all-features"])),
            args(&["--locked", "--workspace", "--all-features"])
        );
    }

    #[test]
    fn fnv1a64_is_the_standard_one() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
