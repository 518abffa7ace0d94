//! Where an incremental export stands ([`Checkpoint`]), and what a run delivering it keeps
//! ([`StateFile`]): formats read strictly, so that a damaged file is refused, never misread.

use std::collections::{BTreeMap, BTreeSet};

use atlas_client::AtlasError;
use serde::{Deserialize, Serialize};

use crate::{CHECKPOINT_VERSION, Target};

/// Where an incremental export stands: what it lists, and up to when it has listed it.
/// Read strictly: every field is required, unknown fields and other versions are refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Checkpoint {
    /// The checkpoint format, [`CHECKPOINT_VERSION`].
    pub version: u32,
    /// The project.
    pub group_id: String,
    /// The cluster or host.
    pub target: Target,
    /// The `authResult` filter of every run, if any.
    #[serde(deserialize_with = "required")]
    pub auth_result: Option<bool>,
    /// The `ipAddress` filter of every run, if any.
    #[serde(deserialize_with = "required")]
    pub ip_address: Option<String>,
    /// Every entry up to and including this millisecond has been exported.
    pub through_ms: i64,
    /// How far back from `through_ms` the next run reads again, for entries Atlas records
    /// late; 0 for none.
    pub overlap_ms: i64,
    /// The entries already exported from `remembered_from_ms` to `through_ms`, by
    /// millisecond: fingerprints (16 hex digits). A run re-reads from `remembered_from_ms`,
    /// or from `through_ms - overlap` when that is later, and emits only what is not here.
    #[serde(deserialize_with = "remembered_as_written")]
    pub remembered: BTreeMap<i64, Vec<String>>,
    /// Where the remembered entries start: `through_ms + 1` when none are.
    pub remembered_from_ms: i64,
}

/// Reads an `Option` field that must be present (as `null` or a value): serde otherwise
/// takes a missing one for `None`. For `#[serde(deserialize_with = ...)]` in files that
/// embed a [`Checkpoint`] and are read as strictly.
///
/// # Errors
///
/// The field's value is neither `null` nor a `T`.
pub(crate) fn required<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer)
}

/// Reads [`Checkpoint::remembered`], its milliseconds written as this crate writes them
/// (plain decimal: no sign but `-`, no leading zero, no space).
fn remembered_as_written<'de, D>(deserializer: D) -> Result<BTreeMap<i64, Vec<String>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    BTreeMap::<String, Vec<String>>::deserialize(deserializer)?
        .into_iter()
        .map(|(key, fingerprints)| match key.parse::<i64>() {
            Ok(ms) if ms.to_string() == key => Ok((ms, fingerprints)),
            _ => Err(serde::de::Error::custom(format_args!(
                "the remembered millisecond {key:?} is not written as a checkpoint writes it"
            ))),
        })
        .collect()
}

impl Checkpoint {
    /// Checks that this checkpoint belongs to an export of `target` in `group_id` with these
    /// filters.
    ///
    /// # Errors
    ///
    /// It belongs to another export.
    pub fn check_export(
        &self,
        group_id: &str,
        target: &Target,
        auth_result: Option<bool>,
        ip_address: Option<&str>,
    ) -> Result<(), CheckpointError> {
        if self.group_id != group_id
            || self.target != *target
            || self.auth_result != auth_result
            || self.ip_address.as_deref() != ip_address
        {
            let filters_differ =
                self.auth_result != auth_result || self.ip_address.as_deref() != ip_address;
            let filters = match (self.auth_result, &self.ip_address) {
                // Said when it is the difference.
                (None, None) if filters_differ => {
                    " with no authResult or ipAddress filter".to_string()
                }
                (None, None) => String::new(),
                (ok, ip) => format!(
                    " with{}{}",
                    ok.map(|ok| format!(" authResult={ok}")).unwrap_or_default(),
                    ip.as_deref()
                        .map(|ip| format!(" ipAddress={ip}"))
                        .unwrap_or_default()
                ),
            };
            return Err(CheckpointError::Mismatch {
                what: format!("{} in project {}{filters}", self.target, self.group_id),
            });
        }
        Ok(())
    }

    /// Checks that an export of `target` in `group_id` with these filters, ending at
    /// `end_ms`, can resume from this checkpoint: it is this export's
    /// ([`check_export`](Self::check_export)), and the window does not end before the
    /// checkpoint. What [`AccessLogExportBuilder::build`](crate::AccessLogExportBuilder::build)
    /// checks of a checkpoint, for a caller to check before it connects.
    ///
    /// # Errors
    ///
    /// It belongs to another export, or `end_ms` is before its `through_ms`.
    pub fn check_resume(
        &self,
        group_id: &str,
        target: &Target,
        auth_result: Option<bool>,
        ip_address: Option<&str>,
        end_ms: i64,
    ) -> Result<(), CheckpointError> {
        self.check_export(group_id, target, auth_result, ip_address)?;
        if end_ms < self.through_ms {
            return Err(CheckpointError::Behind {
                end_ms,
                through_ms: self.through_ms,
            });
        }
        Ok(())
    }

    /// The checkpoint as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    /// Reads a checkpoint, strictly.
    ///
    /// # Errors
    ///
    /// The text is not a checkpoint of this version: damaged, truncated, another format or
    /// version, a field missing or unknown.
    pub fn from_json(text: &str) -> Result<Self, CheckpointError> {
        read_checkpoint(text)
    }

    /// Checks the rules a checkpoint's fields must follow together, for a checkpoint read
    /// some other way than [`Checkpoint::from_json`] (embedded in a file of its own): this
    /// version; fingerprints exactly as written ([`Checkpoint::remembered`]), each once per
    /// millisecond; the remembered milliseconds within `[remembered_from_ms, through_ms]`.
    ///
    /// # Errors
    ///
    /// Another version, or fields that contradict each other.
    pub fn validate(&self) -> Result<(), CheckpointError> {
        let checkpoint = self;
        if checkpoint.version != CHECKPOINT_VERSION {
            return Err(CheckpointError::Version(checkpoint.version));
        }
        let fingerprints_ok = checkpoint.remembered.values().all(|fps| {
            fps.iter().all(|f| is_fingerprint(f))
                && fps.iter().collect::<BTreeSet<_>>().len() == fps.len()
        });
        if !fingerprints_ok
            || checkpoint.remembered_from_ms > checkpoint.through_ms.saturating_add(1)
            || checkpoint.overlap_ms < 0
            || checkpoint
                .remembered
                .keys()
                .any(|t| *t < checkpoint.remembered_from_ms || *t > checkpoint.through_ms)
        {
            return Err(CheckpointError::Inconsistent);
        }
        Ok(())
    }

    pub(crate) fn remembered_set(&self) -> BTreeSet<(i64, u64)> {
        self.remembered
            .iter()
            .flat_map(|(t, fps)| {
                fps.iter()
                    .filter_map(move |f| u64::from_str_radix(f, 16).ok().map(|f| (*t, f)))
            })
            .collect()
    }
}

/// The file that makes incremental exports deliver every entry exactly once across runs
/// killed at any instant: the [`Checkpoint`], and, between the two steps of a delivery,
/// the finished output still under its temporary name. A run completes a recorded
/// delivery (renames [`Delivery::temp`] over [`Delivery::out`]) before anything else;
/// see `atlas-logs`'s delivery protocol in the README.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    bound(
        serialize = "C: Serialize",
        deserialize = "C: serde::de::DeserializeOwned"
    )
)]
pub struct StateFile<C = Checkpoint> {
    /// Where the export stands: an access-log [`Checkpoint`], or an
    /// [`AuditCheckpoint`](crate::AuditCheckpoint).
    pub checkpoint: C,
    /// A finished output not yet renamed into place.
    #[serde(deserialize_with = "required")]
    pub delivery: Option<Delivery>,
}

/// A finished output under its temporary name, and where it goes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Delivery {
    /// The temporary file, as [`atlas_runtime::AtomicFile::prepare`] names it.
    pub temp: std::path::PathBuf,
    /// The output.
    pub out: std::path::PathBuf,
}

/// A checkpoint a [`StateFile`] can hold: read strictly, then checked by its own rules.
pub trait CheckpointFormat: Serialize + serde::de::DeserializeOwned {
    /// Checks the rules the checkpoint's fields must follow together.
    ///
    /// # Errors
    ///
    /// A rule does not hold.
    fn validate(&self) -> Result<(), CheckpointError>;
}

/// A checkpoint read strictly: no key twice, every object an object, then its own rules.
pub(crate) fn read_checkpoint<C: CheckpointFormat>(text: &str) -> Result<C, CheckpointError> {
    atlas_runtime::strict::unique_keys(text.as_bytes()).map_err(CheckpointError::Malformed)?;
    let checkpoint: C =
        atlas_runtime::strict::from_str(text).map_err(CheckpointError::Malformed)?;
    checkpoint.validate()?;
    Ok(checkpoint)
}

impl CheckpointFormat for Checkpoint {
    fn validate(&self) -> Result<(), CheckpointError> {
        Checkpoint::validate(self)
    }
}

impl<C: CheckpointFormat> StateFile<C> {
    /// The state file as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    /// Reads a state file exactly as written: no key twice, every object an object, the
    /// checkpoint's rules ([`CheckpointFormat::validate`]), and a delivery record only for a
    /// finished temporary file of ours beside its output
    /// ([`atlas_runtime::check_delivery`]), so that acting on it can never move a file
    /// that is not ours.
    ///
    /// # Errors
    ///
    /// Any of these does not hold.
    pub fn from_json(text: &str) -> Result<Self, StateFileError> {
        atlas_runtime::strict::unique_keys(text.as_bytes()).map_err(StateFileError::Malformed)?;
        let state: Self =
            atlas_runtime::strict::from_str(text).map_err(StateFileError::Malformed)?;
        state.checkpoint.validate()?;
        if let Some(delivery) = &state.delivery {
            atlas_runtime::check_delivery(&delivery.temp, &delivery.out)
                .map_err(StateFileError::Delivery)?;
        }
        Ok(state)
    }
}

/// Why a state file cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateFileError {
    /// Not a state file: damaged, truncated, a key twice, a field missing or unknown.
    #[error("it is not a checkpoint of this program (damaged, truncated, or another format)")]
    Malformed(#[source] serde_json::Error),
    /// Its checkpoint cannot be used.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// Its delivery record names something other than a finished file of ours.
    #[error("its delivery record cannot be trusted: {0}")]
    Delivery(#[source] atlas_runtime::NotOurs),
}

/// A fingerprint as a checkpoint writes it: 16 lowercase hexadecimal digits, no sign.
fn is_fingerprint(text: &str) -> bool {
    text.len() == 16 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A checkpoint that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// Not a checkpoint: damaged, truncated, a field missing or unknown.
    #[error("it is not a checkpoint of this program")]
    Malformed(#[source] serde_json::Error),
    /// A checkpoint of another version.
    #[error("it is a checkpoint of version {0}; this program reads version {CHECKPOINT_VERSION}")]
    Version(u32),
    /// Its fields contradict each other.
    #[error("its fields contradict each other")]
    Inconsistent,
    /// It belongs to another export.
    #[error("it belongs to the export of {what}, not this one")]
    Mismatch {
        /// What the checkpoint exports.
        what: String,
    },
    /// The window asked for ends before the checkpoint.
    #[error("the window ends at {end_ms}, before the checkpoint ({through_ms})")]
    Behind {
        /// The window's end.
        end_ms: i64,
        /// The checkpoint's `through_ms`.
        through_ms: i64,
    },
}

impl From<CheckpointError> for AtlasError {
    fn from(error: CheckpointError) -> Self {
        AtlasError::invalid(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checkpoint() -> Checkpoint {
        Checkpoint {
            version: 1,
            group_id: "32b6e34b3d91647abb20e7b8".into(),
            target: Target::Cluster("Cluster0".into()),
            auth_result: None,
            ip_address: None,
            through_ms: 1_700_000_000_000,
            overlap_ms: 0,
            remembered: BTreeMap::new(),
            remembered_from_ms: 1_700_000_000_001,
        }
    }

    #[test]
    fn a_checkpoint_of_another_export_says_whose_it_is() {
        let cp = checkpoint();
        let target = Target::Cluster("Cluster0".into());
        let group = cp.group_id.clone();
        assert!(cp.check_export(&group, &target, None, None).is_ok());
        // Only the filter differs: the checkpoint's lack of one is said.
        let e = cp
            .check_export(&group, &target, Some(false), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("with no authResult or ipAddress filter"), "{e}");
        let mut filtered = checkpoint();
        filtered.auth_result = Some(true);
        let e = filtered
            .check_export(&group, &target, None, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("with authResult=true"), "{e}");
        let other = Target::Cluster("Cluster1".into());
        let e = cp
            .check_export(&group, &other, None, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("Cluster0") && !e.contains("filter"), "{e}");
    }

    #[test]
    fn checkpoints_are_read_strictly() {
        let good = checkpoint().to_json();
        assert_eq!(Checkpoint::from_json(&good).unwrap(), checkpoint());
        let value: serde_json::Value = serde_json::from_str(&good).unwrap();
        let object = value.as_object().unwrap();
        // Every field is required: dropping any one is refused, the optional ones too.
        for key in object.keys() {
            let mut damaged = object.clone();
            damaged.remove(key);
            let text = serde_json::Value::Object(damaged).to_string();
            assert!(Checkpoint::from_json(&text).is_err(), "without {key}");
        }
        // A damaged key is an unknown field plus a missing one.
        let renamed = good.replace("\"target\"", "\"targte\"");
        assert!(Checkpoint::from_json(&renamed).is_err());
        for bad in ["", "[]", "{}", "null", &good[..good.len() / 2]] {
            assert!(Checkpoint::from_json(bad).is_err(), "{bad:?}");
        }
        let other_version = good.replace("\"version\": 1", "\"version\": 2");
        assert!(matches!(
            Checkpoint::from_json(&other_version),
            Err(CheckpointError::Version(2))
        ));
        let mut inconsistent = checkpoint();
        inconsistent
            .remembered
            .insert(1_600_000_000_000, vec!["00000000000000ff".into()]);
        assert!(matches!(
            Checkpoint::from_json(&inconsistent.to_json()),
            Err(CheckpointError::Inconsistent)
        ));
    }

    /// A checkpoint is taken exactly as written or not at all: no key twice, no array
    /// for an object, fingerprints as this crate writes them, each once.
    #[test]
    fn damaged_checkpoints_are_refused() {
        let mut remembering = checkpoint();
        remembering.through_ms = 1_700_000_000_005;
        remembering.remembered_from_ms = 1_700_000_000_000;
        remembering.remembered.insert(
            1_700_000_000_002,
            vec!["00000000000000ff".into(), "0123456789abcdef".into()],
        );
        let good = remembering.to_json();
        assert_eq!(Checkpoint::from_json(&good).unwrap(), remembering);
        let twice_key = good.replace(
            "\"overlapMs\": 0,",
            "\"overlapMs\": 0,\n  \"overlapMs\": 0,",
        );
        assert!(twice_key.matches("overlapMs").count() == 2);
        let twice_inner = good.replace(
            "\"1700000000002\": [",
            "\"1700000000002\": [],\n    \"1700000000002\": [",
        );
        assert!(twice_inner.matches("1700000000002").count() == 2);
        let swap = |old: &str, new: &str| {
            assert!(good.contains(old), "{old}");
            good.replace(old, new)
        };
        for bad in [
            twice_key,
            twice_inner,
            swap("{\n    \"cluster\": \"Cluster0\"\n  }", "[\"Cluster0\"]"),
            swap("\"00000000000000ff\"", "\"+0000000000000ff\""),
            swap("\"00000000000000ff\"", "\"00000000000000FF\""),
            swap("\"00000000000000ff\"", "\"00000000000000f\""),
            swap("\"00000000000000ff\"", "\"0123456789abcdef\""),
            swap("\"1700000000002\"", "\"+1700000000002\""),
            swap("\"1700000000002\"", "\"01700000000002\""),
            swap("\"1700000000002\"", "\" 1700000000002\""),
            swap("\"1700000000002\"", "\"1700000000002.0\""),
        ] {
            assert!(Checkpoint::from_json(&bad).is_err(), "{bad}");
        }
    }
}
