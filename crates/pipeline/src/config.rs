//! The one TOML config of `ringscope run` (and `rings`, `report`, `config`, `serve`): every
//! setting of every stage. The CLI applies its flags over the file; `ringscope config --print`
//! shows the effective result.

use crate::error::{Error, Result};
use ringscope_features::distribution::Limits;
use ringscope_gnn::DeviceChoice;
use ringscope_graph::ProjectionConfig;
use ringscope_rings::{CandidateConfig, ScoringConfig};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The whole config; every section and key is optional in the file.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Inputs, outputs and the model.
    pub run: RunSection,
    /// Which scorer, where it applies, and how much it may flag.
    pub model: ModelSection,
    /// Which identifiers and co-reviews link accounts.
    pub projection: ProjectionConfig,
    /// How candidate rings are formed (evidence components, Louvain splits, dense blocks).
    pub candidates: CandidateConfig,
    /// How rings are scored (docs/rings.md).
    pub scoring: ScoringConfig,
    /// Explanations and ring IDs.
    pub rings: RingsSection,
    /// Drift against the previous run.
    pub drift: DriftSection,
    /// Investigator outputs.
    pub report: ReportSection,
    /// The online scoring service (`ringscope serve`, docs/serve.md).
    pub serve: ServeSection,
}

/// `[run]`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunSection {
    /// Directory of event tables, or the root of Hive-style partitions with `partition`.
    pub input: PathBuf,
    /// Output directory [default: `out/<input directory name>`]; with `partition`, the root
    /// under which `<partition>/` is written.
    pub out: Option<PathBuf>,
    /// Hive-style partition key such as `dt=2026-11-01`, read from and written under the roots.
    pub partition: Option<String>,
    /// Model checkpoint directory.
    pub checkpoint: PathBuf,
    /// `cpu` or `wgpu`.
    pub device: DeviceChoice,
    /// An earlier run's `rings.jsonl`; with `partition` and none given, the latest earlier
    /// partition with a `_SUCCESS` marker under the output root.
    pub previous_rings: Option<PathBuf>,
}

impl Default for RunSection {
    fn default() -> Self {
        RunSection {
            input: "graphs/sample".into(),
            out: None,
            partition: None,
            checkpoint: "checkpoints/default".into(),
            device: DeviceChoice::Cpu,
            previous_rings: None,
        }
    }
}

/// `[rings]`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RingsSection {
    /// Rings explained by gradient saliency, from the top. Each costs a forward and backward
    /// pass over the whole graph.
    pub explained: usize,
    /// Features and outside nodes listed per explanation.
    pub reasons: usize,
    /// Share of either ring two rings must have in common to be the same ring on another day.
    pub min_share: f64,
}

impl Default for RingsSection {
    fn default() -> Self {
        RingsSection {
            explained: 20,
            reasons: 5,
            min_share: 0.5,
        }
    }
}

/// `[drift]`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DriftSection {
    /// Warn when a tracked distribution's PSI against the previous run exceeds this.
    /// 0.1–0.25 is the usual "moderate shift" band, above 0.25 a major one.
    pub psi_warn: f64,
}

impl Default for DriftSection {
    fn default() -> Self {
        DriftSection { psi_warn: 0.25 }
    }
}

/// `[report]`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReportSection {
    /// Rings (from the top) that get GraphML/GEXF files and a page in the HTML report. Every
    /// ring is in the tables either way.
    pub rings: usize,
}

impl Default for ReportSection {
    fn default() -> Self {
        ReportSection { rings: 200 }
    }
}

/// `[serve]`: the online scoring service (`ringscope serve`, docs/serve.md).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServeSection {
    /// Address to listen on. Anything but loopback needs `token` and `read_token`.
    pub listen: String,
    /// Bearer token of the writing endpoints (feedback, reload); it also reads.
    pub token: Option<String>,
    /// Bearer token of the reading endpoints (score, rings, neighbourhoods, health, metrics).
    pub read_token: Option<String>,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Most accounts in one `POST /v1/score`.
    pub max_batch: usize,
    /// Requests per second one client (peer address) may make, sustained; 0 turns it off.
    pub rate_per_client: f64,
    /// Requests one client may make at once above that rate.
    pub burst_per_client: u32,
    /// Longest a request may take, in milliseconds, before it is answered 503.
    pub request_timeout_ms: u64,
    /// The scored account's own edges taken into its neighbourhood, per relation and direction
    /// (the latest); the answer says how many it has and how many were taken.
    pub own_edges: usize,
    /// Edges taken per node, relation and direction at each further hop.
    pub fanout: Vec<usize>,
    /// Most nodes in a scored neighbourhood beyond the account's own neighbours: the first
    /// hops fill it, so a hub neighbour does not make one request cost a hundred others.
    pub max_nodes: usize,
    /// Features listed as reasons per scored account.
    pub reasons: usize,
    /// Where investigator feedback is appended (JSON lines).
    pub feedback: PathBuf,
    /// A run's `rings.jsonl`, for `GET /v1/rings/{id}` and the rings in score answers.
    pub rings: Option<PathBuf>,
}

impl Default for ServeSection {
    fn default() -> Self {
        ServeSection {
            listen: "127.0.0.1:8080".into(),
            token: None,
            read_token: None,
            max_body_bytes: 1 << 20,
            max_batch: 100,
            rate_per_client: 200.0,
            burst_per_client: 100,
            request_timeout_ms: 5_000,
            own_edges: 5_000,
            fanout: vec![10],
            max_nodes: 1000,
            reasons: 5,
            feedback: "feedback.jsonl".into(),
            rings: None,
        }
    }
}

/// Which scorer gives the account scores.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scorer {
    /// The trained model in `[run] checkpoint`.
    #[default]
    Checkpoint,
    /// The label-free scorer, fitted on the input itself (`ringscope-labelfree`).
    LabelFree,
}

/// What scoring does when the input is out of the checkpoint's domain.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnOutOfDomain {
    /// Keep the checkpoint's scores and warn.
    Warn,
    /// Score with the label-free scorer instead, and say so.
    #[default]
    LabelFree,
    /// Stop the run (exit code 3).
    Fail,
}

/// Whether a run fits a model on the input's own labels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fit {
    /// Fit when the input has a labels table.
    Auto,
    /// Never fit; score with `[run] checkpoint` (or label-free).
    #[default]
    Never,
    /// Always fit; without usable labels, score label-free and say why.
    Always,
}

/// `[model]`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelSection {
    /// `checkpoint` or `label_free`.
    pub scorer: Scorer,
    /// `never` (the default: training twice gives equal weights but not equal `model.bpk`
    /// bytes, which a nightly job's byte-identical outputs would lose), `auto` or `always`.
    pub fit: Fit,
    /// Investigator verdicts (`feedback.jsonl` from `ringscope serve`) to add to the input's
    /// labels when fitting; with `fit = "auto"`, giving them is enough to fit.
    pub feedback: Option<PathBuf>,
    /// `warn`, `label_free` or `fail`, when the applicability check finds the input out of the
    /// checkpoint's training population.
    pub on_out_of_domain: OnOutOfDomain,
    /// PSI limits of that check.
    pub applicability: Limits,
    /// At most this share of the scored nodes is flagged, whatever the model's threshold.
    pub max_flag_rate: f64,
    /// The label-free scorer's account at this rank within the input scores 0.5: the share of
    /// accounts below it is what the ring stage's `min_member_score = 0.5` leaves out.
    pub label_free_half_at: f64,
}

impl Default for ModelSection {
    fn default() -> Self {
        ModelSection {
            scorer: Scorer::default(),
            fit: Fit::default(),
            feedback: None,
            on_out_of_domain: OnOutOfDomain::default(),
            applicability: Limits::default(),
            max_flag_rate: 0.02,
            label_free_half_at: 0.9,
        }
    }
}

impl ModelSection {
    /// Checks the section.
    pub fn validate(&self) -> Result<(), String> {
        if !(0.0..=1.0).contains(&self.max_flag_rate) {
            return Err("max_flag_rate must be within 0..1".into());
        }
        if !(self.label_free_half_at > 0.0 && self.label_free_half_at < 1.0) {
            return Err("label_free_half_at must be within (0, 1)".into());
        }
        let l = &self.applicability;
        if l.psi.is_nan() || l.psi <= 0.0 || !(0.0..=1.0).contains(&l.max_shifted_share) {
            return Err(
                "applicability.psi must be positive and max_shifted_share within 0..1".into(),
            );
        }
        Ok(())
    }
}

impl ServeSection {
    /// Checks the section; a non-loopback address without a token is refused.
    pub fn validate(&self) -> Result<(), String> {
        let addr: SocketAddr = self
            .listen
            .parse()
            .map_err(|e| format!("[serve] listen '{}': {e}", self.listen))?;
        let unset = |t: &Option<String>| t.as_deref().is_none_or(str::is_empty);
        if !addr.ip().is_loopback() && (unset(&self.token) || unset(&self.read_token)) {
            return Err(format!(
                "[serve] listening on {addr} beyond loopback needs token (writes) and read_token (every other route)"
            ));
        }
        if self.token.is_some() && self.token == self.read_token {
            return Err("[serve] token and read_token must differ".into());
        }
        if self.max_batch == 0 || self.max_body_bytes < 1024 {
            return Err("[serve] needs max_batch >= 1 and max_body_bytes >= 1024".into());
        }
        if self.max_nodes < 2 {
            return Err("[serve] max_nodes must be at least 2".into());
        }
        if !(1..=1_000_000).contains(&self.own_edges) {
            return Err("[serve] own_edges must be 1 to 1000000".into());
        }
        if self.fanout.len() > 2 || self.fanout.iter().any(|&f| f == 0 || f > 1000) {
            return Err("[serve] fanout: at most 2 further hops of 1 to 1000 edges".into());
        }
        if !(self.rate_per_client >= 0.0 && self.rate_per_client.is_finite())
            || (self.rate_per_client > 0.0 && self.burst_per_client == 0)
        {
            return Err(
                "[serve] rate_per_client must be a finite number >= 0, with burst_per_client >= 1"
                    .into(),
            );
        }
        if !(1..=600_000).contains(&self.request_timeout_ms) {
            return Err("[serve] request_timeout_ms must be 1 to 600000".into());
        }
        Ok(())
    }
}

impl Config {
    /// Reads `path`, or the defaults without one.
    pub fn load(path: Option<&Path>) -> Result<Config> {
        let Some(path) = path else {
            return Ok(Config::default());
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("cannot read config {}: {e}", path.display())))?;
        let config: Config = toml::from_str(&text)
            .map_err(|e| Error::Config(format!("config {}: {e}", path.display())))?;
        Ok(config)
    }

    /// Checks every section; called after the command-line overrides are applied.
    pub fn validate(&self) -> Result<()> {
        let checks = [
            ("projection", self.projection.validate()),
            ("candidates", self.candidates.validate()),
            ("scoring", self.scoring.validate()),
            ("model", self.model.validate()),
        ];
        for (section, check) in checks {
            check.map_err(|e| Error::Config(format!("[{section}] {e}")))?;
        }
        if let Some(p) = &self.run.partition {
            check_partition(p)?;
        }
        if !(self.rings.min_share > 0.0 && self.rings.min_share <= 1.0) {
            return Err(Error::Config(
                "[rings] min_share must be within (0, 1]".into(),
            ));
        }
        if self.drift.psi_warn.is_nan() || self.drift.psi_warn <= 0.0 {
            return Err(Error::Config("[drift] psi_warn must be positive".into()));
        }
        self.serve.validate().map_err(Error::Config)?;
        Ok(())
    }

    /// The effective config as TOML: what `config --print` shows and the manifest hashes.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("the config serialises")
    }
}

/// A partition is one `key=value` path component, so it can name nothing outside the roots.
fn check_partition(p: &str) -> Result<()> {
    let ok = p.split_once('=').is_some_and(|(k, v)| {
        !k.is_empty()
            && !v.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || "=-_.:".contains(c))
            && v != ".."
    });
    if ok {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "partition '{p}' is not one Hive-style key=value component such as dt=2026-11-01"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printed_config_reads_back_to_the_same_config() {
        let mut config = Config::default();
        config.run.partition = Some("dt=2026-11-01".into());
        config.scoring.weights.gnn = 3.0;
        config.projection.max_accounts_per_identifier = 7;
        let back: Config = toml::from_str(&config.to_toml()).unwrap();
        assert_eq!(back, config);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_config_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "[scoring]\nweigths = {}\n").unwrap();
        let err = Config::load(Some(&path)).unwrap_err();
        assert!(err.to_string().contains("c.toml"), "{err}");
        assert!(err.to_string().contains("weigths"), "{err}");
        std::fs::write(&path, "[candidates]\nmin_members = 1\n").unwrap();
        let config = Config::load(Some(&path)).unwrap();
        assert!(config.validate().is_err());
        let mut config = Config::default();
        for bad in ["dt", "dt=../x", "a/b=c", "dt="] {
            config.run.partition = Some(bad.into());
            assert!(config.validate().is_err(), "{bad}");
        }
    }
}
