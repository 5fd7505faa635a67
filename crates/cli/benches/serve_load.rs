//! Load on `ringscope serve` over loopback: single-account scoring requests at a fixed rate
//! (open loop: latency counts from each request's scheduled time, so a stall is not hidden by
//! the client waiting), hot reloads (graph, model and rings), then p50/p99 latency, throughput
//! and errors as JSON: over the whole run and per minute, with the server's resident memory
//! sampled every second. Uses the binary of the profile it is built with:
//!
//! ```sh
//! cargo build --profile dev && cargo bench --profile dev --bench serve_load -- [RATE] [SECONDS] [GRAPH] [RELOAD_EVERY_S | no-reload]
//! ```
//!
//! Without `RELOAD_EVERY_S` there is one reload halfway. The soak of issue 23 is
//! `-- 500 600 graphs/sample 60`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CONNECTIONS: usize = 32;

/// One request on a keep-alive connection: the status.
fn request(
    stream: &mut TcpStream,
    reader: &mut BufReader<TcpStream>,
    method: &str,
    path: &str,
    body: &str,
) -> std::io::Result<u16> {
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nAuthorization: Bearer bench\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut status_line = String::new();
    reader.read_line(&mut status_line)?;
    let status = status_line
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut length = 0;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(status)
}

fn connect(addr: &str) -> (TcpStream, BufReader<TcpStream>) {
    let stream = TcpStream::connect(addr).expect("connects");
    stream.set_nodelay(true).ok();
    let reader = BufReader::new(stream.try_clone().expect("clones"));
    (stream, reader)
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let rate: f64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(500.0);
    let seconds: f64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(60.0);
    let root = std::env::var("CARGO_MANIFEST_DIR")
        .map_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
        .join("../..");
    // cargo runs a bench in its package's folder, so a relative GRAPH is read from the
    // repository root, where the README's commands run.
    let graph = root.join(args.get(2).map_or("graphs/sample", String::as_str));
    let binary = std::env::current_exe()
        .ok()
        .and_then(|p| Some(p.parent()?.parent()?.join("ringscope")))
        .filter(|p| p.is_file())
        .expect("the ringscope binary: run `cargo build --profile dev` first");

    let tmp = tempfile::tempdir().expect("a temporary directory");
    let ckpt = tmp.path().join("ckpt");
    std::fs::create_dir(&ckpt).unwrap();
    for f in ["manifest.json", "model.bpk", "optimizer.bpk"] {
        std::fs::copy(root.join("checkpoints/default").join(f), ckpt.join(f)).unwrap();
    }
    // Every request comes from one address, so the per-client rate is set above the load; the
    // limiter and the token check still run on each request.
    std::fs::write(
        tmp.path().join("serve.toml"),
        "[serve]\ntoken = \"bench\"\nread_token = \"bench-read\"\nrate_per_client = 100000.0\n",
    )
    .unwrap();
    let server = Command::new(&binary)
        .args([
            "serve",
            "--config",
            "serve.toml",
            "--listen",
            "127.0.0.1:0",
            "--checkpoint",
            "ckpt",
        ])
        .arg("--graph")
        .arg(&graph)
        .current_dir(tmp.path())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("the server starts");
    let mut server = KillOnDrop(server);
    let server = &mut server.0;
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .trim_start_matches("listening on http://")
        .to_string();

    // Requests: known accounts with one new review each, and unseen accounts with a review and
    // a session, cycling through the labelled accounts of the input.
    let accounts = accounts_of(&graph);
    let bodies: Vec<String> = accounts
        .iter()
        .enumerate()
        .map(|(i, a)| {
            if i % 4 == 3 {
                format!(r#"{{"accounts":[{{"account_id":"new-{i}","events":{{"reviews":[{{"product_id":"p{:06}","rating":5}}],"sessions":[{{"device_id":"dev-{i}"}}]}}}}]}}"#, i % 500)
            } else {
                format!(r#"{{"accounts":[{{"account_id":"{a}","events":{{"reviews":[{{"product_id":"p{:06}","rating":4}}]}}}}]}}"#, i % 500)
            }
        })
        .collect();
    // Warm up the connections and the model.
    for b in bodies.iter().take(50) {
        let (mut s, mut r) = connect(&addr);
        request(&mut s, &mut r, "POST", "/v1/score", b).unwrap();
    }

    let total = (rate * seconds) as usize;
    let start = Instant::now() + Duration::from_millis(200);
    let interval = Duration::from_secs_f64(1.0 / rate);
    // Reload times, from the start: every RELOAD_EVERY_S, or once halfway.
    let reloads: Vec<f64> = match args.get(3).map(String::as_str) {
        Some("no-reload") => Vec::new(),
        Some(every) => {
            let every: f64 = every
                .parse()
                .expect("RELOAD_EVERY_S is a number of seconds");
            (1..)
                .map(|k| k as f64 * every)
                .take_while(|&t| t < seconds)
                .collect()
        }
        None => vec![seconds / 2.0],
    };
    let reloader = {
        let addr = addr.clone();
        std::thread::spawn(move || {
            reloads
                .iter()
                .map(|&at| {
                    let due = start + Duration::from_secs_f64(at);
                    std::thread::sleep(due.saturating_duration_since(Instant::now()));
                    let began = Instant::now();
                    let (mut s, mut r) = connect(&addr);
                    let status =
                        request(&mut s, &mut r, "POST", "/v1/admin/reload", "").unwrap_or(0);
                    serde_json::json!({
                        "status": status,
                        "at_s": began.duration_since(start).as_secs_f64(),
                        "took_s": began.elapsed().as_secs_f64(),
                    })
                })
                .collect::<Vec<_>>()
        })
    };
    // The server's resident memory, once a second: (seconds from the start, KiB).
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let (done, pid) = (done.clone(), server.id());
        std::thread::spawn(move || {
            let mut samples = Vec::new();
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                if let Some(kib) = rss_kib(pid) {
                    samples.push((start.elapsed().as_secs_f64(), kib));
                }
                std::thread::sleep(Duration::from_secs(1));
            }
            samples
        })
    };
    let workers: Vec<_> = (0..CONNECTIONS)
        .map(|k| {
            let (addr, bodies) = (addr.clone(), bodies.clone());
            std::thread::spawn(move || {
                let (mut s, mut r) = connect(&addr);
                // (scheduled seconds from the start, latency in seconds)
                let mut latencies = Vec::new();
                let mut errors = Vec::new();
                for i in (k..total).step_by(CONNECTIONS) {
                    let due = start + interval * i as u32;
                    std::thread::sleep(due.saturating_duration_since(Instant::now()));
                    match request(
                        &mut s,
                        &mut r,
                        "POST",
                        "/v1/score",
                        &bodies[i % bodies.len()],
                    ) {
                        Ok(200) => latencies.push((
                            due.saturating_duration_since(start).as_secs_f64(),
                            due.elapsed().as_secs_f64(),
                        )),
                        _ => {
                            errors.push(due.saturating_duration_since(start).as_secs_f64());
                            (s, r) = connect(&addr);
                        }
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut errors = Vec::new();
    for w in workers {
        let (l, e) = w.join().unwrap();
        latencies.extend(l);
        errors.extend(e);
    }
    let elapsed = start.elapsed().as_secs_f64();
    let reloads = reloader.join().unwrap();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let rss = sampler.join().unwrap();

    let summary = |window: &[(f64, f64)], errors: usize| {
        let mut l: Vec<f64> = window.iter().map(|&(_, l)| l).collect();
        l.sort_by(f64::total_cmp);
        let pct = |p: f64| {
            l.get(((l.len() as f64 * p) as usize).min(l.len().saturating_sub(1)))
                .copied()
                .unwrap_or(f64::NAN)
                * 1000.0
        };
        serde_json::json!({
            "ok": l.len(),
            "errors": errors,
            "latency_ms": {"p50": pct(0.50), "p90": pct(0.90), "p99": pct(0.99), "max": pct(1.0)},
        })
    };
    let minutes = (seconds / 60.0).ceil().max(1.0) as usize;
    let per_minute: Vec<serde_json::Value> = (0..minutes)
        .map(|m| {
            let within = |t: f64| (t / 60.0) as usize == m;
            let window: Vec<(f64, f64)> = latencies
                .iter()
                .copied()
                .filter(|&(t, _)| within(t))
                .collect();
            let mut row = summary(&window, errors.iter().filter(|&&t| within(t)).count());
            let kib: Vec<u64> = rss
                .iter()
                .filter(|&&(t, _)| within(t))
                .map(|&(_, k)| k)
                .collect();
            row["minute"] = serde_json::json!(m + 1);
            row["rss_mib"] = serde_json::json!({
                "min": kib.iter().min().map(|&k| k as f64 / 1024.0),
                "max": kib.iter().max().map(|&k| k as f64 / 1024.0),
            });
            row
        })
        .collect();
    let mut all = summary(&latencies, errors.len());
    all["graph"] = serde_json::json!(graph.display().to_string());
    all["target_rate"] = serde_json::json!(rate);
    all["seconds"] = serde_json::json!(seconds);
    all["requests"] = serde_json::json!(total);
    all["throughput_per_s"] = serde_json::json!(latencies.len() as f64 / elapsed);
    all["reloads"] = serde_json::json!(reloads);
    all["per_minute"] = serde_json::json!(per_minute);
    println!("{all}");
}

/// The server, killed when the bench ends, also by a panic.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The resident set of process `pid` in KiB (Linux; `None` elsewhere).
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Account IDs of the input's labels or accounts table.
fn accounts_of(graph: &Path) -> Vec<String> {
    for file in ["labels.csv", "accounts.csv"] {
        if let Ok(text) = std::fs::read_to_string(graph.join(file)) {
            let ids: Vec<String> = text
                .lines()
                .skip(1)
                .filter_map(|l| l.split(',').next().map(str::to_string))
                .collect();
            if !ids.is_empty() {
                return ids;
            }
        }
    }
    panic!("no labels.csv or accounts.csv in {}", graph.display());
}
