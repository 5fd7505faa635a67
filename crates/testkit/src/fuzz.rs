//! A corpus-driven mutation fuzzer for the parsers, run as ordinary tests.
//!
//! cargo-fuzz needs a nightly compiler, which this project's toolchain is not; proptest builds
//! inputs from strategies, and random bytes die at a Parquet file's magic or a CSV header long
//! before the code worth reaching. So the harness mutates valid files (docs/fuzzing.md):
//! seeded, coverage-blind, bounded by time. Each round takes a corpus entry from
//! `tests/fuzz/corpus/<target>/`, applies 1 to 8 mutations (bit flips, interesting bytes,
//! dictionary tokens, cuts, duplicated or deleted spans, splices with another entry), and runs
//! the target on it. A panic or a broken invariant saves the input under
//! `<target dir>/fuzz-findings/<target>/` and fails the test with its path; an abort, which no
//! test can catch, leaves the input at `fuzz-findings/<target>/in-flight`.
//!
//! `RINGSCOPE_FUZZ_SECS` sets the time per target (default 2 s; `.ci/run` gives each a minute)
//! and `RINGSCOPE_FUZZ_SEED` the seed (default: the clock, printed, so a finding reproduces).

use rand::{Rng, SeedableRng};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Time per target, in seconds.
pub const SECS: &str = "RINGSCOPE_FUZZ_SECS";
/// The seed.
pub const SEED: &str = "RINGSCOPE_FUZZ_SEED";

/// One corpus entry: its file name and bytes.
#[derive(Clone, Debug)]
pub struct Entry {
    /// The file name in the corpus folder, which targets may use (a table's file name).
    pub name: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// The committed corpus of `target`, sorted by name.
pub fn corpus(target: &str) -> Vec<Entry> {
    let dir = crate::repo_root().join("tests/fuzz/corpus").join(target);
    let mut entries: Vec<Entry> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus {}: {e}", dir.display()))
        .map(|e| {
            let path = e.expect("a corpus entry").path();
            Entry {
                name: path.file_name().unwrap().to_string_lossy().into_owned(),
                bytes: std::fs::read(&path).expect("a readable corpus entry"),
            }
        })
        .collect();
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    assert!(!entries.is_empty(), "corpus {} is empty", dir.display());
    entries
}

/// What a fuzzing pass did.
#[derive(Debug)]
pub struct Report {
    /// Inputs run.
    pub executions: u64,
    /// Inputs the target accepted (the rest it refused with an error).
    pub accepted: u64,
    /// The seed, to repeat the pass.
    pub seed: u64,
    /// Wall time.
    pub elapsed: Duration,
}

/// How a target answered one input.
pub enum Outcome {
    /// Parsed.
    Accepted,
    /// Refused with a proper error.
    Refused,
    /// An invariant broke: what.
    Broken(String),
}

fn mutate(rng: &mut impl Rng, bytes: &mut Vec<u8>, dictionary: &[&[u8]], other: &[u8]) {
    const INTERESTING: [u8; 10] = [0, 0xff, 0x7f, 0x80, b'\n', b'"', b',', b'\\', b'-', b'9'];
    for _ in 0..rng.random_range(1..=8) {
        let len = bytes.len();
        let at = if len == 0 {
            0
        } else {
            rng.random_range(0..len)
        };
        match rng.random_range(0..9) {
            0 if len > 0 => bytes[at] ^= 1 << rng.random_range(0..8),
            1 if len > 0 => bytes[at] = INTERESTING[rng.random_range(0..INTERESTING.len())],
            2 | 3 if !dictionary.is_empty() => {
                let token = dictionary[rng.random_range(0..dictionary.len())];
                bytes.splice(at..at, token.iter().copied());
            }
            4 => bytes.truncate(at),
            5 if len > 0 => {
                let end = rng.random_range(at..=len.min(at + 64));
                bytes.drain(at..end);
            }
            6 if len > 0 => {
                let end = rng.random_range(at..=len.min(at + 64));
                let span = bytes[at..end].to_vec();
                bytes.splice(end..end, span);
            }
            7 if !other.is_empty() => {
                // Splice: the head of this input and the tail of another.
                let from = rng.random_range(0..other.len());
                bytes.truncate(at);
                bytes.extend_from_slice(&other[from..]);
            }
            _ => bytes.insert(at.min(len), rng.random()),
        }
    }
}

/// The file in a target's findings directory that holds the input being run.
pub const IN_FLIGHT: &str = "in-flight";

fn findings_dir(target: &str) -> PathBuf {
    let root = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| crate::repo_root().join("target"), PathBuf::from);
    root.join("fuzz-findings").join(target)
}

/// Replaces the in-flight file's contents with `input`: written from the start, then cut to
/// its length, so the file holds exactly this input when the next step aborts.
fn save_in_flight(file: &mut std::fs::File, input: &[u8]) -> std::io::Result<()> {
    use std::io::{Seek, SeekFrom, Write};
    file.seek(SeekFrom::Start(0))?;
    file.write_all(input)?;
    file.set_len(input.len() as u64)
}

/// Fuzzes `target` for the configured time: every corpus entry as it is first, then mutated
/// ones. `run` gets the entry's name and the input. Panics (failing the test) on the first
/// panic or broken invariant, after saving the input.
pub fn fuzz(
    target: &str,
    dictionary: &[&[u8]],
    mut run: impl FnMut(&str, &[u8]) -> Outcome,
) -> Report {
    let corpus = corpus(target);
    let secs: f64 = std::env::var(SECS)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2.0);
    let seed: u64 = std::env::var(SEED)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64)
        });
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let dir = findings_dir(target);
    std::fs::create_dir_all(&dir).expect("a findings directory");
    let in_flight = dir.join(IN_FLIGHT);
    // Opened once: a path lookup, truncation and close per input cost more than the fast
    // targets' own work.
    let mut in_flight_file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(&in_flight)
        .expect("the in-flight file opened");
    eprintln!(
        "fuzz {target}: seed {seed}; an abort leaves its input at {}",
        in_flight.display()
    );
    let started = Instant::now();
    let budget = Duration::from_secs_f64(secs);
    let mut report = Report {
        executions: 0,
        accepted: 0,
        seed,
        elapsed: Duration::ZERO,
    };
    loop {
        let round = report.executions as usize;
        let (entry, input) = if round < corpus.len() {
            (&corpus[round], corpus[round].bytes.clone())
        } else {
            if started.elapsed() >= budget {
                break;
            }
            let entry = &corpus[rng.random_range(0..corpus.len())];
            let other = &corpus[rng.random_range(0..corpus.len())].bytes;
            let mut input = entry.bytes.clone();
            mutate(&mut rng, &mut input, dictionary, other);
            (entry, input)
        };
        // An abort (a failed allocation) cannot be caught, so the input is on disk before it
        // runs; a pass that ends removes it.
        save_in_flight(&mut in_flight_file, &input).expect("the input in flight saved");
        let outcome =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(&entry.name, &input)));
        report.executions += 1;
        let broken = match outcome {
            Ok(Outcome::Accepted) => {
                report.accepted += 1;
                None
            }
            Ok(Outcome::Refused) => None,
            Ok(Outcome::Broken(why)) => Some(why),
            Err(panic) => Some(format!(
                "panicked: {}",
                ringscope_ingest::guard::panic_message(panic.as_ref())
            )),
        };
        if let Some(why) = broken {
            let path = dir.join(format!("{seed}-{}-{}", report.executions, entry.name));
            std::fs::write(&path, &input).expect("the finding saved");
            panic!(
                "fuzz {target}: {why}\n  input saved to {}\n  repeat with {SEED}={seed}",
                path.display()
            );
        }
    }
    report.elapsed = started.elapsed();
    drop(in_flight_file);
    std::fs::remove_file(&in_flight).expect("the input in flight removed");
    eprintln!(
        "fuzz {target}: {} executions ({} accepted) in {:.1} s, seed {seed}, no finding",
        report.executions,
        report.accepted,
        report.elapsed.as_secs_f64()
    );
    report
}
