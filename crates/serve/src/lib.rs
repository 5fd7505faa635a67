//! `ringscope serve`: a loaded graph and checkpoint answering risk checks and investigator
//! lookups over HTTP (axum). Endpoints and guarantees: docs/serve.md. The scoring and the
//! neighbourhood walk are the pipeline's (`ringscope_pipeline::online`, `::neighbourhood`);
//! this crate owns the routes, request checks, auth, metrics and reloads.

pub mod api;

use api::Rejection;
use arc_swap::ArcSwap;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, MatchedPath, Path as UrlPath, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
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
        Metrics {
            registry,
            requests,
            latency,
            model,
            reloads,
        }
    }
}

struct AppState {
    graph: HeteroGraph,
    model: ArcSwap<Model>,
    checkpoint_dir: PathBuf,
    device: ringscope_gnn::DeviceChoice,
    /// How the model is chosen and thresholded, on every load.
    model_section: ModelSection,
    rings: HashMap<String, Arc<RingRecord>>,
    /// Account ID → IDs of the rings it is in.
    account_rings: HashMap<String, Vec<String>>,
    feedback: Mutex<std::fs::File>,
    /// Serialises reloads; requests never wait on it.
    reloading: tokio::sync::Mutex<()>,
    /// Scoring requests running at once: one per core, so queued requests wait here and not in
    /// the kernel's run queue.
    scoring: tokio::sync::Semaphore,
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
    let graph = ringscope_pipeline::load_graph(graph_dir)?;
    graph.index_all();
    let model = Model::load(&graph, &checkpoint, device, &model_section)?;
    let (rings, account_rings) = match &config.rings {
        Some(path) => {
            let records = ringscope_export::read_rings(path).map_err(Error::from)?;
            let mut by_account: HashMap<String, Vec<String>> = HashMap::new();
            for r in &records {
                for m in &r.evidence.members {
                    by_account
                        .entry(m.account.clone())
                        .or_default()
                        .push(r.id.clone());
                }
            }
            let rings = records
                .into_iter()
                .map(|r| (r.id.clone(), Arc::new(r)))
                .collect();
            (rings, by_account)
        }
        None => (HashMap::new(), HashMap::new()),
    };
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
    let feedback = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&config.feedback)
        .map_err(|source| {
            Error::from(ringscope_export::ExportError::Io {
                path: config.feedback.clone(),
                source,
            })
        })?;
    let metrics = Metrics::new();
    metrics
        .model
        .get_or_create(&VersionLabels {
            version: model.version.clone(),
        })
        .set(1);
    let listen: SocketAddr = config.listen.parse().expect("validated");
    let state = Arc::new(AppState {
        graph,
        model: ArcSwap::from_pointee(model),
        checkpoint_dir: checkpoint,
        model_section,
        device,
        rings,
        account_rings,
        feedback: Mutex::new(feedback),
        reloading: tokio::sync::Mutex::new(()),
        scoring: tokio::sync::Semaphore::new(
            std::thread::available_parallelism().map_or(2, std::num::NonZero::get),
        ),
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
        axum::serve(listener, router(state))
            .with_graceful_shutdown(shutdown())
            .await
            .map_err(ServeError::Runtime)
    })
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
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/v1/score", post(score))
        .route("/v1/rings/{id}", get(ring))
        .route("/v1/accounts/{id}/neighbourhood", get(neighbourhood))
        .route("/v1/feedback", post(feedback))
        .route("/v1/admin/reload", post(reload))
        .layer(DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
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

/// Mutating endpoints need `Authorization: Bearer <token>` when a token is configured.
fn authorise(state: &AppState, headers: &HeaderMap) -> Result<(), Rejection> {
    let Some(token) = state.config.token.as_deref().filter(|t| !t.is_empty()) else {
        return Ok(());
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    // Compared in full whatever the first difference, so timing says nothing about the token.
    let matches = given.is_some_and(|g| {
        g.len() == token.len()
            && g.bytes()
                .zip(token.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    });
    if matches {
        Ok(())
    } else {
        Err(Rejection {
            status: 401,
            message: "a valid bearer token is required".into(),
        })
    }
}

async fn healthz(State(state): State<Shared>) -> Response {
    let model = state.model.load();
    axum::Json(serde_json::json!({
        "status": "ok",
        "model_version": model.version,
        "model": model.scored.model.name(),
        "nodes": state.graph.num_nodes(),
        "rings": state.rings.len(),
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
    // The model is taken once, so a reload in the middle cannot mix two models in one answer.
    let model = state.model.load_full();
    let version = model.version.clone();
    let worker = state.clone();
    let Ok(_slot) = state.scoring.acquire().await else {
        return internal("the scoring slots are closed");
    };
    let result = tokio::task::spawn_blocking(move || -> Result<Vec<serde_json::Value>, String> {
        on_own_thread(|| {
            accounts
                .iter()
                .map(|a| {
                    let scored = online::score_account(
                        &worker.graph,
                        &model,
                        a,
                        &worker.config.fanout,
                        worker.config.max_nodes,
                        worker.config.reasons,
                    )
                    .map_err(|e| chain(&e))?;
                    let rings = worker
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
    match state.rings.get(&id) {
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
    let graph = &state.graph;
    let Some((kind, set)) = graph.node_set(NodeKind::Account.name()) else {
        return Rejection::not_found("the graph has no accounts").into_response();
    };
    let Some(local) = set.ids.get(&id) else {
        return Rejection::not_found(format!("no account '{id}'")).into_response();
    };
    let space = graph.index_space();
    let model = state.model.load();
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

async fn feedback(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = authorise(&state, &headers) {
        return r.into_response();
    }
    let f = match api::feedback_request(&body) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    // The accounts the verdict labels, written with it so training needs no rings file.
    let members: Option<Vec<String>> = match f.target.as_str() {
        "ring" => state.rings.get(&f.id).map(|r| {
            r.evidence
                .members
                .iter()
                .map(|m| m.account.clone())
                .collect()
        }),
        _ => state
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
        "model_version": state.model.load().version,
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

/// Unix seconds now.
fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Loads the checkpoint directory again (a new model written there) and swaps it in. Requests
/// in flight finish on the model they started with; none waits.
async fn reload(State(state): State<Shared>, headers: HeaderMap) -> Response {
    if let Err(r) = authorise(&state, &headers) {
        return r.into_response();
    }
    let _one_at_a_time = state.reloading.lock().await;
    let worker = state.clone();
    let loaded = tokio::task::spawn_blocking(move || {
        background_pool()
            .map_err(|e| e.to_string())
            .and_then(|pool| {
                pool.install(|| {
                    Model::load(
                        &worker.graph,
                        &worker.checkpoint_dir,
                        worker.device,
                        &worker.model_section,
                    )
                    .map_err(|e| chain(&e))
                })
            })
    })
    .await;
    let outcome = |status: u16| RequestLabels {
        route: "reload".into(),
        status,
    };
    match loaded {
        Ok(Ok(model)) => {
            let old = state.model.load().version.clone();
            let version = model.version.clone();
            state.model.store(Arc::new(model));
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
            tracing::info!(%old, %version, "checkpoint reloaded");
            axum::Json(serde_json::json!({ "model_version": version, "previous": old }))
                .into_response()
        }
        Ok(Err(e)) => {
            state.metrics.reloads.get_or_create(&outcome(422)).inc();
            // The old model keeps serving.
            Rejection {
                status: 422,
                message: format!("reload refused, still serving the previous model: {e}"),
            }
            .into_response()
        }
        Err(e) => internal(format!("reload task failed: {e}")),
    }
}
