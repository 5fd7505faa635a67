//! The generated background: deterministic, in the contract, and not trivially separable.

use ringscope_synth::{OutputFormat, SynthConfig, generate, write_tables};
use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::Path;

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                fs::read(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn same_seed_gives_byte_identical_files_in_both_formats() {
    let tmp = tempfile::tempdir().unwrap();
    for format in [OutputFormat::Csv, OutputFormat::Parquet] {
        let config = SynthConfig::for_accounts(400, 11);
        let (a, b, c) = (
            tmp.path().join("a"),
            tmp.path().join("b"),
            tmp.path().join("c"),
        );
        write_tables(&generate(&config), &a, format).unwrap();
        write_tables(&generate(&config), &b, format).unwrap();
        write_tables(&generate(&SynthConfig { seed: 12, ..config }), &c, format).unwrap();
        assert_eq!(files(&a).len(), 6);
        assert_eq!(files(&a), files(&b), "{format:?}: same seed, same bytes");
        assert_ne!(files(&a), files(&c), "{format:?}: another seed, other data");
    }
}

#[test]
fn generated_tables_pass_ingest_without_a_single_reject() {
    let tmp = tempfile::tempdir().unwrap();
    for format in [OutputFormat::Csv, OutputFormat::Parquet] {
        let market = generate(&SynthConfig::for_accounts(300, 3));
        write_tables(&market, tmp.path(), format).unwrap();
        let ingested = ringscope_ingest::ingest_dir(tmp.path()).unwrap();
        assert_eq!(
            ingested.report.total_rejected(),
            0,
            "{format:?}: {:?}",
            ingested.report.rejects.first()
        );
        assert_eq!(ingested.batch.orders.buyer.len(), market.orders.len());
        assert_eq!(ingested.batch.reviews.account.len(), market.reviews.len());
    }
}

#[test]
fn background_has_hubs_households_heavy_tails_and_viral_bursts() {
    let config = SynthConfig::for_accounts(3_000, 5);
    let m = generate(&config);
    let mut ip_accounts: HashMap<u32, HashSet<u32>> = HashMap::new();
    let mut device_accounts: HashMap<u32, HashSet<u32>> = HashMap::new();
    for o in &m.orders {
        ip_accounts.entry(o.ip).or_default().insert(o.buyer);
        device_accounts.entry(o.device).or_default().insert(o.buyer);
    }
    for s in &m.sessions {
        ip_accounts.entry(s.ip).or_default().insert(s.buyer);
        device_accounts.entry(s.device).or_default().insert(s.buyer);
    }
    let biggest_hub = ip_accounts
        .iter()
        .filter(|(ip, _)| **ip >= m.home_ips)
        .map(|(_, a)| a.len())
        .max()
        .unwrap();
    assert!(
        biggest_hub >= 100,
        "a carrier-NAT IP shared by hundreds of honest accounts, got {biggest_hub}"
    );
    let shared_devices = device_accounts
        .values()
        .filter(|a| (2..=5).contains(&a.len()))
        .count();
    assert!(
        shared_devices >= 100,
        "household devices shared by 2-5 accounts: {shared_devices}"
    );
    assert!(
        device_accounts.values().all(|a| a.len() <= 5),
        "no honest device farm"
    );

    // Heavy tails: the top 1% of products draw a large share of orders; most buyers buy little.
    let mut per_product = vec![0usize; config.products];
    m.orders
        .iter()
        .for_each(|o| per_product[o.product as usize] += 1);
    per_product.sort_unstable_by(|a, b| b.cmp(a));
    let top =
        per_product[..config.products / 100].iter().sum::<usize>() as f64 / m.orders.len() as f64;
    assert!(top > 0.15, "top 1% of products hold {top:.2} of orders");
    let mut per_buyer = vec![0usize; config.accounts];
    m.orders
        .iter()
        .for_each(|o| per_buyer[o.buyer as usize] += 1);
    let few = per_buyer.iter().filter(|&&n| n <= 4).count() as f64 / config.accounts as f64;
    assert!(few > 0.5, "most buyers place few orders: {few:.2}");

    // Ratings lean positive.
    let five = m.reviews.iter().filter(|r| r.rating == 5).count() as f64 / m.reviews.len() as f64;
    assert!(
        (0.45..0.75).contains(&five),
        "share of 5-star reviews {five:.2}"
    );

    // A viral product collects an honest burst inside six hours.
    let mut by_product: HashMap<u32, Vec<i64>> = HashMap::new();
    m.reviews
        .iter()
        .for_each(|r| by_product.entry(r.product).or_default().push(r.time));
    let burst = by_product
        .values_mut()
        .map(|t| {
            t.sort_unstable();
            (0..t.len())
                .map(|i| t[i..].partition_point(|&x| x - t[i] <= 6 * 3600))
                .max()
                .unwrap_or(0)
        })
        .max()
        .unwrap();
    assert!(
        burst >= config.viral_burst_size * 3 / 4,
        "largest 6-hour review burst {burst}"
    );

    // Accounts are created over time, not all at once.
    let (min, max) = (
        m.buyer_created.iter().min().unwrap(),
        m.buyer_created.iter().max().unwrap(),
    );
    assert!(max - min > 365 * 86_400);
}
