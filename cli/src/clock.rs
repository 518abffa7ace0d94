//! The present. This is the one place `atlas-logs` reads the system clock; `--now` pins
//! it, so that a run can be repeated exactly (a window given as `--since 24h` means the
//! same day tomorrow) and tests depend on no particular day.

use crate::Failure;
use crate::args::Global;
use crate::time;

/// The present in epoch milliseconds: `--now` when given (read like any other time, the
/// system clock standing for "now" and durations), else the system clock.
pub fn now_ms(global: &Global) -> Result<i64, Failure> {
    let clock = chrono::Utc::now().timestamp_millis();
    match &global.now {
        None => Ok(clock),
        Some(value) => {
            let now =
                time::parse_time(value, clock).map_err(|e| Failure::usage(format!("--now {e}")))?;
            if now > clock {
                return Err(Failure::usage(format!(
                    "--now {} is in the future; the present can be moved back, not ahead",
                    time::show(now)
                )));
            }
            Ok(now)
        }
    }
}
