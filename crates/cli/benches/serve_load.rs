//! Load on `ringscope serve` over loopback: single-account scoring requests at a fixed rate
//! (open loop: latency counts from each request's scheduled time, so a stall is not hidden by
//! the client waiting), a checkpoint hot reload in the middle, then p50/p99 latency, throughput
//! and errors as JSON. Needs the release binary:
//!
//! ```sh
//! cargo build --release && cargo bench --bench serve_load -- [RATE] [SECONDS] [GRAPH] [no-reload]
//! ```

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
    let graph = args
        .get(2)
        .map_or_else(|| root.join("graphs/sample"), PathBuf::from);
    let binary = std::env::current_exe()
        .ok()
        .and_then(|p| Some(p.parent()?.parent()?.join("ringscope")))
        .filter(|p| p.is_file())
        .expect("the release binary: run `cargo build --release` first");

    let tmp = tempfile::tempdir().expect("a temporary directory");
    let ckpt = tmp.path().join("ckpt");
    std::fs::create_dir(&ckpt).unwrap();
    for f in ["manifest.json", "model.bpk", "optimizer.bpk"] {
        std::fs::copy(root.join("checkpoints/default").join(f), ckpt.join(f)).unwrap();
    }
    std::fs::write(
        tmp.path().join("serve.toml"),
        "[serve]\ntoken = \"bench\"\n",
    )
    .unwrap();
    let mut server = Command::new(&binary)
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
    let reload_at = start + Duration::from_secs_f64(seconds / 2.0);
    let reload = args.get(3).is_none_or(|a| a != "no-reload");
    let reloader = {
        let addr = addr.clone();
        std::thread::spawn(move || {
            if !reload {
                return (0, f64::NAN, f64::NAN);
            }
            std::thread::sleep(reload_at.saturating_duration_since(Instant::now()));
            let began = Instant::now();
            let (mut s, mut r) = connect(&addr);
            let status = request(&mut s, &mut r, "POST", "/v1/admin/reload", "").unwrap_or(0);
            (
                status,
                began.duration_since(start).as_secs_f64(),
                began.elapsed().as_secs_f64(),
            )
        })
    };
    let workers: Vec<_> = (0..CONNECTIONS)
        .map(|k| {
            let (addr, bodies) = (addr.clone(), bodies.clone());
            std::thread::spawn(move || {
                let (mut s, mut r) = connect(&addr);
                let mut latencies = Vec::new();
                let mut errors = 0usize;
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
                        Ok(200) => latencies.push(due.elapsed().as_secs_f64()),
                        _ => {
                            errors += 1;
                            (s, r) = connect(&addr);
                        }
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut errors = 0;
    for w in workers {
        let (l, e) = w.join().unwrap();
        latencies.extend(l);
        errors += e;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let (reload_status, reload_at_s, reload_seconds) = reloader.join().unwrap();
    let _ = server.kill();
    let _ = server.wait();
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or(f64::NAN)
            * 1000.0
    };
    println!(
        "{}",
        serde_json::json!({
            "graph": graph.display().to_string(),
            "target_rate": rate,
            "seconds": seconds,
            "requests": total,
            "ok": latencies.len(),
            "errors": errors,
            "throughput_per_s": latencies.len() as f64 / elapsed,
            "latency_ms": {"p50": pct(0.50), "p90": pct(0.90), "p99": pct(0.99), "max": pct(1.0)},
            "reload": {"status": reload_status, "at_s": reload_at_s, "took_s": reload_seconds},
        })
    );
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
