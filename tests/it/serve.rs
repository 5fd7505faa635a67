//! `ringscope serve` over real HTTP: scoring known and unseen accounts, rings, neighbourhoods,
//! durable feedback, hot reload with a bad and a good checkpoint, metrics and refusals.

use crate::{repo_sample, ringscope, scores_csv, text};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// A running server, killed when dropped.
struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(args: &[&str], cwd: &Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ringscope"))
        .arg("serve")
        .args(args)
        .current_dir(cwd)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();
    Server { child, addr }
}

/// One HTTP/1.1 request; the status and the body.
fn http(addr: &str, method: &str, path: &str, token: Option<&str>, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    let auth = token.map_or_else(String::new, |t| format!("Authorization: Bearer {t}\r\n"));
    // A refused oversized body may be cut off mid-write: the answer is read all the same.
    let _ = write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n{auth}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut bytes = Vec::new();
    let _ = stream.read_to_end(&mut bytes);
    let response = String::from_utf8_lossy(&bytes).into_owned();
    let status = response[9..12].parse().unwrap();
    let body = response
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    (status, body)
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

#[test]
fn serve_scores_explains_records_feedback_and_reloads_without_dropping_requests() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    // A run gives the graph store and the rings to serve.
    let sample = repo_sample();
    let o = ringscope(
        &["run", "--input", sample.to_str().unwrap(), "--out", "run"],
        root,
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    // The checkpoint is copied, so the test can break and repair it for reloads.
    let shipped = sample.join("../../checkpoints/default");
    std::fs::create_dir(root.join("ckpt")).unwrap();
    for f in ["manifest.json", "model.bpk", "optimizer.bpk"] {
        std::fs::copy(shipped.join(f), root.join("ckpt").join(f)).unwrap();
    }
    std::fs::write(
        root.join("serve.toml"),
        "[serve]\ntoken = \"s3cret\"\nmax_batch = 50\n",
    )
    .unwrap();
    let args = [
        "--config",
        "serve.toml",
        "--graph",
        "run/graph",
        "--rings",
        "run/rings.jsonl",
        "--checkpoint",
        "ckpt",
        "--feedback",
        "fb/feedback.jsonl",
        "--listen",
        "127.0.0.1:0",
    ];
    let server = start(&args, root);

    let (status, body) = http(&server.addr, "GET", "/healthz", None, "");
    assert_eq!(status, 200, "{body}");
    let version = json(&body)["model_version"].as_str().unwrap().to_string();

    // Known accounts without new events score as on the whole graph.
    let scores = scores_csv(&root.join("run/scores.csv"));
    let picked: Vec<&(String, f32, i8)> = scores
        .iter()
        .filter(|s| s.2 == 1)
        .take(10)
        .chain(scores.iter().filter(|s| s.2 == 0).step_by(97).take(10))
        .collect();
    let request = serde_json::json!({
        "accounts": picked.iter().map(|s| serde_json::json!({"account_id": s.0})).collect::<Vec<_>>()
    });
    let (status, body) = http(
        &server.addr,
        "POST",
        "/v1/score",
        None,
        &request.to_string(),
    );
    assert_eq!(status, 200, "{body}");
    let results = json(&body)["results"].as_array().unwrap().clone();
    for (s, r) in picked.iter().zip(&results) {
        assert_eq!(r["account_id"], s.0.as_str());
        assert!(r["known"].as_bool().unwrap());
        let online = r["score"].as_f64().unwrap();
        assert!(
            (online - f64::from(s.1)).abs() < 0.01,
            "{}: {online} online vs {} in the run",
            s.0,
            s.1
        );
        assert!(!r["reasons"].as_array().unwrap().is_empty());
        // All of a known account's own edges are in its subgraph.
        assert_eq!(r["own_edges"], r["own_edges_in_graph"], "{r}");
    }
    assert!(
        results.iter().any(|r| r["own_edges"].as_u64() > Some(10)),
        "some scored account has edges"
    );

    // An unseen account whose events tie it to a ring's device and target is scored
    // inductively, on a subgraph built around those events.
    let rings = std::fs::read_to_string(root.join("run/rings.jsonl")).unwrap();
    let ring = json(rings.lines().next().unwrap());
    let device = ring["evidence"]["shared"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "device")
        .map(|s| s["id"].as_str().unwrap().to_string())
        .expect("the top ring shares a device");
    let target = ring["evidence"]["targets"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let colluder = serde_json::json!({"accounts": [{
        "account_id": "newcomer", "created_at": "2026-10-20T00:00:00Z",
        "events": {
            "reviews": [{"product_id": target, "rating": 5, "created_at": "2026-10-21T00:00:00Z"}],
            "sessions": [{"device_id": device, "created_at": "2026-10-21T00:00:00Z"}]
        }
    }]});
    let (status, body) = http(
        &server.addr,
        "POST",
        "/v1/score",
        None,
        &colluder.to_string(),
    );
    assert_eq!(status, 200, "{body}");
    let r = &json(&body)["results"][0];
    assert_eq!(r["known"], false);
    assert_eq!(r["new_events"], 2);
    assert!(r["subgraph_nodes"].as_u64().unwrap() > 3, "{r}");
    let colluding = r["score"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&colluding));

    // Refusals: 4xx with the field named, and the server keeps serving.
    for (path, body, status, needle) in [
        ("/v1/score", "{not json", 400, "malformed JSON"),
        (
            "/v1/score",
            r#"{"accounts":[{"account_id":"a","events":{"reviews":[{"product_id":"p","rating":7}]}}]}"#,
            400,
            "rating",
        ),
        (
            "/v1/feedback",
            r#"{"target":"ring","id":"x","verdict":"confirm"}"#,
            401,
            "token",
        ),
    ] {
        let (got, text) = http(&server.addr, "POST", path, None, body);
        assert_eq!(got, status, "{path} {body}: {text}");
        assert!(text.contains(needle), "{text}");
    }
    let batch = serde_json::json!({"accounts": (0..51).map(|i| serde_json::json!({"account_id": format!("a{i}")})).collect::<Vec<_>>()});
    assert_eq!(
        http(&server.addr, "POST", "/v1/score", None, &batch.to_string()).0,
        413
    );
    let huge = format!(
        "{{\"accounts\":[{{\"account_id\":\"{}\"}}]}}",
        "x".repeat(2 << 20)
    );
    assert_eq!(http(&server.addr, "POST", "/v1/score", None, &huge).0, 413);

    // Rings and neighbourhoods.
    let id = ring["id"].as_str().unwrap();
    let (status, body) = http(&server.addr, "GET", &format!("/v1/rings/{id}"), None, "");
    assert_eq!(status, 200);
    assert_eq!(json(&body), ring, "the ring as in rings.jsonl");
    assert_eq!(http(&server.addr, "GET", "/v1/rings/nope", None, "").0, 404);
    let member = ring["evidence"]["members"][0]["account"].as_str().unwrap();
    let (status, body) = http(
        &server.addr,
        "GET",
        &format!("/v1/accounts/{member}/neighbourhood?hops=2&limit=40"),
        None,
        "",
    );
    assert_eq!(status, 200, "{body}");
    let hood = json(&body);
    let nodes = hood["nodes"].as_array().unwrap();
    assert!(nodes.len() <= 40 && nodes.len() > 1);
    assert_eq!(nodes[0]["id"], member);
    for e in hood["edges"].as_array().unwrap() {
        assert!(e["source"].as_u64().unwrap() < nodes.len() as u64);
        assert!(e["target"].as_u64().unwrap() < nodes.len() as u64);
    }
    assert_eq!(
        http(
            &server.addr,
            "GET",
            "/v1/accounts/nobody/neighbourhood",
            None,
            ""
        )
        .0,
        404
    );
    assert_eq!(
        http(
            &server.addr,
            "GET",
            &format!("/v1/accounts/{member}/neighbourhood?hops=9"),
            None,
            ""
        )
        .0,
        400
    );

    // Feedback is appended and synced before the answer.
    let verdict = format!(r#"{{"target":"ring","id":"{id}","verdict":"confirm","analyst":"kim"}}"#);
    let (status, body) = http(
        &server.addr,
        "POST",
        "/v1/feedback",
        Some("s3cret"),
        &verdict,
    );
    assert_eq!(status, 201, "{body}");
    let unknown = r#"{"target":"account","id":"ghost","verdict":"dismiss"}"#;
    assert_eq!(
        http(
            &server.addr,
            "POST",
            "/v1/feedback",
            Some("s3cret"),
            unknown
        )
        .0,
        404
    );

    // A broken checkpoint is refused and the old model keeps serving; a good one swaps in.
    let weights = std::fs::read(root.join("ckpt/model.bpk")).unwrap();
    std::fs::write(root.join("ckpt/model.bpk"), &weights[..weights.len() / 2]).unwrap();
    let (status, body) = http(&server.addr, "POST", "/v1/admin/reload", Some("s3cret"), "");
    assert_eq!(status, 422, "{body}");
    let (status, body) = http(
        &server.addr,
        "POST",
        "/v1/score",
        None,
        &colluder.to_string(),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)["model_version"], version.as_str());
    std::fs::write(root.join("ckpt/model.bpk"), &weights).unwrap();
    // Requests keep being answered while the reload runs.
    let scorer = {
        let addr = server.addr.clone();
        let body = colluder.to_string();
        std::thread::spawn(move || {
            let server = Server {
                child: Command::new("true").spawn().unwrap(),
                addr,
            };
            (0..20)
                .map(|_| http(&server.addr, "POST", "/v1/score", None, &body).0)
                .collect::<Vec<_>>()
        })
    };
    let (status, body) = http(&server.addr, "POST", "/v1/admin/reload", Some("s3cret"), "");
    assert_eq!(status, 200, "{body}");
    assert!(
        scorer.join().unwrap().iter().all(|&s| s == 200),
        "no request failed during the reload"
    );

    let (status, metrics) = http(&server.addr, "GET", "/metrics", None, "");
    assert_eq!(status, 200);
    assert!(
        metrics.contains("ringscope_http_requests_total{route=\"/v1/score\",status=\"200\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("ringscope_http_request_duration_seconds_bucket{"),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!("ringscope_model{{version=\"{version}\"}} 1")),
        "{metrics}"
    );
    assert!(
        metrics.contains("ringscope_model_reloads_total{route=\"reload\",status=\"422\"} 1"),
        "{metrics}"
    );

    // Nothing is lost on restart: the verdict is in the file, and the next one is appended.
    drop(server);
    let server = start(&args, root);
    let dismiss = format!(r#"{{"target":"account","id":"{member}","verdict":"dismiss"}}"#);
    assert_eq!(
        http(
            &server.addr,
            "POST",
            "/v1/feedback",
            Some("s3cret"),
            &dismiss
        )
        .0,
        201
    );
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(root.join("fb/feedback.jsonl"))
        .unwrap()
        .lines()
        .map(json)
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(
        (lines[0]["id"].as_str(), lines[0]["verdict"].as_str()),
        (Some(id), Some("confirm"))
    );
    assert_eq!(lines[1]["verdict"], "dismiss");

    // The next training run reads the verdicts as labels: the ring's members confirmed, then
    // one of them dismissed, the later verdict winning.
    let members = ring["evidence"]["members"].as_array().unwrap().len();
    assert_eq!(lines[0]["accounts"].as_array().unwrap().len(), members);
    let o = ringscope(
        &[
            "train",
            "--graph",
            "run/graph",
            "--feedback",
            "fb/feedback.jsonl",
            "--epochs",
            "2",
            "--out",
            "retrained",
        ],
        root,
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let expected = format!(
        "feedback: {} accounts labelled fraud, 1 benign, 0 not in the graph",
        members - 1
    );
    assert!(text(&o.stdout).contains(&expected), "{}", text(&o.stdout));
}

#[test]
fn serving_beyond_loopback_needs_a_token() {
    let tmp = tempfile::tempdir().unwrap();
    let o = ringscope(&["serve", "--listen", "0.0.0.0:0"], tmp.path());
    assert_eq!(o.status.code(), Some(78), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("token"), "{}", text(&o.stderr));
}

/// The label-free scorer serves too: a known account scores as in the run, a new one on its
/// neighbourhood, and both come with signals as reasons.
#[test]
fn serve_scores_with_the_label_free_scorer() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let sample = repo_sample();
    let o = ringscope(
        &[
            "run",
            "--input",
            sample.to_str().unwrap(),
            "--out",
            "run",
            "--scorer",
            "label-free",
        ],
        root,
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let first = std::fs::read_to_string(root.join("run/scores.csv")).unwrap();
    let top: Vec<&str> = first
        .lines()
        .find(|l| l.starts_with("account,"))
        .unwrap()
        .split(',')
        .collect();
    let (top_id, top_score): (&str, f64) = (top[1], top[2].parse().unwrap());
    let server = start(
        &[
            "--graph",
            "run/graph",
            "--scorer",
            "label-free",
            "--listen",
            "127.0.0.1:0",
        ],
        root,
    );
    let (status, body) = http(&server.addr, "GET", "/healthz", None, "");
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)["model"], "label_free");
    let request = serde_json::json!({"accounts": [
        {"account_id": top_id},
        {"account_id": "brand-new", "events": {"reviews": [
            {"product_id": "p-unknown", "rating": 5, "created_at": "2026-10-21T00:00:00Z"}
        ]}}
    ]});
    let (status, body) = http(
        &server.addr,
        "POST",
        "/v1/score",
        None,
        &request.to_string(),
    );
    assert_eq!(status, 200, "{body}");
    let results = json(&body)["results"].as_array().unwrap().clone();
    let known = &results[0];
    assert!(
        (known["score"].as_f64().unwrap() - top_score).abs() < 1e-5,
        "{known}"
    );
    assert!(known["flagged"].as_bool().unwrap());
    assert!(!known["reasons"].as_array().unwrap().is_empty(), "{known}");
    let new = &results[1];
    assert!(!new["known"].as_bool().unwrap());
    let score = new["score"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&score), "{new}");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

fn ring_ids(rings_jsonl: &Path) -> Vec<String> {
    std::fs::read_to_string(rings_jsonl)
        .unwrap()
        .lines()
        .map(|l| json(l)["id"].as_str().unwrap().to_string())
        .collect()
}

/// With a read and a write token, no route answers without the right one; a reload swaps the
/// graph, the rings and the model together, and a reload that cannot load all three changes
/// nothing.
#[test]
fn every_route_needs_its_token_and_a_reload_swaps_graph_rings_and_model_together() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let sample = repo_sample();
    for (input, out) in [(sample.to_str().unwrap(), "day1"), ("market", "day2")] {
        if input == "market" {
            let o = ringscope(
                &[
                    "synth",
                    "--out",
                    "market",
                    "--accounts",
                    "600",
                    "--seed",
                    "5",
                ],
                root,
            );
            assert!(o.status.success(), "{}", text(&o.stderr));
        }
        let o = ringscope(&["run", "--input", input, "--out", out], root);
        assert!(o.status.success(), "{}", text(&o.stderr));
    }
    copy_dir(&root.join("day1/graph"), &root.join("served/graph"));
    std::fs::copy(
        root.join("day1/rings.jsonl"),
        root.join("served/rings.jsonl"),
    )
    .unwrap();
    std::fs::write(
        root.join("serve.toml"),
        "[serve]\ntoken = \"w-token\"\nread_token = \"r-token\"\n",
    )
    .unwrap();
    let server = start(
        &[
            "--config",
            "serve.toml",
            "--graph",
            "served/graph",
            "--rings",
            "served/rings.jsonl",
            "--feedback",
            "feedback.jsonl",
            "--listen",
            "127.0.0.1:0",
        ],
        root,
    );
    let addr = &server.addr;
    let day1_ring = ring_ids(&root.join("day1/rings.jsonl")).remove(0);
    let score = r#"{"accounts":[{"account_id":"anyone"}]}"#;
    let reads = [
        ("GET", "/healthz".to_string(), ""),
        ("GET", "/metrics".to_string(), ""),
        ("POST", "/v1/score".to_string(), score),
        ("GET", format!("/v1/rings/{day1_ring}"), ""),
        ("GET", "/v1/accounts/anyone/neighbourhood".to_string(), ""),
    ];
    for (method, path, body) in &reads {
        for token in [None, Some("r-toke"), Some("R-TOKEN")] {
            let (status, answer) = http(addr, method, path, token, body);
            assert_eq!(status, 401, "{path} with {token:?}: {answer}");
            assert!(answer.contains("read bearer token"), "{answer}");
        }
        for token in ["r-token", "w-token"] {
            let (status, answer) = http(addr, method, path, Some(token), body);
            assert!(
                status == 200 || (status == 404 && path.contains("anyone")),
                "{path} with {token}: {status} {answer}"
            );
        }
    }
    let verdict = format!(r#"{{"target":"ring","id":"{day1_ring}","verdict":"confirm"}}"#);
    for (path, body) in [("/v1/feedback", verdict.as_str()), ("/v1/admin/reload", "")] {
        for token in [None, Some("r-token")] {
            let (status, answer) = http(addr, "POST", path, token, body);
            assert_eq!(status, 401, "{path} with {token:?}: {answer}");
            assert!(answer.contains("write bearer token"), "{answer}");
        }
    }
    assert_eq!(
        http(addr, "POST", "/v1/feedback", Some("w-token"), &verdict).0,
        201
    );
    let health = |addr: &str| json(&http(addr, "GET", "/healthz", Some("r-token"), "").1);
    let before = health(addr);

    // A rings file that does not parse: refused, and graph, model and rings stay.
    std::fs::write(root.join("served/rings.jsonl"), "{not a ring\n").unwrap();
    let (status, answer) = http(addr, "POST", "/v1/admin/reload", Some("w-token"), "");
    assert_eq!(status, 422, "{answer}");
    assert!(answer.contains("rings.jsonl"), "{answer}");
    assert_eq!(health(addr), before);
    let ring_path = format!("/v1/rings/{day1_ring}");
    assert_eq!(http(addr, "GET", &ring_path, Some("r-token"), "").0, 200);

    // The next day's graph and rings: all of it is swapped in at once.
    std::fs::remove_dir_all(root.join("served/graph")).unwrap();
    copy_dir(&root.join("day2/graph"), &root.join("served/graph"));
    std::fs::copy(
        root.join("day2/rings.jsonl"),
        root.join("served/rings.jsonl"),
    )
    .unwrap();
    let (status, answer) = http(addr, "POST", "/v1/admin/reload", Some("w-token"), "");
    assert_eq!(status, 200, "{answer}");
    let after = health(addr);
    let day2 = crate::summary(&root.join("day2"));
    let day2_nodes: u64 = day2["graph"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n[1].as_u64().unwrap())
        .sum();
    assert_eq!(after["nodes"].as_u64(), Some(day2_nodes), "{after}");
    let day2_rings = ring_ids(&root.join("day2/rings.jsonl"));
    assert_eq!(after["rings"].as_u64(), Some(day2_rings.len() as u64));
    assert_eq!(json(&answer)["nodes"].as_u64(), Some(day2_nodes));
    assert_eq!(http(addr, "GET", &ring_path, Some("r-token"), "").0, 404);
    let (status, _) = http(
        addr,
        "GET",
        &format!("/v1/rings/{}", day2_rings[0]),
        Some("r-token"),
        "",
    );
    assert_eq!(status, 200);

    let (_, metrics) = http(addr, "GET", "/metrics", Some("r-token"), "");
    assert!(
        metrics.contains("ringscope_http_refused_total{reason=\"auth\"} 19"),
        "{metrics}"
    );
}

/// A client over its rate gets 429 with Retry-After, and a request over the time limit 503;
/// both are counted.
#[test]
fn a_client_over_its_rate_gets_429_and_a_slow_request_503() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::fs::write(
        root.join("serve.toml"),
        "[serve]\nrate_per_client = 0.5\nburst_per_client = 3\nrequest_timeout_ms = 20\n",
    )
    .unwrap();
    let server = start(&["--config", "serve.toml", "--listen", "127.0.0.1:0"], root);
    // A full batch of new accounts, each with a month of reviews: far beyond 20 ms.
    let accounts: Vec<serde_json::Value> = (0..100)
        .map(|i| {
            serde_json::json!({"account_id": format!("new{i}"), "events": {"reviews":
                (0..30).map(|d| serde_json::json!({"product_id": format!("p{}", (i + d) % 50),
                    "rating": 5, "created_at": format!("2026-10-{:02}T00:00:00Z", d % 28 + 1)}))
                    .collect::<Vec<_>>()}})
        })
        .collect();
    let slow = serde_json::json!({ "accounts": accounts }).to_string();
    let (status, answer) = http(&server.addr, "POST", "/v1/score", None, &slow);
    assert_eq!(status, 503, "{answer}");
    assert!(answer.contains("longer than 20 ms"), "{answer}");
    // Two more fit in the burst of 3; the next is refused until a token is back (2 s).
    for _ in 0..2 {
        assert_eq!(http(&server.addr, "GET", "/healthz", None, "").0, 200);
    }
    let mut stream = TcpStream::connect(&server.addr).unwrap();
    write!(
        stream,
        "GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 429"), "{response}");
    assert!(
        response.to_ascii_lowercase().contains("retry-after: 2"),
        "{response}"
    );
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let (status, metrics) = http(&server.addr, "GET", "/metrics", None, "");
    assert_eq!(status, 200, "{metrics}");
    for reason in ["rate", "timeout"] {
        assert!(
            metrics.contains(&format!(
                "ringscope_http_refused_total{{reason=\"{reason}\"}} 1"
            )),
            "{metrics}"
        );
    }
}

/// `kill -9` while verdicts are posted from four clients: after a restart, every verdict that
/// was answered 201 is in the file, each line whole, and new verdicts append cleanly.
#[test]
fn every_acknowledged_verdict_survives_a_kill_9_under_load() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let accounts = std::fs::read_to_string(repo_sample().join("accounts.csv")).unwrap();
    let account = accounts.lines().nth(1).unwrap().split(',').next().unwrap();
    let args = ["--feedback", "feedback.jsonl", "--listen", "127.0.0.1:0"];
    let mut server = start(&args, root);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let clients: Vec<_> = (0..4)
        .map(|c| {
            let (addr, stop, account) = (server.addr.clone(), stop.clone(), account.to_string());
            std::thread::spawn(move || {
                let mut acknowledged = Vec::new();
                for i in 0.. {
                    if stop.load(std::sync::atomic::Ordering::Relaxed) {
                        break;
                    }
                    let note = format!("client {c} verdict {i}");
                    let body = format!(
                        r#"{{"target":"account","id":"{account}","verdict":"confirm","note":"{note}"}}"#
                    );
                    // Once the server is gone, connecting or reading fails: that verdict was
                    // never acknowledged.
                    let Ok(status) = std::panic::catch_unwind(|| {
                        http(&addr, "POST", "/v1/feedback", None, &body).0
                    }) else {
                        break;
                    };
                    if status == 201 {
                        acknowledged.push(note);
                    }
                }
                acknowledged
            })
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    server.child.kill().unwrap(); // SIGKILL
    server.child.wait().unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let acknowledged: Vec<String> = clients
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .collect();
    assert!(acknowledged.len() > 20, "{} under load", acknowledged.len());

    let server = start(&args, root);
    let last = format!(r#"{{"target":"account","id":"{account}","verdict":"dismiss"}}"#);
    assert_eq!(
        http(&server.addr, "POST", "/v1/feedback", None, &last).0,
        201
    );
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(root.join("feedback.jsonl"))
        .unwrap()
        .lines()
        .map(json)
        .collect();
    let stored: std::collections::HashSet<&str> =
        lines.iter().filter_map(|l| l["note"].as_str()).collect();
    let lost: Vec<&String> = acknowledged
        .iter()
        .filter(|n| !stored.contains(n.as_str()))
        .collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
    assert_eq!(lines.last().unwrap()["verdict"], "dismiss");
}
