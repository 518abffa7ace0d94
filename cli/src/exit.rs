//! Exit codes, in one place: what `--help` lists and what every failure maps to.

/// Any other failure.
pub const FAILURE: u8 = 1;
/// Bad usage or input: nothing was sent, nothing was written.
pub const USAGE: u8 = 2;
/// Authentication or authorization failed.
pub const AUTH: u8 = 3;
/// Not found: project, cluster, host or workspace.
pub const NOT_FOUND: u8 = 4;
/// Atlas's rate limit still exceeded after retrying.
pub const RATE_LIMITED: u8 = 5;
/// The export is incomplete: one millisecond holds more than a page, or Atlas's answers
/// fit no known reading of the window.
pub const INCOMPLETE: u8 = 6;
/// Ended by `signal`: 128 plus its number (130 for SIGINT, 143 for SIGTERM).
pub const fn signalled(signal: u8) -> u8 {
    128 + signal
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `--help` lists every code this module defines, by its number.
    #[test]
    fn help_lists_every_code() {
        let help = crate::args::EXIT_HELP;
        for code in [FAILURE, USAGE, AUTH, NOT_FOUND, RATE_LIMITED, INCOMPLETE] {
            assert!(
                help.lines()
                    .any(|l| l.trim_start().starts_with(&format!("{code} "))),
                "{code} in\n{help}"
            );
        }
        for (code, signal) in [(signalled(2), "(Ctrl-C)"), (signalled(15), "(SIGTERM)")] {
            assert!(
                help.contains(&format!("{code} ")) && help.contains(signal),
                "{help}"
            );
        }
    }
}
