//! Progress on stderr for the long phases (model passes, batch-invariance checks, speed, attacks).
//!
//! On a terminal: bars, redrawn in place. Elsewhere (CI logs, files, pipes): plain lines, one when
//! a phase starts, at most one every [`LINE_INTERVAL`] while it advances, and its last state when
//! it ends, each with the phase, the model, done/total, the rate and the ETA (attacks: the queries
//! used), so a long attack in a CI log is never silent. `--quiet` silences both.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle, TermLike};
use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Shortest time between two plain progress lines of one phase.
pub const LINE_INTERVAL: Duration = Duration::from_secs(10);

/// Creates a bar of `len` steps labelled `label`, or a hidden one.
pub fn bar(len: u64, label: &str, quiet: bool) -> ProgressBar {
    let (target, template) = match target(quiet) {
        Some(Target::Terminal) => (ProgressDrawTarget::stderr(), "{prefix:>12} [{bar:30}] {pos}/{len} {per_sec} eta {eta} {msg}"),
        Some(Target::Lines) => (lines(), "{prefix}: {pos}/{len} ({per_sec}, eta {eta}) {msg}"),
        None => return ProgressBar::hidden(),
    };
    let bar = ProgressBar::with_draw_target(Some(len), target);
    bar.set_style(ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()).progress_chars("=> "));
    bar.set_prefix(label.to_string());
    bar
}

/// Counts steps of a phase whose length is not known in advance (streamed data).
pub fn counter(label: &str, quiet: bool) -> ProgressBar {
    let (target, template) = match target(quiet) {
        Some(Target::Terminal) => (ProgressDrawTarget::stderr(), "{prefix:>12} {spinner} {human_pos} model-examples {per_sec} {elapsed} {msg}"),
        Some(Target::Lines) => (lines(), "{prefix}: {human_pos} model-examples ({per_sec}, {elapsed} so far) {msg}"),
        None => return ProgressBar::hidden(),
    };
    let bar = ProgressBar::with_draw_target(None, target);
    bar.set_style(ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_spinner()));
    bar.set_prefix(label.to_string());
    bar
}

/// Ends a phase: a terminal bar is cleared; in plain lines the phase's last state is printed.
pub fn finish(bar: ProgressBar) {
    if std::io::stderr().is_terminal() {
        bar.finish_and_clear();
    } else {
        // A forced draw of the final state; dropping the last handle prints it if it was held back.
        bar.finish();
    }
}

enum Target {
    Terminal,
    Lines,
}

fn target(quiet: bool) -> Option<Target> {
    match (quiet, std::io::stderr().is_terminal()) {
        (true, _) => None,
        (false, true) => Some(Target::Terminal),
        (false, false) => Some(Target::Lines),
    }
}

/// Plain lines, throttled; indicatif renders the template, [`PlainLines`] decides what to print.
fn lines() -> ProgressDrawTarget {
    // A few redraws per second are offered; all but one per LINE_INTERVAL are dropped.
    ProgressDrawTarget::term_like_with_hz(Box::new(PlainLines::new(Box::new(|line| eprintln!("fidelity: {line}")))), 2)
}

/// A [`TermLike`] that prints each rendered state as one line: the first at once (a phase
/// started), then at most one per [`LINE_INTERVAL`], and on drop (the phase ended) the last state
/// if it was held back. Cursor movements and clears are no-ops.
struct PlainLines {
    last: Mutex<Option<Instant>>,
    held: Mutex<Option<String>>,
    out: Box<dyn Fn(&str) + Send + Sync>,
}

impl std::fmt::Debug for PlainLines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PlainLines")
    }
}

impl PlainLines {
    fn new(out: Box<dyn Fn(&str) + Send + Sync>) -> Self {
        Self { last: Mutex::new(None), held: Mutex::new(None), out }
    }

    fn offer(&self, line: &str) {
        let line = line.trim();
        if line.is_empty() {
            return;
        }
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        if last.is_none_or(|t| t.elapsed() >= LINE_INTERVAL) {
            *last = Some(Instant::now());
            *held = None;
            (self.out)(line);
        } else {
            *held = Some(line.to_string());
        }
    }
}

impl Drop for PlainLines {
    fn drop(&mut self) {
        if let Some(line) = self.held.get_mut().unwrap_or_else(|e| e.into_inner()).take() {
            (self.out)(&line);
        }
    }
}

impl TermLike for PlainLines {
    fn width(&self) -> u16 {
        200
    }
    fn move_cursor_up(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }
    fn move_cursor_down(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }
    fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }
    fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }
    fn write_line(&self, s: &str) -> std::io::Result<()> {
        self.offer(s);
        Ok(())
    }
    fn write_str(&self, s: &str) -> std::io::Result<()> {
        self.offer(s);
        Ok(())
    }
    fn clear_line(&self) -> std::io::Result<()> {
        Ok(())
    }
    fn flush(&self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn quiet_bars_are_hidden() {
        assert!(super::bar(10, "x", true).is_hidden());
        assert!(super::counter("x", true).is_hidden());
    }

    #[test]
    fn plain_lines_print_the_first_state_then_at_most_one_per_interval() {
        let printed = Arc::new(Mutex::new(Vec::<String>::new()));
        let sink = printed.clone();
        let lines = PlainLines::new(Box::new(move |l| sink.lock().unwrap().push(l.to_string())));
        lines.write_line("attack int8: 1/50").unwrap();
        lines.write_line("attack int8: 2/50").unwrap();
        lines.write_line("   ").unwrap();
        assert_eq!(*printed.lock().unwrap(), ["attack int8: 1/50"]);
        *lines.last.lock().unwrap() = Some(Instant::now() - LINE_INTERVAL);
        lines.write_line("attack int8: 3/50").unwrap();
        assert_eq!(printed.lock().unwrap().len(), 2);
        lines.write_line("attack int8: 50/50").unwrap();
        assert_eq!(printed.lock().unwrap().len(), 2, "held back: within the interval");
        drop(lines);
        assert_eq!(printed.lock().unwrap().last().map(String::as_str), Some("attack int8: 50/50"), "the phase's last state when it ends");
    }
}
