// Hand-written: the thin layer specific to this spec's types. Everything else in this
// crate is generated (`generated.rs`) or re-exported from `atlas-runtime`.

//! Each access-log entry's time as a real timestamp: from the log line's millisecond
//! `t.$date` when there is one, else from `timestamp` in any format Atlas has used.

use chrono::{DateTime, Utc};

use crate::types::{LegacyAccessLogs, MongoDbAccessLogs};

impl MongoDbAccessLogs {
    /// When the attempt happened, to the millisecond when the log line says so.
    pub fn time(&self) -> Option<DateTime<Utc>> {
        atlas_runtime::entry_time(self.log_line.as_deref(), self.timestamp.as_deref())
    }
}

impl LegacyAccessLogs {
    /// When the attempt happened, to the millisecond when the log line says so.
    pub fn time(&self) -> Option<DateTime<Utc>> {
        atlas_runtime::entry_time(self.log_line.as_deref(), self.timestamp.as_deref())
    }
}
