//! What a run did, for the closing summary.

use std::path::Path;
use std::time::Duration;

use oplink::__private::ordinal;

use super::restore::places;

/// What one operator of the chain did.
#[derive(Clone, Debug, Default)]
pub struct StageSummary {
    /// The operator's name.
    pub name: String,
    /// Rows it was given.
    pub rows_in: u64,
    /// Rows it returned.
    pub rows_out: u64,
    /// Time spent in its calls.
    pub time: Duration,
}

/// What a run did.
#[derive(Debug)]
pub struct Summary {
    /// Rows read from the input.
    pub rows_read: u64,
    /// Changes fed to the chain.
    pub changes: u64,
    /// Time spent reading the input.
    pub read_time: Duration,
    /// Each operator.
    pub stages: Vec<StageSummary>,
    /// Rows written.
    pub rows_written: u64,
    /// Time spent writing.
    pub write_time: Duration,
    /// The whole run.
    pub total: Duration,
}

impl Summary {
    /// The closing summary, for standard error.
    pub fn to_text(&self, input: &Path) -> String {
        let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1e3);
        let rows = |n: u64| crate::counted(n, "row", "rows");
        let mut text = format!(
            "read {} in {} {} from `{}` in {}\n",
            rows(self.rows_read),
            self.changes,
            if self.changes == 1 {
                "change"
            } else {
                "changes"
            },
            crate::escape_controls(&input.display().to_string(), &[]),
            ms(self.read_time)
        );
        if !self.stages.is_empty() {
            // An operator the chain names twice is told apart by its place: `tally (2nd)`.
            let places = places(self.stages.iter().map(|s| s.name.as_str()));
            let labels: Vec<String> = self
                .stages
                .iter()
                .zip(places)
                .map(|(stage, place)| match place {
                    (nth, 2..) => format!("{} ({})", stage.name, ordinal(nth)),
                    _ => stage.name.clone(),
                })
                .collect();
            let width = labels.iter().map(String::len).max().unwrap_or(0).max(8);
            text.push_str(&format!(
                "{:<width$}  {:>10}  {:>10}  {:>10}\n",
                "operator", "rows in", "rows out", "time"
            ));
            for (stage, label) in self.stages.iter().zip(&labels) {
                text.push_str(&format!(
                    "{:<width$}  {:>10}  {:>10}  {:>10}\n",
                    label,
                    stage.rows_in,
                    stage.rows_out,
                    ms(stage.time)
                ));
            }
        }
        let rate = if self.total > Duration::from_millis(100) {
            format!(
                ", {:.0} rows/s",
                self.rows_read as f64 / self.total.as_secs_f64()
            )
        } else {
            String::new()
        };
        text.push_str(&format!(
            "wrote {} in {}; {} in all{rate}\n",
            rows(self.rows_written),
            ms(self.write_time),
            ms(self.total),
        ));
        text
    }
}
