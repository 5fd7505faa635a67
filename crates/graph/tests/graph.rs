//! The marketplace graph end to end: events → graph → projections → store → back.

use ringscope_graph::{
    Evidence, GraphError, HeteroGraph, NO_TIME, Projection, ProjectionConfig, Rel,
    build_marketplace, project_accounts, store,
};
use ringscope_ingest::ingest_dir;
use std::fs;
use std::path::PathBuf;

fn graph_from(files: &[(&str, &str)]) -> HeteroGraph {
    let dir = tempfile::tempdir().unwrap();
    for (name, content) in files {
        fs::write(dir.path().join(name), content).unwrap();
    }
    build_marketplace("t", ingest_dir(dir.path()).unwrap().batch).unwrap()
}

fn account(g: &HeteroGraph, id: &str) -> u32 {
    g.node_set("account").unwrap().1.ids.get(id).unwrap()
}

/// `../shared/datasets`, or `RINGSCOPE_DATASETS`; `None` (test skipped) when absent, a failure
/// under `RINGSCOPE_REQUIRE_DATASETS=1`.
/// The projection's evidence between accounts `a` and `b`, if they are linked.
fn evidence(g: &HeteroGraph, p: &Projection, a: &str, b: &str) -> Option<Evidence> {
    let (a, b) = (account(g, a), account(g, b));
    p.graph
        .find_edge(a.into(), b.into())
        .map(|e| p.graph[e].clone())
}

fn datasets() -> Option<PathBuf> {
    ringscope_testkit::datasets_dir()
}

#[test]
fn identifier_edges_collapse_per_pair_with_count_and_first_use() {
    let g = graph_from(&[
        (
            "orders.csv",
            "order_id,buyer_id,seller_id,product_id,created_at,device_id,payment_id\n\
             o1,a1,s1,p1,2000,d1,c1\no2,a1,s1,p2,1000,d1,c1\no3,a2,s1,,3000,d1,\n",
        ),
        (
            "sessions.csv",
            "account_id,device_id,created_at\na1,d1,500\na1,d2,\n",
        ),
    ]);
    let used = g.relation(Rel::UsedDevice.name()).unwrap();
    let a1 = account(&g, "a1");
    let edges: Vec<_> = (0..used.len())
        .map(|e| {
            (
                used.src[e],
                used.dst[e],
                used.weight.as_ref().unwrap()[e],
                used.time.as_ref().unwrap()[e],
            )
        })
        .collect();
    assert_eq!(
        edges,
        vec![
            (a1, 0, 3.0, 500),
            (a1, 1, 1.0, NO_TIME),
            (account(&g, "a2"), 0, 1.0, 3000)
        ]
    );
    assert_eq!(
        g.relation("ordered").unwrap().len(),
        2,
        "orders without a product have no ordered edge"
    );
    assert_eq!(g.relation("bought_from").unwrap().len(), 3);
    assert_eq!(
        g.relation("sells").unwrap().len(),
        2,
        "p1→s1 and p2→s1, deduplicated"
    );
    assert_eq!(
        g.relation("operates").unwrap().len(),
        1,
        "s1's own account operates seller s1"
    );
    let csr = g.in_csr(used);
    assert_eq!(csr.degree(0), 2, "device d1 is used by two accounts");
}

#[test]
fn shared_identifiers_and_co_reviews_link_accounts_with_evidence() {
    let g = graph_from(&[
        (
            "orders.csv",
            "order_id,buyer_id,seller_id,device_id,ip,payment_id\n\
             o1,a1,s1,d1,10.0.0.1,c1\no2,a2,s1,d1,10.0.0.1,c1\no3,a3,s1,d9,10.0.0.2,c3\n",
        ),
        (
            "reviews.csv",
            "review_id,account_id,product_id,created_at\n\
             r1,a3,p1,1000\nr2,a4,p1,1600\nr3,a5,p1,900000\nr4,a3,p2,50\nr5,a4,p2,100\n",
        ),
    ]);
    // Exact identifiers only: 10.0.0.1 and 10.0.0.2 share a /24 (the next test covers that).
    let config = ProjectionConfig {
        co_review_window_secs: 3600,
        ip_subnets: false,
        ..Default::default()
    };
    let p = project_accounts(&g, &config);
    let ev = |a: &str, b: &str| evidence(&g, &p, a, b);
    let a1a2 = ev("a1", "a2").expect("a1 and a2 share a device, an IP and a card");
    assert_eq!(
        (
            a1a2.devices,
            a1a2.ips,
            a1a2.payments,
            a1a2.co_reviewed_products
        ),
        (1, 1, 1, 0)
    );
    assert!(
        a1a2.weight > 3.0 * 1.0 / 2f32.ln() - 1e-4,
        "three identifiers shared by two accounts each"
    );
    let a3a4 = ev("a3", "a4").expect("a3 and a4 reviewed p1 and p2 within the window");
    assert_eq!(a3a4.co_reviewed_products, 2);
    assert!(ev("a4", "a5").is_none(), "a5 reviewed p1 ten days later");
    assert!(ev("a1", "a3").is_none());
    assert_eq!(p.graph.edge_count(), 2);
}

/// IPv4 /24s and IPv6 /64s link their accounts at half an exact identifier's weight; a subnet
/// with one address in use adds nothing, one over the cap is a hub, and IDs that are not
/// addresses have no subnet.
#[test]
fn near_identifiers_link_accounts_in_one_subnet_with_weaker_evidence() {
    let mut orders = String::from("order_id,buyer_id,seller_id,ip\n");
    for (i, (account, ip)) in [
        ("a1", "81.2.3.4"),
        ("a2", "81.2.3.77"),
        ("a6", "::ffff:81.2.3.9"),
        ("a3", "81.2.4.1"),
        ("a4", "2001:db8:1:2::1"),
        ("a5", "2001:db8:1:2:ffff::9"),
        ("a7", "not-an-ip"),
        ("a8", "not-an-ip-either"),
        ("a9", "31.9.9.9"),
        ("a10", "31.9.9.9"),
    ]
    .iter()
    .enumerate()
    {
        orders += &format!("o{i},{account},s1,{ip}\n");
    }
    for i in 0..25 {
        orders += &format!("h{i},b{i},s1,95.1.1.{}\n", i + 1);
    }
    let g = graph_from(&[("orders.csv", &orders)]);
    let config = ProjectionConfig::default();
    let p = project_accounts(&g, &config);
    let ev = |a: &str, b: &str| evidence(&g, &p, a, b);
    let strength = |k: f32| ringscope_graph::SUBNET_STRENGTH / k.ln();
    for (a, b) in [("a1", "a2"), ("a1", "a6"), ("a2", "a6")] {
        let e = ev(a, b).unwrap_or_else(|| panic!("{a} and {b} share 81.2.3.0/24"));
        assert_eq!((e.ips, e.subnets), (0, 1), "{a} {b}");
        assert!(
            (e.weight - strength(3.0)).abs() < 1e-6,
            "{a} {b}: {}",
            e.weight
        );
    }
    let v6 = ev("a4", "a5").expect("a4 and a5 share 2001:db8:1:2::/64");
    assert_eq!((v6.ips, v6.subnets), (0, 1));
    assert!((v6.weight - strength(2.0)).abs() < 1e-6);
    let exact = ev("a9", "a10").expect("a9 and a10 share one address");
    assert_eq!(
        (exact.ips, exact.subnets),
        (1, 0),
        "a /24 with one address in use adds nothing to it"
    );
    assert!(ev("a1", "a3").is_none(), "81.2.4.1 is another /24");
    assert!(ev("a7", "a8").is_none(), "IDs that are not addresses");
    assert!(ev("b0", "b1").is_none(), "the 25-account /24 is a hub");
    assert_eq!(p.graph.edge_count(), 5);
    let hub = p
        .hubs
        .iter()
        .find(|h| h.kind == "ip_subnet")
        .expect("a subnet hub");
    assert_eq!((hub.id.as_str(), hub.accounts), ("95.1.1.0/24", 25));
    let mut subnets: Vec<String> = ringscope_graph::SubnetIndex::new(&g)
        .groups()
        .iter()
        .map(|(s, _)| s.to_string())
        .collect();
    subnets.sort();
    assert_eq!(subnets, ["2001:db8:1:2::/64", "81.2.3.0/24", "95.1.1.0/24"]);
    let off = ProjectionConfig {
        ip_subnets: false,
        ..Default::default()
    };
    assert_eq!(
        project_accounts(&g, &off).graph.edge_count(),
        1,
        "a9–a10 alone"
    );
}

/// Sessions' `device_model` and `user_agent` link accounts whose devices share both on one
/// subnet (a phone farm's identical handsets), at an exact identifier's strength; the same
/// handset elsewhere, or another model on the subnet, does not. The attributes survive the store.
#[test]
fn identical_devices_on_one_subnet_link_their_accounts() {
    let mut sessions = String::from("account_id,device_id,ip,device_model,user_agent\n");
    // The farm's first handset names its model only on its second session.
    sessions += "f1,df1,81.2.3.1,,UA-farm\n";
    for i in 1..=4 {
        sessions += &format!("f{i},df{i},81.2.3.{i},SM-A105F,UA-farm\n");
    }
    sessions += "h1,dh1,81.9.9.9,SM-A105F,UA-farm\n"; // the same handset, another network
    sessions += "h2,dh2,81.2.3.50,Pixel 7,UA-other\n"; // another handset, the farm's network
    sessions += "h3,dh3,81.2.3.60,,\n"; // no attributes
    let reviews = "review_id,account_id,product_id\nr1,f1,p1\n";
    let g = graph_from(&[("sessions.csv", &sessions), ("reviews.csv", reviews)]);
    let dir = tempfile::tempdir().unwrap();
    store::save(&g, dir.path()).unwrap();
    let loaded = store::load(dir.path()).unwrap();
    for g in [&g, &loaded] {
        let p = project_accounts(g, &ProjectionConfig::default());
        let ev = |a: &str, b: &str| evidence(g, &p, a, b);
        let farm = ev("f1", "f4").expect("f1 and f4: identical handsets on 81.2.3.0/24");
        assert_eq!((farm.devices, farm.near_devices, farm.subnets), (0, 1, 1));
        assert!((farm.weight - (1.0 / 4f32.ln() + 0.5 / 6f32.ln())).abs() < 1e-5);
        assert!(ev("f1", "h1").is_none(), "same handset, another network");
        let h2 = ev("f1", "h2").expect("the farm's network");
        assert_eq!((h2.near_devices, h2.subnets), (0, 1), "another handset");
        let near = ringscope_graph::NearIdentifiers::new(g);
        assert_eq!(near.devices.len(), 1, "{:?}", near.devices);
        assert_eq!(
            ringscope_graph::NearIdentifiers::describe(g, &near.devices[0].0),
            "SM-A105F / UA-farm on 81.2.3.0/24"
        );
        let capped = ProjectionConfig {
            max_accounts_per_identifier: 3,
            ..Default::default()
        };
        let p = project_accounts(g, &capped);
        let hub = p.hubs.iter().find(|h| h.kind == "device_on_subnet");
        assert_eq!(hub.map(|h| h.accounts), Some(4), "{:?}", p.hubs);
        assert_eq!(evidence(g, &p, "f1", "f4").map(|e| e.near_devices), Some(0));
    }
}

#[test]
fn hub_identifiers_and_review_bursts_link_nobody_and_are_reported() {
    let mut orders = String::from("order_id,buyer_id,seller_id,ip\n");
    for i in 0..30 {
        orders += &format!("o{i},a{i},s1,100.64.0.1\n");
    }
    orders += "o100,a0,s1,81.0.0.9\no101,a1,s1,81.0.0.9\n";
    let mut reviews = String::from("review_id,account_id,product_id,created_at\n");
    for i in 0..12 {
        reviews += &format!("r{i},a{i},viral,{}\n", 1000 + i);
    }
    let g = graph_from(&[("orders.csv", &orders), ("reviews.csv", &reviews)]);
    let config = ProjectionConfig {
        max_accounts_per_identifier: 20,
        max_reviews_per_window: 10,
        ..Default::default()
    };
    let p = project_accounts(&g, &config);
    assert_eq!(p.hubs.len(), 1);
    assert_eq!(
        (
            p.hubs[0].kind.as_str(),
            p.hubs[0].id.as_str(),
            p.hubs[0].accounts
        ),
        ("ip", "100.64.0.1", 30)
    );
    assert_eq!(p.bursts.len(), 1);
    assert_eq!(
        (p.bursts[0].product.as_str(), p.bursts[0].reviews),
        ("viral", 12)
    );
    assert_eq!(
        p.graph.edge_count(),
        1,
        "only the household IP links a0 and a1"
    );
    // Raising the caps brings the hub and the burst back as evidence.
    let loose = ProjectionConfig {
        max_accounts_per_identifier: 50,
        max_reviews_per_window: 50,
        ..Default::default()
    };
    assert_eq!(project_accounts(&g, &loose).graph.edge_count(), 30 * 29 / 2);
}

fn sample_graph() -> HeteroGraph {
    let dir = tempfile::tempdir().unwrap();
    let config = ringscope_synth::SynthConfig::for_accounts(300, 7);
    ringscope_synth::write_tables(
        &ringscope_synth::generate(&config),
        dir.path(),
        ringscope_synth::OutputFormat::Csv,
    )
    .unwrap();
    build_marketplace("sample", ingest_dir(dir.path()).unwrap().batch).unwrap()
}

#[test]
fn store_round_trips_exactly_and_deterministically() {
    let g = sample_graph();
    let out = tempfile::tempdir().unwrap();
    let (first, second) = (out.path().join("a"), out.path().join("b"));
    store::save(&g, &first).unwrap();
    let loaded = store::load(&first).unwrap();
    assert_eq!(loaded, g);
    assert!(
        loaded
            .node_set("account")
            .unwrap()
            .1
            .attr("created_at")
            .is_some()
    );
    assert!(
        loaded
            .relation("reviewed")
            .unwrap()
            .weight
            .as_ref()
            .unwrap()
            .iter()
            .all(|w| (1.0..=5.0).contains(w))
    );
    store::save(&loaded, &second).unwrap();
    for entry in fs::read_dir(&first).unwrap() {
        let name = entry.unwrap().file_name();
        assert_eq!(
            fs::read(first.join(&name)).unwrap(),
            fs::read(second.join(&name)).unwrap(),
            "{name:?} differs"
        );
    }
    // Saving again over an existing store replaces it whole.
    store::save(&g, &first).unwrap();
    assert_eq!(store::load(&first).unwrap(), g);
}

#[test]
fn corrupt_or_foreign_stores_are_refused_with_the_file_named() {
    let g = sample_graph();
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("g");
    store::save(&g, &dir).unwrap();
    let meta = fs::read_to_string(dir.join("meta.json")).unwrap();

    fs::write(
        dir.join("meta.json"),
        meta.replace("\"schema_version\": 1", "\"schema_version\": 99"),
    )
    .unwrap();
    let err = store::load(&dir).unwrap_err();
    assert!(
        matches!(
            err,
            GraphError::SchemaVersion {
                found: 99,
                expected: 1,
                ..
            }
        ),
        "{err}"
    );
    fs::write(dir.join("meta.json"), &meta).unwrap();

    let edges = dir.join("edges_reviewed.parquet");
    let bytes = fs::read(&edges).unwrap();
    fs::write(&edges, &bytes[..bytes.len() / 3]).unwrap();
    let err = store::load(&dir).unwrap_err();
    assert!(
        matches!(err, GraphError::BadFile { .. })
            && err.to_string().contains("edges_reviewed.parquet"),
        "{err}"
    );
    fs::write(&edges, &bytes).unwrap();

    fs::write(
        dir.join("meta.json"),
        meta.replacen("\"count\": ", "\"count\": 1", 1),
    )
    .unwrap();
    let err = store::load(&dir).unwrap_err();
    assert!(
        err.to_string().contains("nodes_account.parquet") && err.to_string().contains("rows"),
        "{err}"
    );

    fs::write(dir.join("meta.json"), "{ not json").unwrap();
    assert!(
        store::load(&dir)
            .unwrap_err()
            .to_string()
            .contains("meta.json")
    );
}

#[test]
fn dataset_with_unknown_edge_endpoint_names_file_column_and_row() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("meta.json"),
        r#"{"name": "tiny", "notes": {"edge_storage": "directed"}}"#,
    )
    .unwrap();
    fs::write(
        dir.path().join("nodes.csv"),
        "id,label,f0\n10,1,0.5\n11,0,1.5\n12,-1,2\n",
    )
    .unwrap();
    fs::write(dir.path().join("edges_homo.csv"), "src,dst\n10,11\n11,99\n").unwrap();
    let err = store::load(dir.path()).unwrap_err().to_string();
    assert!(
        err.contains("edges_homo.csv") && err.contains("'dst' row 2") && err.contains("99"),
        "{err}"
    );

    fs::write(dir.path().join("edges_homo.csv"), "src,dst\n10,11\n11,12\n").unwrap();
    let g = store::load(dir.path()).unwrap();
    let set = &g.node_sets()[0];
    assert_eq!(set.labels.as_deref(), Some(&[1i8, 0, -1][..]));
    assert_eq!(set.features.as_ref().unwrap().values, vec![0.5, 1.5, 2.0]);
    assert_eq!(g.relation("homo").unwrap().dst, vec![1, 2]);
}

#[test]
fn tolokers_undirected_edges_are_symmetrised() {
    let Some(root) = datasets() else { return };
    let g = store::load(&root.join("tolokers")).unwrap();
    let set = &g.node_sets()[0];
    assert_eq!(set.len(), 11_758);
    assert_eq!(set.features.as_ref().unwrap().names.len(), 10);
    assert_eq!(
        set.labels
            .as_ref()
            .unwrap()
            .iter()
            .filter(|&&y| y == 1)
            .count(),
        2_566
    );
    let homo = g.relation("homo").unwrap();
    assert_eq!(
        homo.len(),
        2 * 519_000,
        "each stored-once edge gains its reverse"
    );
    let out = g.out_csr(homo);
    let (s, d) = (homo.src[0], homo.dst[0]);
    assert!(
        out.neighbors(d).contains(&s),
        "reverse of the first edge present"
    );
}

#[test]
fn rev2_ratings_keep_weights_and_timestamps_and_direction() {
    let Some(root) = datasets() else { return };
    let g = store::load(&root.join("rev2_otc")).unwrap();
    let rating = g.relation("rating").unwrap();
    assert_eq!(rating.len(), 35_592, "directed ratings are not symmetrised");
    let w = rating.weight.as_ref().unwrap();
    assert!(w.iter().all(|v| (-10.0..=10.0).contains(v)));
    assert!(
        rating
            .time
            .as_ref()
            .unwrap()
            .iter()
            .all(|&t| t > 1_200_000_000)
    );
    let y = g.node_sets()[0].labels.as_ref().unwrap();
    assert_eq!(
        (
            y.iter().filter(|&&v| v == 1).count(),
            y.iter().filter(|&&v| v == 0).count()
        ),
        (180, 136)
    );
}

#[test]
fn every_shared_dataset_loads() {
    let Some(root) = datasets() else { return };
    for name in [
        "tolokers",
        "pygod_reddit",
        "rev2_otc",
        "rev2_alpha",
        "fdcompcn",
    ] {
        let g = store::load(&root.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let meta: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(root.join(name).join("meta.json")).unwrap())
                .unwrap();
        assert_eq!(
            g.num_nodes() as u64,
            meta["num_nodes"].as_u64().unwrap(),
            "{name}"
        );
        let relations = meta["relations"].as_object().unwrap();
        assert_eq!(g.relations().len(), relations.len(), "{name}");
    }
}

#[test]
fn stored_labels_outside_minus_one_to_one_are_refused() {
    use polars::prelude::*;
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("meta.json"), r#"{"name": "tiny"}"#).unwrap();
    fs::write(dir.path().join("nodes.csv"), "id,label\na,1\nb,0\n").unwrap();
    fs::write(dir.path().join("edges_homo.csv"), "src,dst\na,b\n").unwrap();
    let g = store::load(dir.path()).unwrap();
    let out = dir.path().join("store");
    store::save(&g, &out).unwrap();
    let nodes = out.join("nodes_node.parquet");
    let mut df = DataFrame::new_infer_height(vec![
        Column::new("id".into(), ["a", "b"]),
        Column::new("label".into(), [1i32, 7]),
    ])
    .unwrap();
    ParquetWriter::new(fs::File::create(&nodes).unwrap())
        .finish(&mut df)
        .unwrap();
    let err = store::load(&out).unwrap_err().to_string();
    assert!(
        err.contains("nodes_node.parquet") && err.contains("'label' row 2"),
        "{err}"
    );
}
