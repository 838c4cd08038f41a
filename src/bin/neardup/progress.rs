//! Progress bars on standard error (indicatif), shown only on a terminal.

use std::io::IsTerminal;
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use neardup::{Progress, Stage};

/// Bars for the stages of a run.
pub struct Bars {
    bar: Mutex<Option<ProgressBar>>,
    enabled: bool,
}

impl Bars {
    /// Bars that draw only when `enabled` and standard error is a terminal.
    pub fn new(enabled: bool) -> Self {
        Bars {
            bar: Mutex::new(None),
            enabled: enabled && std::io::stderr().is_terminal(),
        }
    }
}

impl Progress for Bars {
    fn start(&self, stage: Stage, total: Option<u64>) {
        if !self.enabled {
            return;
        }
        let bar = match total {
            Some(t) => ProgressBar::with_draw_target(Some(t), ProgressDrawTarget::stderr()),
            None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
        };
        let template = match (stage, total) {
            (Stage::Sketch, Some(_)) => {
                "{prefix:>10} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}"
            }
            (_, Some(_)) => "{prefix:>10} [{bar:30}] {human_pos}/{human_len}",
            (_, None) => "{prefix:>10} {spinner} {elapsed}",
        };
        bar.set_style(
            ProgressStyle::with_template(template)
                .expect("valid template")
                .progress_chars("=> "),
        );
        bar.set_prefix(stage.name());
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        *self.bar.lock().expect("progress lock") = Some(bar);
    }

    fn advance(&self, n: u64) {
        if let Some(b) = self.bar.lock().expect("progress lock").as_ref() {
            b.inc(n);
        }
    }

    fn finish(&self, _stage: Stage) {
        if let Some(b) = self.bar.lock().expect("progress lock").take() {
            b.finish_and_clear();
        }
    }
}
