//! What each flag must be. Everything here runs before any request is sent and before any
//! file is touched; each refusal is one line naming the flag and the rule.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use atlas_client::AtomicFile;

/// A value as a message shows it: quoted, and cut short when long.
pub fn shown(value: &str) -> String {
    const MOST: usize = 60;
    const HEAD: usize = 36;
    const TAIL: usize = 20;
    let chars = value.chars().count();
    if chars <= MOST {
        format!("{value:?}")
    } else {
        // Both ends: what is wrong is as often at the end (a port, a file name).
        let head: String = value.chars().take(HEAD).collect();
        let tail: String = value.chars().skip(chars - TAIL).collect();
        format!("{head:?}...{tail:?} ({chars} characters)")
    }
}

/// A project id: 24 hexadecimal digits. `source` names where it came from (a flag, a
/// variable, a profile).
pub fn project_id(source: &str, value: &str) -> Result<String, String> {
    atlas_id(source, "a project id", value)
}

/// An organisation id: 24 hexadecimal digits, as [`project_id`].
pub fn org_id(source: &str, value: &str) -> Result<String, String> {
    atlas_id(source, "an organisation id", value)
}

fn atlas_id(source: &str, what: &str, value: &str) -> Result<String, String> {
    if value.len() == 24 && value.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(value.to_ascii_lowercase())
    } else {
        Err(format!(
            "{source} must be {what}, 24 hexadecimal digits; got {}",
            shown(value)
        ))
    }
}

/// A cluster name as Atlas allows it: letters, digits and hyphens, starting with a letter
/// or digit, at most 64 characters (the spec's pattern, and Atlas's length limit).
pub fn cluster(value: &str) -> Result<(), String> {
    let ok = value.len() <= 64
        && value
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "--cluster must be a cluster name: 1 to 64 letters, digits and hyphens, starting with a letter or digit; got {}",
            shown(value)
        ))
    }
}

/// A process: a hostname (DNS labels of letters, digits and hyphens) or an IP address
/// (IPv6 in brackets when a port follows), optionally with `:port`.
pub fn hostname(value: &str) -> Result<(), String> {
    if is_host_and_port(value) {
        Ok(())
    } else {
        Err(format!(
            "--hostname must be a process's hostname or IP address, optionally with :port (cluster0-shard-00-00.abcde.mongodb.net:27017); got {}",
            shown(value)
        ))
    }
}

fn is_host_and_port(value: &str) -> bool {
    if value.parse::<IpAddr>().is_ok() {
        return true;
    }
    let (host, port) = if let Some(rest) = value.strip_prefix('[') {
        let Some((v6, after)) = rest.split_once(']') else {
            return false;
        };
        if v6.parse::<std::net::Ipv6Addr>().is_err() {
            return false;
        }
        match after {
            "" => return true,
            _ => match after.strip_prefix(':') {
                Some(port) => ("", port),
                None => return false,
            },
        }
    } else {
        match value.rsplit_once(':') {
            Some((host, port)) => (host, port),
            None => (value, ""),
        }
    };
    let port_ok = port.is_empty() && !value.ends_with(':')
        || (!port.is_empty()
            && port.bytes().all(|b| b.is_ascii_digit())
            && port.parse::<u16>().is_ok_and(|p| p > 0));
    if !port_ok {
        return false;
    }
    if host.is_empty() {
        // A bracketed IPv6 address, checked above.
        return value.starts_with('[');
    }
    host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// A stream processing workspace or processor name: 1 to 64 letters, digits, hyphens and
/// underscores.
pub fn stream_name(flag: &str, value: &str) -> Result<(), String> {
    let ok = !value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{flag} must be 1 to 64 letters, digits, hyphens and underscores; got {}",
            shown(value)
        ))
    }
}

/// One client IP address, IPv4 or IPv6.
pub fn ip(value: &str) -> Result<(), String> {
    // The runtime's rule for `x-ip-address` parameters, with the flag's name.
    match atlas_client::runtime::operation::ip_address("ipAddress", value) {
        Ok(_) => Ok(()),
        Err(_) => Err(format!(
            "--ip must be one IPv4 or IPv6 address (no prefix length); got {}",
            shown(value)
        )),
    }
}

/// Where `export` writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExportOut {
    /// Standard output; several targets are merged.
    Stdout,
    /// One file.
    File(PathBuf),
    /// One file per target: the name with `{target}` replaced.
    PerTarget(String),
}

/// What `{target}` is replaced by in `--out`.
pub const TARGET_PLACEHOLDER: &str = "{target}";

impl ExportOut {
    /// Reads `--out` for `targets` targets (`None` when not known before listing them).
    pub fn parse(value: &str, targets: Option<usize>) -> Result<Self, String> {
        if value.is_empty() {
            return Err(
                "--out must name a file, or - for standard output; got an empty value".into(),
            );
        }
        if value == "-" {
            return Ok(Self::Stdout);
        }
        if has_placeholder(value)? {
            // Each target's file is checked once the targets are known, the directory now:
            // `{target}` in it would leave it unknown until Atlas lists the targets.
            let dir = match Path::new(value).parent() {
                Some(dir) if dir.as_os_str().is_empty() => Path::new("."),
                Some(dir) => dir,
                None => Path::new("."),
            };
            if dir.to_string_lossy().contains(TARGET_PLACEHOLDER) {
                return Err(format!(
                    "--out {}: put {TARGET_PLACEHOLDER} in the file name, not in a directory",
                    shown(value)
                ));
            }
            directory("--out", dir)?;
            return Ok(Self::PerTarget(value.to_string()));
        }
        if targets != Some(1) {
            return Err(format!(
                "--out {} is one file for several targets: put {TARGET_PLACEHOLDER} in the name for one file per target, or use - for one merged stream",
                shown(value)
            ));
        }
        file("--out", Path::new(value))?;
        Ok(Self::File(PathBuf::from(value)))
    }

    /// The file for a target's name, if output goes to files.
    pub fn file_for(&self, name: &str) -> Option<PathBuf> {
        match self {
            Self::Stdout => None,
            Self::File(path) => Some(path.clone()),
            Self::PerTarget(template) => {
                Some(PathBuf::from(template.replace(TARGET_PLACEHOLDER, name)))
            }
        }
    }
}

/// Whether `--out` holds `{target}`: once is one file per target; more is refused.
fn has_placeholder(value: &str) -> Result<bool, String> {
    match value.matches(TARGET_PLACEHOLDER).count() {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(format!(
            "--out {} holds {TARGET_PLACEHOLDER} more than once; give it once",
            shown(value)
        )),
    }
}

/// `path` with its longest existing part resolved (`.`, `..`, links, the working
/// directory) and the rest, not made yet, as written.
fn resolved(path: &Path) -> PathBuf {
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut rest = Vec::new();
    let mut existing = path.as_path();
    loop {
        if let Ok(real) = std::fs::canonicalize(existing) {
            return rest.iter().rev().fold(real, |p, part| p.join(part));
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                existing = parent;
            }
            _ => return path,
        }
    }
}

/// The same directory, however named, made yet or not.
fn same_dir(a: &Path, b: &Path) -> bool {
    resolved(a) == resolved(b)
}

/// The same file, however named (`./a.json`, `a.json`, `$PWD/a.json`, through a linked
/// directory, or another name of the same file where both exist).
pub fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    if let (Ok(a), Ok(b)) = (std::fs::metadata(a), std::fs::metadata(b)) {
        use std::os::unix::fs::MetadataExt;
        return (a.dev(), a.ino()) == (b.dev(), b.ino());
    }
    same_dir(crate::state::dir_of(a), crate::state::dir_of(b)) && a.file_name() == b.file_name()
}

/// An output file that is not, and will not become, a checkpoint: not a state file of this
/// program (another target's checkpoint, say), nor named as checkpoints are (`*.json`)
/// in the directory its target's checkpoint is kept in (`--checkpoint-dir`, or a project's
/// directory in it). Writing it would destroy that checkpoint now, or stop its target's
/// next run.
pub fn not_a_checkpoint(out: &Path, checkpoints_in: Option<&Path>) -> Result<(), String> {
    if crate::state::is_state_file(out) {
        return Err(format!(
            "--out {} is a checkpoint of this program; give the output another name",
            out.display()
        ));
    }
    if let Some(dir) = checkpoints_in
        && out.extension().is_some_and(|x| x == "json")
        && same_dir(crate::state::dir_of(out), dir)
    {
        return Err(format!(
            "--out {} takes a checkpoint's name (<target>.json) where --checkpoint-dir keeps them ({}); give the output another name or directory",
            out.display(),
            dir.display()
        ));
    }
    Ok(())
}

/// `--out`'s per-target files must not be the checkpoints kept in `dir` (`<target>.json`):
/// a run would write its output over its checkpoints.
pub fn not_the_checkpoints(template: &str, dir: &Path) -> Result<(), String> {
    let path = Path::new(template);
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let is_checkpoints = path
        .file_name()
        .is_some_and(|name| name.to_string_lossy() == format!("{TARGET_PLACEHOLDER}.json"))
        && same_dir(parent, dir);
    if is_checkpoints {
        return Err(format!(
            "--out {template} names the checkpoints kept in --checkpoint-dir {}; give the files another name or directory",
            dir.display()
        ));
    }
    Ok(())
}

/// A checkpoint (`*.json`) kept in `dir`, if any: the first by name.
pub fn some_checkpoint(dir: &Path) -> Option<String> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "json"))
        .filter_map(|p| Some(p.file_name()?.to_string_lossy().into_owned()))
        .min()
}

/// `--out` for one named target (a workspace): `{target}`, if given, replaced by its name,
/// as it is for each of several.
pub fn out_for(value: &Path, name: &str) -> Result<PathBuf, String> {
    let text = value.to_string_lossy();
    if value
        .parent()
        .is_some_and(|dir| dir.to_string_lossy().contains(TARGET_PLACEHOLDER))
    {
        return Err(format!(
            "--out {}: put {TARGET_PLACEHOLDER} in the file name, not in a directory",
            shown(&text)
        ));
    }
    if has_placeholder(&text)? {
        Ok(PathBuf::from(text.replace(TARGET_PLACEHOLDER, name)))
    } else {
        Ok(value.to_path_buf())
    }
}

/// A file that can be written atomically now: nothing there but a regular file, in a
/// writable directory. Checked without writing anything.
pub fn file(flag: &str, path: &Path) -> Result<(), String> {
    let text = path.to_string_lossy();
    if text.is_empty() {
        return Err(format!("{flag} must name a file; got an empty value"));
    }
    if text.ends_with('/') || path.is_dir() {
        return Err(format!(
            "{flag} {} names a directory; name a file",
            shown(&text)
        ));
    }
    AtomicFile::check(path).map_err(|e| format!("{flag}: cannot write {}: {e}", shown(&text)))
}

/// An existing directory that files can be written in now.
pub fn directory(flag: &str, path: &Path) -> Result<(), String> {
    let text = path.to_string_lossy();
    if text.is_empty() {
        return Err(format!("{flag} must name a directory; got an empty value"));
    }
    if !path.is_dir() {
        return Err(format!(
            "{flag} {} is not an existing directory",
            shown(&text)
        ));
    }
    AtomicFile::check_in(path).map_err(|e| format!("{flag}: cannot write in {}: {e}", shown(&text)))
}

/// The audit log's `--out`: an existing directory, or a file in one.
pub fn audit_out(path: &Path) -> Result<(), String> {
    let text = path.to_string_lossy();
    if text.ends_with('/') || path.is_dir() {
        directory("--out", path)
    } else {
        file("--out", path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostnames() {
        for ok in [
            "cluster0-shard-00-00.abcde.mongodb.net:27017",
            "cluster0-shard-00-00.abcde.mongodb.net",
            "localhost",
            "10.0.0.1:27017",
            "2001:db8::1",
            "[2001:db8::1]:27017",
        ] {
            assert_eq!(hostname(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "a b",
            "a/../b",
            "host:",
            "host:0",
            "host:65536",
            "host:27a",
            "-host",
            "a..b",
            "[2001:db8::1",
            "[nope]:1",
        ] {
            assert!(hostname(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn clusters_and_stream_names() {
        assert!(cluster("Cluster0").is_ok());
        assert!(cluster("orders-eu-1").is_ok());
        for bad in ["", "-a", "a_b", "a.b", &"x".repeat(65)] {
            assert!(cluster(bad).is_err(), "{bad}");
        }
        assert!(stream_name("--tenant", "workspace_0-eu").is_ok());
        for bad in ["", "a/b", "a b", "..", &"x".repeat(65)] {
            assert!(stream_name("--tenant", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn outputs_that_would_be_checkpoints_are_refused() {
        let root = std::env::temp_dir().join(format!("atlas-logs-validate-{}", std::process::id()));
        let cp = root.join("cp");
        std::fs::create_dir_all(&cp).unwrap();
        std::fs::write(
            cp.join("Cluster0.json"),
            r#"{"checkpoint": {"version": 1}}"#,
        )
        .unwrap();
        std::fs::write(root.join("out.ndjson"), "{}\n").unwrap();
        // A project's directory not made yet: the checkpoints' directory as written.
        let project = cp.join("0123456789abcdef01234567");
        let refused = [
            (cp.join("Cluster0.json"), None),
            (cp.join("later.json"), Some(cp.clone())),
            (root.join("./cp/../cp/later.json"), Some(cp.clone())),
            (project.join("a-x.json"), Some(project.clone())),
            (
                cp.join("./0123456789abcdef01234567/a-x.json"),
                Some(project.clone()),
            ),
        ];
        for (out, kept_in) in &refused {
            assert!(
                not_a_checkpoint(out, kept_in.as_deref()).is_err(),
                "{out:?}"
            );
        }
        let allowed = [
            (root.join("out.ndjson"), Some(cp.clone())),
            (root.join("later.json"), Some(cp.clone())),
            (project.join("a-x.ndjson"), Some(project.clone())),
            (cp.join("later.json"), None),
        ];
        for (out, kept_in) in &allowed {
            assert_eq!(not_a_checkpoint(out, kept_in.as_deref()), Ok(()), "{out:?}");
        }
        // The same file however named; another file is not.
        assert!(same_file(
            &cp.join("Cluster0.json"),
            &root.join("cp/../cp/Cluster0.json")
        ));
        assert!(same_file(
            &project.join("a.json"),
            &cp.join("./0123456789abcdef01234567/a.json")
        ));
        assert!(!same_file(
            &cp.join("Cluster0.json"),
            &root.join("out.ndjson")
        ));
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn long_values_are_cut_short() {
        let e = cluster(&"c".repeat(5_000)).unwrap_err();
        assert!(e.ends_with("\" (5000 characters)"), "{e}");
        assert!(e.len() < 200);
        // Both ends shown: what is wrong is often at the end.
        let host = format!("{}.mongodb.net:99999", "a".repeat(60));
        let e = shown(&host);
        assert!(
            e.starts_with("\"aaaa") && e.ends_with(".mongodb.net:99999\" (78 characters)"),
            "{e}"
        );
        assert_eq!(shown("short"), "\"short\"");
    }

    #[test]
    fn project_ids() {
        assert_eq!(
            project_id("--group-id", "32B6E34B3D91647ABB20E7B8"),
            Ok("32b6e34b3d91647abb20e7b8".into())
        );
        assert!(project_id("--group-id", "32b6e34b3d91647abb20e7b").is_err());
        assert!(project_id("--group-id", "32b6e34b3d91647abb20e7bg").is_err());
    }
}
