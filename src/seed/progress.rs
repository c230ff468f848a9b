//! Progress of long seed runs on stderr: an indicatif bar when stderr is a terminal,
//! otherwise (CI logs, `2>file`) a plain line each time another tenth is done, so a
//! log is neither silent for minutes nor flooded with redraws.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

/// Counts units of work done out of a known total.
pub struct Progress {
    what: &'static str,
    total: u64,
    done: AtomicU64,
    started: Instant,
    /// `Some` on a terminal; `None` prints plain lines.
    bar: Option<ProgressBar>,
}

impl Progress {
    /// Starts reporting `total` units of `what` (e.g. "users").
    pub fn start(what: &'static str, total: u64) -> Progress {
        Progress::with_terminal(what, total, std::io::stderr().is_terminal())
    }

    fn with_terminal(what: &'static str, total: u64, terminal: bool) -> Progress {
        let bar = terminal.then(|| {
            let bar = ProgressBar::new(total);
            bar.set_style(
                ProgressStyle::with_template(
                    "seed --synthetic {msg}: [{bar:40}] {human_pos}/{human_len} ({elapsed}, eta {eta})",
                )
                .expect("a valid template")
                .progress_chars("=> "),
            );
            bar.set_message(what);
            bar
        });
        Progress {
            what,
            total,
            done: AtomicU64::new(0),
            started: Instant::now(),
            bar,
        }
    }

    /// Records `n` more units done; returns the plain line printed, if any (tests).
    pub fn advance(&self, n: u64) -> Option<String> {
        let before = self.done.fetch_add(n, Ordering::Relaxed);
        let after = before + n;
        if let Some(bar) = &self.bar {
            bar.inc(n);
            return None;
        }
        let tenth = |done: u64| done * 10 / self.total.max(1);
        if tenth(after) == tenth(before) {
            return None;
        }
        let line = format!(
            "seed --synthetic: {after}/{} {} ({}%) after {:.1} s",
            self.total,
            self.what,
            after * 100 / self.total.max(1),
            self.started.elapsed().as_secs_f64()
        );
        eprintln!("{line}");
        Some(line)
    }

    /// Ends the bar (the summary line follows on stdout).
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Progress;

    #[test]
    fn without_a_terminal_a_line_is_printed_per_tenth() {
        let progress = Progress::with_terminal("users", 1000, false);
        let lines: Vec<String> = (0..20).filter_map(|_| progress.advance(50)).collect();
        assert_eq!(lines.len(), 10);
        assert!(lines[0].starts_with("seed --synthetic: 100/1000 users (10%)"));
        assert!(lines[9].starts_with("seed --synthetic: 1000/1000 users (100%)"));
    }
}
