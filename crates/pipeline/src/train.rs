//! Training a checkpoint on a graph: a model file or a checkpoint to resume, investigator
//! feedback as extra labels, a stratified split, and the checkpoint with its manifest.

use crate::error::{Context as _, Error, Result};
use crate::feedback::{FeedbackApplied, apply_feedback};
use ringscope_features::Standardizer;
use ringscope_features::distribution::Profile;
use ringscope_gnn::{DeviceChoice, device};
use ringscope_graph::SCHEMA_VERSION;
use ringscope_score::checkpoint::{self, FeatureDescription, Manifest};
use ringscope_train::{Epoch, Metrics, ModelInput, TrainData};
use std::path::{Path, PathBuf};

/// The model file used when none is given: the relation-aware layer, which keeps the
/// marketplace's device, IP, payment and review relations apart.
pub const DEFAULT_MODEL: &str = "model = \"rgcn\"\nskip = true\nlayer_norm = true\n";

/// What to train.
#[derive(Clone, Debug)]
pub struct TrainRequest {
    /// Events directory, graph store or labelled dataset directory.
    pub graph: PathBuf,
    /// Model file (TOML); [`DEFAULT_MODEL`] without one.
    pub model_file: Option<PathBuf>,
    /// A checkpoint to continue: its weights, optimiser state, settings and normalisation.
    pub resume: Option<PathBuf>,
    /// Checkpoint directory to write (replaced atomically).
    pub out: PathBuf,
    /// Where to train.
    pub device: DeviceChoice,
    /// Overrides `[train] epochs`.
    pub epochs: Option<usize>,
    /// Overrides `[train] seed`, which also seeds the split.
    pub seed: Option<u64>,
    /// Investigator verdicts to add as labels.
    pub feedback: Option<PathBuf>,
}

/// What training produced (the checkpoint itself is on disk).
pub struct TrainOutcome {
    /// Labels taken from the feedback file, if one was given.
    pub feedback: Option<FeedbackApplied>,
    /// The epoch whose model was kept.
    pub best_epoch: usize,
    /// Epochs run.
    pub epochs: usize,
    /// Validation metrics of the kept model.
    pub val: Metrics,
    /// Its test metrics.
    pub test: Metrics,
}

/// Trains as `request` says and writes the checkpoint; `on_epoch` sees every epoch and the
/// number of epochs planned.
pub fn train(
    request: &TrainRequest,
    mut on_epoch: impl FnMut(&Epoch, usize),
) -> Result<TrainOutcome> {
    let graph = crate::load::load_graph(&crate::embedded::resolve(&request.graph)?)?;
    let device = device::open(request.device)?;
    let resumed = match &request.resume {
        Some(dir) => Some(checkpoint::load(dir, &device)?),
        None => None,
    };
    let (text, file) = match &request.model_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
            (text, Some(path.as_path()))
        }
        None => (DEFAULT_MODEL.to_string(), None),
    };
    let mut input = match &resumed {
        Some(c) => {
            ModelInput::with_reverse(&graph, c.manifest.feature_options, c.manifest.add_reverse)
        }
        None => ModelInput::new(
            &graph,
            ringscope_train::config::feature_options(&text, file)?,
        ),
    };
    let relations = input.edges.relations.len().max(1);
    let (model_config, mut train_config, normalisation, resume) = match (resumed, &request.resume) {
        (Some(checkpoint), Some(dir)) => {
            let manifest = checkpoint.manifest.clone();
            check_fits(&manifest, dir, &input)?;
            let resume = Some(checkpoint.into_resume());
            (
                manifest.model,
                manifest.train,
                manifest.normalisation,
                resume,
            )
        }
        _ => {
            let (model, train) =
                ringscope_train::config::from_toml(&text, file, input.features.cols(), relations)?;
            (model, train, Standardizer::fit(&input.features), None)
        }
    };
    normalisation.apply(&mut input.features);
    let feedback = request
        .feedback
        .as_deref()
        .map(|path| apply_feedback(&graph, &mut input.labels, path))
        .transpose()
        .context(|| "reading investigator feedback".to_string())?;
    if let Some(epochs) = request.epochs {
        train_config.epochs = epochs;
    }
    if let Some(seed) = request.seed {
        train_config.seed = seed;
    }
    // Accounts labelled by one verdict stay on one side of the split.
    let groups = feedback.as_ref().map_or(&[][..], |f| &f.groups[..]);
    let split = input
        .stratified_split(0.6, 0.2, train_config.seed)
        .keep_together(groups);
    if split.train.iter().all(|&i| input.labels[i as usize] == 0) || split.val.is_empty() {
        return Err(Error::Config(format!(
            "{} has too few labelled nodes of each class to train on",
            request.graph.display()
        )));
    }
    tracing::info!(model = %model_config.model, nodes = input.edges.num_nodes, features = input.features.cols(), relations, train = split.train.len(), device = %request.device, "training");
    let planned = train_config.epochs;
    let trained = train_and_save(
        &graph,
        &input,
        &split,
        (model_config, train_config),
        normalisation,
        Setup {
            device: &device,
            resume,
            out: &request.out,
        },
        |e| on_epoch(e, planned),
    )?;
    Ok(TrainOutcome {
        feedback,
        best_epoch: trained.best_epoch,
        epochs: trained.epochs,
        val: trained.val,
        test: trained.test,
    })
}

/// Where and how a model is trained.
pub(crate) struct Setup<'a> {
    /// The device.
    pub device: &'a ringscope_gnn::Device,
    /// The state to continue from, if resuming.
    pub resume: Option<ringscope_train::Resume>,
    /// The checkpoint directory to write.
    pub out: &'a Path,
}

/// Trains a model on `input` (features already normalised with `normalisation`) over `split`,
/// and writes its checkpoint, with the training population's profile, to `setup.out`.
pub(crate) fn train_and_save(
    graph: &ringscope_graph::HeteroGraph,
    input: &ModelInput,
    split: &ringscope_train::split::Split,
    (model_config, train_config): (ringscope_gnn::GnnConfig, ringscope_train::TrainConfig),
    normalisation: Standardizer,
    setup: Setup<'_>,
    on_epoch: impl FnMut(&Epoch),
) -> Result<Kept> {
    let features = &input.features;
    let data = TrainData {
        edges: &input.edges,
        x: &features.values,
        labels: &input.labels,
        split,
    };
    let trained = ringscope_train::train(
        &model_config,
        &train_config,
        data,
        setup.device,
        setup.resume,
        on_epoch,
    );
    let description = FeatureDescription {
        features: features.names.clone(),
        options: input.options,
        normalisation,
        schema_version: SCHEMA_VERSION,
        add_reverse: input.add_reverse,
    };
    let mut manifest = Manifest::new(model_config, train_config, &trained, data, description);
    manifest.profile = Profile::of(graph, features, &trained.scores);
    let kept = Kept {
        best_epoch: trained.best_epoch,
        epochs: trained.history.len(),
        val: trained.val,
        test: trained.test,
    };
    checkpoint::save(setup.out, &trained.model, Some(trained.optimizer), manifest)?;
    Ok(kept)
}

/// The kept epoch of a training run and its metrics.
pub(crate) struct Kept {
    /// The epoch whose model was kept.
    pub best_epoch: usize,
    /// Epochs run.
    pub epochs: usize,
    /// Validation metrics of the kept model.
    pub val: Metrics,
    /// Its test metrics.
    pub test: Metrics,
}

/// Refuses `input` unless the checkpoint in `dir` was trained on its schema, relations and
/// feature columns.
fn check_fits(manifest: &Manifest, dir: &Path, input: &ModelInput) -> Result<()> {
    manifest.check_graph(
        dir,
        SCHEMA_VERSION,
        &input.edges.relation_names(),
        &input.features.names,
    )?;
    Ok(())
}
