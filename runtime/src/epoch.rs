//! Times given to parameters that Atlas reads as a count since the Unix epoch, in
//! milliseconds ([`EpochMillis`]) or in seconds ([`EpochSeconds`]). The setters of such
//! parameters take an `i64` in the parameter's own unit, a [`std::time::SystemTime`] or a
//! [`chrono::DateTime<Utc>`], so a time is never sent in the wrong unit.
//!
//! Among integers only `i64` is taken: an unsuffixed literal (`.start(1_700_000_000_000)`)
//! then needs no suffix. Convert other integers with `i64::from` or `i64::try_from`.

use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};

/// A value a parameter in epoch milliseconds accepts.
pub trait EpochMillis {
    /// Milliseconds since the Unix epoch.
    ///
    /// # Errors
    ///
    /// The time is before the Unix epoch or does not fit an `i64` of milliseconds.
    fn epoch_millis(self) -> Result<i64, String>;
}

/// A value a parameter in epoch seconds accepts.
pub trait EpochSeconds {
    /// Whole seconds since the Unix epoch (a fraction of a second is dropped).
    ///
    /// # Errors
    ///
    /// The time is before the Unix epoch or does not fit an `i64` of seconds.
    fn epoch_seconds(self) -> Result<i64, String>;
}

/// An `i64` is taken as already in the parameter's unit.
impl EpochMillis for i64 {
    fn epoch_millis(self) -> Result<i64, String> {
        Ok(self)
    }
}

/// An `i64` is taken as already in the parameter's unit.
impl EpochSeconds for i64 {
    fn epoch_seconds(self) -> Result<i64, String> {
        Ok(self)
    }
}

fn since_epoch(time: SystemTime) -> Result<std::time::Duration, String> {
    time.duration_since(UNIX_EPOCH)
        .map_err(|_| "the time is before 1970-01-01T00:00:00Z".to_string())
}

impl EpochMillis for SystemTime {
    fn epoch_millis(self) -> Result<i64, String> {
        i64::try_from(since_epoch(self)?.as_millis())
            .map_err(|_| "the time is too far in the future".to_string())
    }
}

impl EpochSeconds for SystemTime {
    fn epoch_seconds(self) -> Result<i64, String> {
        i64::try_from(since_epoch(self)?.as_secs())
            .map_err(|_| "the time is too far in the future".to_string())
    }
}

fn not_before_epoch(time: &DateTime<Utc>) -> Result<(), String> {
    if time.timestamp() < 0 {
        return Err("the time is before 1970-01-01T00:00:00Z".to_string());
    }
    Ok(())
}

impl EpochMillis for DateTime<Utc> {
    fn epoch_millis(self) -> Result<i64, String> {
        not_before_epoch(&self)?;
        Ok(self.timestamp_millis())
    }
}

impl EpochSeconds for DateTime<Utc> {
    fn epoch_seconds(self) -> Result<i64, String> {
        not_before_epoch(&self)?;
        Ok(self.timestamp())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn converts_to_the_unit() {
        let time = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        assert_eq!(time.epoch_millis(), Ok(1_700_000_000_123));
        assert_eq!(time.epoch_seconds(), Ok(1_700_000_000));
        let date = DateTime::<Utc>::from(time);
        assert_eq!(date.epoch_millis(), Ok(1_700_000_000_123));
        assert_eq!(date.epoch_seconds(), Ok(1_700_000_000));
        assert_eq!(1_700_000_000_000.epoch_millis(), Ok(1_700_000_000_000));
        assert_eq!(1_700_000_000.epoch_seconds(), Ok(1_700_000_000));
    }

    #[test]
    fn refuses_times_before_the_epoch() {
        let before = UNIX_EPOCH - Duration::from_secs(1);
        assert!(before.epoch_millis().is_err());
        assert!(before.epoch_seconds().is_err());
        assert!(DateTime::<Utc>::from(before).epoch_millis().is_err());
        assert!(DateTime::<Utc>::from(before).epoch_seconds().is_err());
    }
}
