//! The progress bar of a run.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::input::Progress;

/// A progress bar, hidden until the run has taken a moment (and always when standard
/// error is not a terminal or `--quiet` is given).
pub(super) fn progress_bar(progress: &Progress) -> ProgressBar {
    let (len, template) = match progress {
        Progress::Bytes(_, total) => (
            *total,
            "{spinner} reading {bytes}/{total_bytes} [{wide_bar}] {eta} left",
        ),
        Progress::Rows(total) => (
            *total,
            "{spinner} reading {human_pos}/{human_len} rows [{wide_bar}] {eta} left",
        ),
    };
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::hidden());
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// How long a run goes before its progress bar appears.
pub(super) const SHOW_AFTER: Duration = Duration::from_millis(400);
