//! The label-free scorer on real review events it was never shown labels of: YelpChi, scored
//! from its raw input and read against the platform's filter labels kept outside it.

use ringscope_graph::build_marketplace;
use ringscope_labelfree::LabelFree;

#[test]
fn label_free_ranks_yelp_spammers_above_chance() {
    let Some(dir) = ringscope_testkit::dataset("yelpchi_reviews") else {
        return;
    };
    let ingested = ringscope_ingest::ingest_dir(&dir.join("input")).unwrap();
    let graph = build_marketplace("yelpchi", ingested.batch).unwrap();
    let model = LabelFree::fit(&graph, 0.95);
    let scored = model.score(&graph);
    let (kind, accounts) = graph.node_set("account").unwrap();
    let space = graph.index_space();
    let truth = ringscope_testkit::read_truth(&dir.join("truth.csv"));
    let (mut scores, mut labels) = (Vec::new(), Vec::new());
    for (id, label) in &truth {
        let local = accounts
            .ids
            .get(id)
            .expect("every truth account is in the input");
        scores.push(f64::from(scored.scores[space.global_of(kind, local)]));
        labels.push(*label);
    }
    let auroc = ringscope_testkit::auroc(&scores, &labels).unwrap();
    eprintln!(
        "label-free AUROC on yelpchi_reviews: {auroc:.4}; signals {:?}, dropped {:?}",
        scored.names, model.dropped
    );
    assert!(
        auroc >= 0.65,
        "label-free AUROC {auroc:.4} below the 0.65 target"
    );
}
