//! `ringscope serve`: a loaded graph and checkpoint answering risk checks and investigator
//! lookups over HTTP (axum). Endpoints and guarantees: docs/serve.md. The scoring and the
//! neighbourhood walk are the pipeline's (`ringscope_pipeline::online`, `::neighbourhood`);
//! this crate owns the routes, request checks, auth, metrics and reloads.

pub mod api;
mod auth;
mod limits;

use api::Rejection;
use arc_swap::ArcSwap;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, MatchedPath, Path as UrlPath, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use ringscope_graph::{HeteroGraph, NodeKind};
use ringscope_pipeline::config::ModelSection;
use ringscope_pipeline::neighbourhood;
use ringscope_pipeline::online::{self, Model};
use ringscope_pipeline::{Error, ServeSection};
use ringscope_rings::RingRecord;
use std::collections::HashMap;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Why the service could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Loading the config, graph, checkpoint or rings, or opening the feedback file.
    #[error(transparent)]
    Pipeline(#[from] Error),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The async runtime failed.
    #[error("serving: {0}")]
    Runtime(#[source] std::io::Error),
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VersionLabels {
    version: String,
}

struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    model: Family<VersionLabels, Gauge>,
    reloads: Family<RequestLabels, Counter>,
    refused: Family<ReasonLabels, Counter>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: String,
}

impl Metrics {
    fn new() -> Metrics {
        let mut registry = Registry::with_prefix("ringscope");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            // 0.25 ms to about 4 s
            Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
                0.000_25, 2.0, 15,
            ))
        });
        let model = Family::<VersionLabels, Gauge>::default();
        let reloads = Family::<RequestLabels, Counter>::default();
        let refused = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route",
            latency.clone(),
        );
        registry.register(
            "model",
            "The serving model's version (1 = current)",
            model.clone(),
        );
        registry.register(
            "model_reloads",
            "Checkpoint reloads by outcome",
            reloads.clone(),
        );
        registry.register(
            "http_refused",
            "Requests refused by a limit or the auth check, by reason (auth, rate, timeout, busy)",
            refused.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            model,
            reloads,
            refused,
        }
    }
}

/// What a reload replaces, together: the graph, the model scored on it, and the rings found on
/// it. A request takes one snapshot and answers from it alone.
struct Served {
    graph: HeteroGraph,
    model: Model,
    rings: HashMap<String, Arc<RingRecord>>,
    /// Account ID → IDs of the rings it is in.
    account_rings: HashMap<String, Vec<String>>,
}

impl Served {
    /// Loads the graph store or events directory `graph_dir`, the checkpoint, and the rings file.
    fn load(
        graph_dir: &std::path::Path,
        checkpoint: &std::path::Path,
        device: ringscope_gnn::DeviceChoice,
        model_section: &ModelSection,
        rings: Option<&std::path::Path>,
    ) -> Result<Served, Error> {
        let graph = ringscope_pipeline::load_graph(graph_dir)?;
        graph.index_all();
        let model = Model::load(&graph, checkpoint, device, model_section)?;
        let records = match rings {
            Some(path) => ringscope_export::read_rings(path)?,
            None => Vec::new(),
        };
        let mut account_rings: HashMap<String, Vec<String>> = HashMap::new();
        for r in &records {
            for m in &r.evidence.members {
                account_rings
                    .entry(m.account.clone())
                    .or_default()
                    .push(r.id.clone());
            }
        }
        let rings = records
            .into_iter()
            .map(|r| (r.id.clone(), Arc::new(r)))
            .collect();
        Ok(Served {
            graph,
            model,
            rings,
            account_rings,
        })
    }
}

struct AppState {
    served: ArcSwap<Served>,
    graph_dir: PathBuf,
    checkpoint_dir: PathBuf,
    device: ringscope_gnn::DeviceChoice,
    /// How the model is chosen and thresholded, on every load.
    model_section: ModelSection,
    feedback: Mutex<std::fs::File>,
    /// Serialises reloads; requests never wait on it.
    reloading: tokio::sync::Mutex<()>,
    /// Scoring requests running at once: one per core, so queued requests wait here and not in
    /// the kernel's run queue. A permit is held by the scoring work itself, so a request that
    /// times out does not free its core before its work ends.
    scoring: Arc<tokio::sync::Semaphore>,
    limiter: limits::Limiter,
    tokens: auth::Tokens,
    metrics: Metrics,
    config: ServeSection,
}

type Shared = Arc<AppState>;

/// Serves `graph_dir` (a graph store or events directory) scored with the checkpoint in
/// `checkpoint` until interrupted (Ctrl-C or SIGTERM). The first line on stdout says where it
/// listens.
pub fn serve(
    graph_dir: &std::path::Path,
    checkpoint: PathBuf,
    device: ringscope_gnn::DeviceChoice,
    model_section: ModelSection,
    config: ServeSection,
) -> Result<(), ServeError> {
    config.validate().map_err(Error::Config)?;
    let served = Served::load(
        graph_dir,
        &checkpoint,
        device,
        &model_section,
        config.rings.as_deref(),
    )?;
    lower_loader_threads_priority();
    if let Some(dir) = config
        .feedback
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).map_err(|source| {
            Error::from(ringscope_export::ExportError::Io {
                path: dir.to_path_buf(),
                source,
            })
        })?;
    }
    let feedback_io = |source| {
        Error::from(ringscope_export::ExportError::Io {
            path: config.feedback.clone(),
            source,
        })
    };
    let feedback = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .read(true)
        .open(&config.feedback)
        .map_err(feedback_io)?;
    if let Some(torn) = drop_torn_line(&feedback).map_err(feedback_io)? {
        tracing::warn!(bytes = torn, file = %config.feedback.display(), "removed a torn last line that was never acknowledged");
    }
    // The file's name is durable before the first verdict is acknowledged.
    ringscope_ingest::atomic::sync_dir(
        config
            .feedback
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new(".")),
    )
    .map_err(feedback_io)?;
    let metrics = Metrics::new();
    metrics
        .model
        .get_or_create(&VersionLabels {
            version: served.model.version.clone(),
        })
        .set(1);
    let listen: SocketAddr = config.listen.parse().expect("validated");
    let state = Arc::new(AppState {
        served: ArcSwap::from_pointee(served),
        graph_dir: graph_dir.to_path_buf(),
        checkpoint_dir: checkpoint,
        model_section,
        device,
        feedback: Mutex::new(feedback),
        reloading: tokio::sync::Mutex::new(()),
        scoring: Arc::new(tokio::sync::Semaphore::new(
            std::thread::available_parallelism().map_or(2, std::num::NonZero::get),
        )),
        limiter: limits::Limiter::new(config.rate_per_client, config.burst_per_client),
        tokens: auth::Tokens::new(config.token.as_deref(), config.read_token.as_deref()),
        metrics,
        config,
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(ServeError::Runtime)?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|source| ServeError::Listen {
                addr: listen,
                source,
            })?;
        let bound = listener.local_addr().map_err(ServeError::Runtime)?;
        // The first stdout line says where to connect (the tests and the load bench read it).
        println!("listening on http://{bound}");
        tracing::info!(%bound, "serving");
        axum::serve(
            listener,
            router(state).into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown())
        .await
        .map_err(ServeError::Runtime)
    })
}

/// A crash in the middle of an append can leave a last line without its newline. It was never
/// acknowledged (the answer waits for the sync), and the next verdict appended to it would make
/// both unreadable, so it is cut off. Returns the bytes removed.
fn drop_torn_line(file: &std::fs::File) -> std::io::Result<Option<u64>> {
    use std::io::{Read as _, Seek as _, SeekFrom};
    let mut reader = file;
    let len = file.metadata()?.len();
    let mut end = len;
    let mut chunk = vec![0u8; 64 * 1024];
    while end > 0 {
        let start = end.saturating_sub(chunk.len() as u64);
        let part = &mut chunk[..(end - start) as usize];
        reader.seek(SeekFrom::Start(start))?;
        reader.read_exact(part)?;
        if let Some(i) = part.iter().rposition(|&b| b == b'\n') {
            end = start + i as u64 + 1;
            break;
        }
        end = start;
    }
    if end == len {
        return Ok(None);
    }
    file.set_len(end)?;
    file.sync_all()?;
    Ok(Some(len - end))
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
}

fn router(state: Shared) -> Router {
    let limit = state.config.max_body_bytes;
    // Layers run outside in: observe, then the rate limit (before auth, so guessing tokens is
    // rate limited too), then auth, then the time limit around the handler.
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/v1/score", post(score))
        .route("/v1/rings/{id}", get(ring))
        .route("/v1/accounts/{id}/neighbourhood", get(neighbourhood))
        .route("/v1/feedback", post(feedback))
        .route("/v1/admin/reload", post(reload))
        .layer(DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn_with_state(state.clone(), time_limit))
        .layer(middleware::from_fn_with_state(state.clone(), authorise))
        .layer(middleware::from_fn_with_state(state.clone(), rate_limit))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

fn refuse(state: &AppState, reason: &str, status: u16, message: String) -> Response {
    state
        .metrics
        .refused
        .get_or_create(&ReasonLabels {
            reason: reason.into(),
        })
        .inc();
    Rejection { status, message }.into_response()
}

/// 429 once a client (peer address) spends its burst faster than `rate_per_client`.
async fn rate_limit(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let peer = request
        .extensions()
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if let Some(ip) = peer
        && let Err(wait) = state.limiter.take(ip, Instant::now())
    {
        let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
        let mut response = refuse(
            &state,
            "rate",
            429,
            format!(
                "over {} requests per second from {ip}; retry after {secs} s",
                state.config.rate_per_client
            ),
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
        return response;
    }
    next.run(request).await
}

/// Writes need the write token; every other route the read token (or the write token), when
/// one is configured. Beyond loopback both are (the config refuses to start otherwise).
async fn authorise(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let writes = matches!(request.uri().path(), "/v1/feedback" | "/v1/admin/reload");
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let allowed = if writes {
        state.tokens.may_write(given)
    } else {
        state.tokens.may_read(given)
    };
    if !allowed {
        let which = if writes { "the write" } else { "a read" };
        return refuse(
            &state,
            "auth",
            401,
            format!("{which} bearer token is required"),
        );
    }
    next.run(request).await
}

/// 503 when a request runs past `request_timeout_ms`.
async fn time_limit(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let limit = std::time::Duration::from_millis(state.config.request_timeout_ms);
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => refuse(
            &state,
            "timeout",
            503,
            format!(
                "the request took longer than {} ms",
                state.config.request_timeout_ms
            ),
        ),
    }
}

/// Counts and times every request by route and status.
async fn observe(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let started = Instant::now();
    let response = next.run(request).await;
    let m = &state.metrics;
    m.latency
        .get_or_create(&RouteLabels {
            route: route.clone(),
        })
        .observe(started.elapsed().as_secs_f64());
    m.requests
        .get_or_create(&RequestLabels {
            route,
            status: response.status().as_u16(),
        })
        .inc();
    response
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        (
            status,
            axum::Json(serde_json::json!({ "error": self.message })),
        )
            .into_response()
    }
}

fn internal(e: impl std::fmt::Display) -> Response {
    let message = e.to_string();
    tracing::error!(error = %message, "request failed");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        axum::Json(serde_json::json!({ "error": message })),
    )
        .into_response()
}

/// An error and its causes on one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

async fn healthz(State(state): State<Shared>) -> Response {
    let served = state.served.load();
    axum::Json(serde_json::json!({
        "status": "ok",
        "model_version": served.model.version,
        "model": served.model.scored.model.name(),
        "nodes": served.graph.num_nodes(),
        "rings": served.rings.len(),
    }))
    .into_response()
}

async fn metrics(State(state): State<Shared>) -> Response {
    let mut text = String::new();
    if let Err(e) = prometheus_client::encoding::text::encode(&mut text, &state.metrics.registry) {
        return internal(format!("encoding metrics: {e}"));
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

async fn score(State(state): State<Shared>, body: Bytes) -> Response {
    let accounts = match api::score_request(&body, state.config.max_batch) {
        Ok(a) => a,
        Err(r) => return r.into_response(),
    };
    // One snapshot, so a reload in the middle cannot mix two models or graphs in one answer.
    let served = state.served.load_full();
    let version = served.model.version.clone();
    let worker = state.clone();
    let Ok(slot) = state.scoring.clone().acquire_owned().await else {
        return internal("the scoring slots are closed");
    };
    let result = tokio::task::spawn_blocking(move || -> Result<Vec<serde_json::Value>, String> {
        let _slot = slot;
        let config = &worker.config;
        let reach = online::Reach {
            own_edges: config.own_edges,
            fanout: config.fanout.clone(),
            max_nodes: config.max_nodes,
        };
        on_own_thread(|| {
            accounts
                .iter()
                .map(|a| {
                    let scored = online::score_account(
                        &served.graph,
                        &served.model,
                        a,
                        &reach,
                        config.reasons,
                    )
                    .map_err(|e| chain(&e))?;
                    let rings = served
                        .account_rings
                        .get(&a.account_id)
                        .cloned()
                        .unwrap_or_default();
                    let mut v = serde_json::to_value(&scored).map_err(|e| e.to_string())?;
                    v["rings"] = serde_json::json!(rings);
                    Ok(v)
                })
                .collect()
        })
    })
    .await;
    match result {
        Ok(Ok(results)) => axum::Json(serde_json::json!({
            "model_version": version,
            "results": results,
        }))
        .into_response(),
        Ok(Err(e)) => internal(e),
        Err(e) => internal(format!("scoring task failed: {e}")),
    }
}

async fn ring(State(state): State<Shared>, UrlPath(id): UrlPath<String>) -> Response {
    match state.served.load().rings.get(&id) {
        Some(r) => axum::Json(ringscope_export::RingLine::new(r)).into_response(),
        None => Rejection::not_found(format!("no ring '{id}'")).into_response(),
    }
}

#[derive(serde::Deserialize)]
struct NeighbourhoodQuery {
    hops: Option<usize>,
    limit: Option<usize>,
}

async fn neighbourhood(
    State(state): State<Shared>,
    UrlPath(id): UrlPath<String>,
    query: Result<Query<NeighbourhoodQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(q)) = query else {
        return Rejection::bad("hops and limit must be non-negative integers").into_response();
    };
    let (hops, limit) = (q.hops.unwrap_or(2), q.limit.unwrap_or(200));
    if !(1..=3).contains(&hops) || !(1..=2000).contains(&limit) {
        return Rejection::bad("hops must be 1 to 3 and limit 1 to 2000").into_response();
    }
    let served = state.served.load_full();
    let graph = &served.graph;
    let Some((kind, set)) = graph.node_set(NodeKind::Account.name()) else {
        return Rejection::not_found("the graph has no accounts").into_response();
    };
    let Some(local) = set.ids.get(&id) else {
        return Rejection::not_found(format!("no account '{id}'")).into_response();
    };
    let space = graph.index_space();
    let model = &served.model;
    let hood = neighbourhood::neighbourhood(graph, (kind, local), hops, limit);
    let (nodes, edges) = (&hood.nodes, &hood.edges);
    let node_json: Vec<serde_json::Value> = nodes
        .iter()
        .map(|&(k, v)| {
            serde_json::json!({
                "kind": graph.node_sets()[k].kind,
                "id": graph.node_sets()[k].ids.resolve(v),
                "score": model.scores()[space.global_of(k, v)],
            })
        })
        .collect();
    axum::Json(serde_json::json!({
        "account": id,
        "hops": hops,
        "truncated": nodes.len() >= limit,
        "nodes": node_json,
        "edges": edges.iter().map(|e| serde_json::json!({
            "source": e.source, "target": e.target, "relation": graph.relations()[e.relation].name,
            "time": (e.time != ringscope_graph::NO_TIME).then_some(e.time),
        })).collect::<Vec<_>>(),
    }))
    .into_response()
}

async fn feedback(State(state): State<Shared>, body: Bytes) -> Response {
    let f = match api::feedback_request(&body) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    // The accounts the verdict labels, written with it so training needs no rings file.
    let served = state.served.load_full();
    let members: Option<Vec<String>> = match f.target.as_str() {
        "ring" => served.rings.get(&f.id).map(|r| {
            r.evidence
                .members
                .iter()
                .map(|m| m.account.clone())
                .collect()
        }),
        _ => served
            .graph
            .node_set(NodeKind::Account.name())
            .is_some_and(|(_, s)| s.ids.get(&f.id).is_some())
            .then(|| vec![f.id.clone()]),
    };
    let Some(members) = members else {
        return Rejection::not_found(format!("no {} '{}'", f.target, f.id)).into_response();
    };
    let received = chrono_now();
    let line = match serde_json::to_string(&serde_json::json!({
        "received": received,
        "target": f.target,
        "id": f.id,
        "verdict": f.verdict,
        "analyst": f.analyst,
        "note": f.note,
        "accounts": members,
        "model_version": served.model.version,
    })) {
        Ok(l) => l + "\n",
        Err(e) => return internal(e),
    };
    let worker = state.clone();
    // Appended and synced before the answer, so an acknowledged verdict survives a crash.
    let written = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        let mut file = worker
            .feedback
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        file.write_all(line.as_bytes())?;
        file.sync_data()
    })
    .await;
    match written {
        Ok(Ok(())) => (
            StatusCode::CREATED,
            axum::Json(serde_json::json!({ "stored": true })),
        )
            .into_response(),
        Ok(Err(e)) => internal(format!(
            "appending to {}: {e}",
            state.config.feedback.display()
        )),
        Err(e) => internal(format!("feedback task failed: {e}")),
    }
}

thread_local! {
    /// A one-thread rayon pool per scoring thread. A request's subgraph has a few hundred nodes,
    /// too few to split: run on the shared pool, its feature and matrix loops spent a third of
    /// the time waking and parking pool threads. Requests run side by side instead, one per
    /// scoring slot.
    static SEQUENTIAL: rayon::ThreadPool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("a one-thread pool");
}

fn on_own_thread<T: Send>(work: impl FnOnce() -> T + Send) -> T {
    SEQUENTIAL.with(|pool| pool.install(work))
}

/// A one-thread pool at the lowest CPU priority, for rescoring the whole graph at a reload: on
/// every core it would stall the requests, and even on one it competes with them for the cores
/// (at 100k buyers it runs for about 3 s under load). The pool's thread ends with the pool, so
/// no request thread inherits the priority.
fn background_pool() -> Result<rayon::ThreadPool, rayon::ThreadPoolBuildError> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .start_handler(|_| lower_this_threads_priority())
        .build()
}

#[cfg(target_os = "linux")]
fn lower_this_threads_priority() {
    // On Linux, setpriority on a thread ID sets that thread's nice value alone.
    let thread = rustix::thread::gettid();
    if let Err(e) = rustix::process::setpriority_process(Some(thread), 19) {
        tracing::warn!(error = %e, "the reload runs at normal priority");
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_this_threads_priority() {}

/// Lowers the priority of polars' threads, which read the tables at a load: a reload's reads
/// would otherwise compete with requests on every core (polars keeps its own pools, outside the
/// reload's one-thread pool). Requests never use polars. Found by name, as polars names them
/// (`polars-N`, `async-executor-N`); threads it starts later are lowered after the next load.
#[cfg(target_os = "linux")]
fn lower_loader_threads_priority() {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return;
    };
    for task in tasks.flatten() {
        let Ok(name) = std::fs::read_to_string(task.path().join("comm")) else {
            continue;
        };
        let loader = name.starts_with("polars") || name.starts_with("async-executor");
        let tid = task.file_name().to_str().and_then(|t| t.parse().ok());
        if let (true, Some(tid)) = (loader, tid.and_then(rustix::process::Pid::from_raw)) {
            // A thread that ended since the listing is an error, ignored.
            let _ = rustix::process::setpriority_process(Some(tid), 19);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_loader_threads_priority() {}

/// Unix seconds now.
fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Loads the graph, the checkpoint and the rings file again and swaps all three in at once.
/// Requests in flight finish on the snapshot they started with; none waits. If anything fails
/// to load, the previous snapshot keeps serving and the answer (422) says why.
async fn reload(State(state): State<Shared>) -> Response {
    let _one_at_a_time = state.reloading.lock().await;
    let worker = state.clone();
    let loaded = tokio::task::spawn_blocking(move || {
        background_pool()
            .map_err(|e| e.to_string())
            .and_then(|pool| {
                pool.install(|| {
                    Served::load(
                        &worker.graph_dir,
                        &worker.checkpoint_dir,
                        worker.device,
                        &worker.model_section,
                        worker.config.rings.as_deref(),
                    )
                    .map_err(|e| chain(&e))
                })
            })
            .inspect(|_| lower_loader_threads_priority())
    })
    .await;
    let outcome = |status: u16| RequestLabels {
        route: "reload".into(),
        status,
    };
    match loaded {
        Ok(Ok(served)) => {
            let version = served.model.version.clone();
            let (nodes, rings) = (served.graph.num_nodes(), served.rings.len());
            let previous = state.served.swap(Arc::new(served));
            let old = previous.model.version.clone();
            // Freeing a whole graph takes a while: off the request threads, at low priority
            // like the load (or by the last request still holding it).
            tokio::task::spawn_blocking(move || {
                if let Ok(pool) = background_pool() {
                    pool.install(|| drop(previous));
                }
            });
            let m = &state.metrics;
            m.model.remove(&VersionLabels {
                version: old.clone(),
            });
            m.model
                .get_or_create(&VersionLabels {
                    version: version.clone(),
                })
                .set(1);
            m.reloads.get_or_create(&outcome(200)).inc();
            tracing::info!(%old, %version, nodes, rings, "graph, model and rings reloaded");
            axum::Json(serde_json::json!({
                "model_version": version,
                "previous": old,
                "nodes": nodes,
                "rings": rings,
            }))
            .into_response()
        }
        Ok(Err(e)) => {
            state.metrics.reloads.get_or_create(&outcome(422)).inc();
            Rejection {
                status: 422,
                message: format!(
                    "reload refused, still serving the previous graph, model and rings: {e}"
                ),
            }
            .into_response()
        }
        Err(e) => internal(format!("reload task failed: {e}")),
    }
}
