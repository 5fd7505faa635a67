//! Stage timings, and the hook a caller can run after each stage.

use std::time::Instant;

/// Times the stages of a run in order; `done` also calls the hook, if any.
pub struct Stages<'h> {
    timings: Vec<(&'static str, f64)>,
    started: Instant,
    after: Option<&'h (dyn Fn(&str) + Sync)>,
}

impl Default for Stages<'_> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'h> Stages<'h> {
    /// A clock starting now, without a hook.
    pub fn new() -> Self {
        Stages {
            timings: Vec::new(),
            started: Instant::now(),
            after: None,
        }
    }

    /// A clock starting now that calls `after` with each stage's name once it is done.
    pub fn with_hook(after: Option<&'h (dyn Fn(&str) + Sync)>) -> Self {
        Stages {
            after,
            ..Stages::new()
        }
    }

    /// Records `stage` as done now and restarts the clock.
    pub fn done(&mut self, stage: &'static str) {
        let secs = self.started.elapsed().as_secs_f64();
        tracing::info!(stage, secs, "stage done");
        self.timings.push((stage, secs));
        self.reached(stage);
        self.started = Instant::now();
    }

    /// Calls the hook for `stage` without timing it (a point between two timed stages).
    pub fn reached(&self, stage: &str) {
        if let Some(after) = self.after {
            after(stage);
        }
    }

    /// Seconds per stage, in order.
    pub fn timings(&self) -> &[(&'static str, f64)] {
        &self.timings
    }
}
