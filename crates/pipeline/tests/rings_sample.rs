//! Candidate rings on the embedded sample marketplace (graphs/sample, medium difficulty),
//! scored against its planted rings (`_rings.json`).

mod common;

use common::account_scores;
use ringscope_graph::{
    HeteroGraph, Projection, ProjectionConfig, build_marketplace, project_accounts,
};
use ringscope_rings::{
    Candidate, CandidateConfig, ScoringConfig, Source, candidates, found_rings, is_pure,
    ring_quality, score_rings,
};

fn sample() -> (HeteroGraph, Vec<(String, Vec<u32>)>) {
    let dir = ringscope_testkit::sample_dir();
    let ingested = ringscope_ingest::ingest_dir(&dir).unwrap();
    let graph = build_marketplace("sample", ingested.batch).unwrap();
    let planted = ringscope_testkit::planted_rings(&dir, &graph);
    (graph, planted)
}

/// The shipped checkpoint's account scores and the candidates they gate.
fn scored_candidates(graph: &HeteroGraph, projection: &Projection) -> (Vec<f64>, Vec<Candidate>) {
    let scores = account_scores(graph);
    let found = candidates(
        graph,
        projection,
        &CandidateConfig::default(),
        Some(&scores),
    );
    (scores, found)
}

/// Candidate generation must not lose ring members: later stages (splitting oversized
/// components, scoring) can only remove accounts, never add them back.
#[test]
fn candidates_hold_nearly_every_planted_member() {
    let (graph, planted) = sample();
    let projection = project_accounts(&graph, &ProjectionConfig::default());
    let found = candidates(&graph, &projection, &CandidateConfig::default(), None);
    let accounts = projection.graph.node_count();
    let members: Vec<Vec<u32>> = found.iter().map(|c| c.members.clone()).collect();
    let all: Vec<Vec<u32>> = planted.iter().map(|(_, m)| m.clone()).collect();
    let quality = ring_quality(&all, &members, accounts);
    assert!(quality.member_recall >= 0.95, "{quality:?}");
    for (attack, ring) in &planted {
        let held = ring
            .iter()
            .filter(|a| members.iter().any(|m| m.binary_search(a).is_ok()))
            .count();
        assert!(
            held * 10 >= ring.len() * 9,
            "{attack} ring: {held} of {} members in a candidate",
            ring.len()
        );
    }
    // Without scores the peeling's priors are flat, and its one block is a quarter of the
    // sample: larger than any ring, so no candidate. With the model's priors it finds rings.
    let (_, found) = scored_candidates(&graph, &projection);
    let mut fraud = vec![false; accounts];
    all.iter().flatten().for_each(|&a| fraud[a as usize] = true);
    let pure_blocks = found
        .iter()
        .filter(|c| c.source == Source::DenseBlock)
        .filter(|c| is_pure(&c.members, &fraud))
        .count();
    assert!(pure_blocks >= 1, "the dense-block path contributes a ring");
}

/// With the model's scores keeping bystanders out, evidence components and their Louvain
/// splits become rings an investigator can act on. The shipped checkpoint never saw the sample
/// (checkpoints/README.md), so these are held-out figures; with the sample's own labels in
/// training they were 0.95 or more.
#[test]
fn scored_candidates_separate_the_planted_rings() {
    let (graph, planted) = sample();
    let projection = project_accounts(&graph, &ProjectionConfig::default());
    let (scores, found) = scored_candidates(&graph, &projection);
    let accounts = projection.graph.node_count();
    let members: Vec<Vec<u32>> = found.iter().map(|c| c.members.clone()).collect();
    let all: Vec<Vec<u32>> = planted.iter().map(|(_, m)| m.clone()).collect();
    let quality = ring_quality(&all, &members, accounts);
    eprintln!("{} candidates: {quality:?}", found.len());
    assert!(quality.ring_recall >= 0.85, "{quality:?}");
    assert!(quality.ring_precision >= 0.6, "{quality:?}");
    // Coordinated accounts share no device or IP: what holds them is co-reviewing in lockstep
    // (the projection's synchrony links) or a dense block.
    let mut fraud = vec![false; accounts];
    all.iter().flatten().for_each(|&a| fraud[a as usize] = true);
    let coordinated: Vec<Vec<u32>> = planted
        .iter()
        .filter(|(a, _)| a == "coordinated")
        .map(|(_, r)| r.clone())
        .collect();
    let held = found_rings(&coordinated, &members, &fraud)
        .into_iter()
        .filter(|&f| f)
        .count();
    // Held out, one of the two is lost: the ring the scorer misses (see the recall above).
    assert!(
        held + 1 >= coordinated.len(),
        "{held} of {} coordinated rings found",
        coordinated.len()
    );

    let scored = score_rings(
        &graph,
        &projection,
        found,
        Some(&scores),
        &ScoringConfig::default(),
    );
    let reported: Vec<Vec<u32>> = scored.iter().map(|r| r.candidate.members.clone()).collect();
    let quality = ring_quality(&all, &reported, accounts);
    // Held out, `ringscope run` finds 8 of the 9 planted rings at ring precision 9/9 (the
    // in-sample target was recall 0.95 at precision 0.9).
    assert!(
        quality.ring_recall >= 0.85 && quality.ring_precision >= 0.85,
        "{quality:?}"
    );
    assert!(scored.windows(2).all(|w| w[0].score >= w[1].score));
    assert!(
        scored
            .iter()
            .all(|r| r.score >= ScoringConfig::default().report_threshold)
    );
    // No reported ring is a fragment lying 80% inside a higher-scored one.
    for (i, ring) in scored.iter().enumerate() {
        let members = &ring.candidate.members;
        for higher in &scored[..i] {
            let inside = members
                .iter()
                .filter(|a| higher.candidate.members.contains(a))
                .count();
            assert!(inside * 5 < members.len() * 4, "ring {i} is a fragment");
        }
    }
}

/// The device farm's evidence names its own devices and IPs (used by nobody else), its target
/// products, and activity inside its planted window.
#[test]
fn device_farm_evidence_names_what_the_ring_shares_and_targets() {
    let dir = ringscope_testkit::sample_dir();
    let truth: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("_rings.json")).unwrap()).unwrap();
    let farm = truth
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["attack"] == "device_farm")
        .unwrap();
    let strings = |key: &str| -> Vec<String> {
        farm[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    let (graph, planted) = sample();
    let members = &planted.iter().find(|(a, _)| a == "device_farm").unwrap().1;
    let scores = account_scores(&graph);
    let evidence = ringscope_rings::ring_evidence(
        &graph,
        members,
        Some(&scores),
        &ringscope_graph::NearIdentifiers::new(&graph),
    );

    assert_eq!(evidence.members.len(), members.len());
    assert!(
        evidence
            .members
            .windows(2)
            .all(|w| w[0].score >= w[1].score)
    );
    for device in strings("shared_devices") {
        let shared = evidence
            .shared
            .iter()
            .find(|s| s.kind == "device" && s.id == device)
            .unwrap_or_else(|| panic!("device {device} not listed: {:?}", evidence.shared));
        assert!(shared.in_ring >= 2 && shared.outside == 0, "{shared:?}");
    }
    let products: Vec<&str> = evidence
        .targets
        .iter()
        .filter(|t| t.kind == "product")
        .map(|t| t.id.as_str())
        .collect();
    for target in strings("targets") {
        assert!(
            products.contains(&target.as_str()),
            "{target} not a target: {products:?}"
        );
    }
    let (start, end) = (
        farm["window_start"].as_i64().unwrap(),
        farm["window_end"].as_i64().unwrap(),
    );
    let in_window = evidence
        .timeline
        .iter()
        .filter(|a| (start..=end).contains(&a.time))
        .count();
    assert!(
        in_window * 2 > evidence.timeline.len(),
        "most activity is in the window"
    );
    assert!(evidence.timeline.windows(2).all(|w| w[0].time <= w[1].time));
    assert_eq!(
        evidence.first_activity,
        evidence.timeline.first().map(|a| a.time)
    );
}

/// The device farm's ring graph agrees with its evidence: members first, then exactly the
/// identifiers and targets the evidence lists, and one timed edge per member review and order.
#[test]
fn ring_graph_holds_the_evidence_nodes_and_every_timed_action() {
    let (graph, planted) = sample();
    let members = &planted.iter().find(|(a, _)| a == "device_farm").unwrap().1;
    let scores = account_scores(&graph);
    let evidence = ringscope_rings::ring_evidence(
        &graph,
        members,
        Some(&scores),
        &ringscope_graph::NearIdentifiers::new(&graph),
    );
    let ring = ringscope_rings::ring_graph(&graph, members, Some(&scores));

    let n = members.len();
    assert!(
        ring.nodes[..n]
            .iter()
            .all(|v| v.member && v.kind == "account")
    );
    assert!(ring.nodes[n..].iter().all(|v| !v.member));
    let mut others: Vec<(String, String)> = ring.nodes[n..]
        .iter()
        .map(|v| (v.kind.clone(), v.id.clone()))
        .collect();
    // Subnets are not nodes: the ring graph shows them as their addresses, two or more each.
    // (The sample has no device models, so no `device_on_subnet` entries either.)
    let (subnets, identifiers): (Vec<_>, Vec<_>) =
        evidence.shared.iter().partition(|s| s.kind == "ip_subnet");
    assert!(identifiers.iter().all(|s| s.kind != "device_on_subnet"));
    assert!(!subnets.is_empty(), "the farm's addresses share subnets");
    for subnet in subnets {
        let prefix = subnet.id.trim_end_matches("0/24");
        let addresses = others
            .iter()
            .filter(|(kind, id)| kind == "ip" && id.starts_with(prefix))
            .count();
        assert!(addresses >= 2, "{}: {addresses} addresses", subnet.id);
    }
    let mut expected: Vec<(String, String)> = identifiers
        .iter()
        .map(|s| (s.kind.clone(), s.id.clone()))
        .chain(
            evidence
                .targets
                .iter()
                .map(|t| (t.kind.clone(), t.id.clone())),
        )
        .collect();
    others.sort();
    expected.sort();
    // A seller the ring operates joins even when only one member runs it.
    others.retain(|o| expected.contains(o) || o.0 != "seller");
    assert_eq!(others, expected);

    assert!(
        ring.edges
            .iter()
            .all(|e| e.source < n && e.target < ring.nodes.len())
    );
    let actions_on_targets = ring
        .edges
        .iter()
        .filter(|e| e.relation == "reviewed" || e.relation == "ordered")
        .count();
    let timeline_on_targets = evidence
        .timeline
        .iter()
        .filter(|a| {
            expected
                .iter()
                .any(|(k, id)| k == "product" && *id == a.product)
        })
        .count();
    assert_eq!(actions_on_targets, timeline_on_targets);
    for v in &ring.nodes[n..] {
        let first = ring
            .edges
            .iter()
            .filter(|e| ring.nodes[e.target].id == v.id)
            .filter_map(|e| e.time)
            .min();
        assert_eq!(v.start, first, "{v:?}");
    }
}

/// A ring on identical handsets lists them as shared evidence, `device_on_subnet`, with the
/// one outside account that has the same handset on the same network counted outside.
#[test]
fn a_ring_on_identical_handsets_lists_them_in_its_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let mut sessions = String::from("account_id,device_id,ip,device_model,user_agent\n");
    for i in 1..=5 {
        sessions += &format!("a{i},d{i},95.7.7.{i},SM-A105F,UA-9\n");
    }
    std::fs::write(dir.path().join("sessions.csv"), sessions).unwrap();
    std::fs::write(
        dir.path().join("reviews.csv"),
        "review_id,account_id,product_id\nr1,a1,p1\n",
    )
    .unwrap();
    let ingested = ringscope_ingest::ingest_dir(dir.path()).unwrap();
    let graph = build_marketplace("handsets", ingested.batch).unwrap();
    let (_, accounts) = graph.node_set("account").unwrap();
    let ring: Vec<u32> = ["a1", "a2", "a3", "a4"]
        .iter()
        .map(|a| accounts.ids.get(a).unwrap())
        .collect();
    let near = ringscope_graph::NearIdentifiers::new(&graph);
    let evidence = ringscope_rings::ring_evidence(&graph, &ring, None, &near);
    let shared: Vec<(&str, &str, u32, u32)> = evidence
        .shared
        .iter()
        .map(|s| (s.kind.as_str(), s.id.as_str(), s.in_ring, s.outside))
        .collect();
    assert_eq!(
        shared,
        [
            ("device_on_subnet", "SM-A105F / UA-9 on 95.7.7.0/24", 4, 1),
            ("ip_subnet", "95.7.7.0/24", 4, 1),
        ]
    );
}
