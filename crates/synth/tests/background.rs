//! The generated marketplace: deterministic, in the contract, with a background that defeats
//! naive rules and planted rings that have the properties their attack type promises.

use ringscope_synth::{
    AttackKind, Difficulty, Marketplace, OutputFormat, PlantedRing, SynthConfig, generate,
    write_tables,
};
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

fn market(accounts: usize, difficulty: Difficulty, seed: u64) -> (SynthConfig, Marketplace) {
    let config = SynthConfig {
        fraud_rate: 0.05,
        ..SynthConfig::for_accounts(accounts, seed)
    }
    .with_difficulty(difficulty);
    config.validate().unwrap();
    let m = generate(&config);
    (config, m)
}

fn rings_of(m: &Marketplace, kind: AttackKind) -> Vec<&PlantedRing> {
    m.rings.iter().filter(|r| r.attack == kind).collect()
}

/// Accounts per device and per IP over orders and sessions.
fn users(m: &Marketplace) -> (HashMap<u32, HashSet<u32>>, HashMap<u32, HashSet<u32>>) {
    let (mut devices, mut ips): (HashMap<u32, HashSet<u32>>, HashMap<u32, HashSet<u32>>) =
        Default::default();
    for (b, d, ip) in m
        .orders
        .iter()
        .map(|o| (o.buyer, o.device, o.ip))
        .chain(m.sessions.iter().map(|s| (s.buyer, s.device, s.ip)))
    {
        devices.entry(d).or_default().insert(b);
        ips.entry(ip).or_default().insert(b);
    }
    (devices, ips)
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
        assert_eq!(files(&a).len(), 7);
        assert_eq!(files(&a), files(&b), "{format:?}: same seed, same bytes");
        assert_ne!(files(&a), files(&c), "{format:?}: another seed, other data");
    }
}

#[test]
fn generated_tables_pass_ingest_and_labels_match_the_ground_truth() {
    let tmp = tempfile::tempdir().unwrap();
    for format in [OutputFormat::Csv, OutputFormat::Parquet] {
        let (_, m) = market(600, Difficulty::Medium, 3);
        write_tables(&m, tmp.path(), format).unwrap();
        let ingested = ringscope_ingest::ingest_dir(tmp.path()).unwrap();
        assert_eq!(
            ingested.report.total_rejected(),
            0,
            "{format:?}: {:?}",
            ingested.report.rejects.first()
        );
        assert!(
            ingested.report.ignored_files.is_empty(),
            "_rings.json is not mistaken for a table"
        );
        let b = &ingested.batch;
        assert_eq!(b.orders.buyer.len(), m.orders.len());
        assert_eq!(b.reviews.account.len(), m.reviews.len());
        let positives = b.labels.label.iter().filter(|&&l| l == 1).count();
        assert_eq!(positives, m.buyer_created.len() - m.honest_buyers);
        let truth: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(tmp.path().join("_rings.json")).unwrap())
                .unwrap();
        let truth = truth.as_array().unwrap();
        assert_eq!(truth.len(), m.rings.len());
        // Every member listed in the ground truth carries its ring's id in labels.
        for ring in truth {
            let ring_id = b.ids.rings.get(ring["ring_id"].as_str().unwrap()).unwrap();
            for member in ring["members"].as_array().unwrap() {
                let account = b.ids.accounts.get(member.as_str().unwrap()).unwrap();
                let row = b.labels.account.iter().position(|&a| a == account).unwrap();
                assert_eq!((b.labels.label[row], b.labels.ring[row]), (1, ring_id));
            }
        }
    }
}

#[test]
fn fraud_rate_is_respected_and_every_attack_type_is_planted() {
    for (rate, accounts) in [(0.01, 5_000), (0.03, 5_000), (0.05, 2_000)] {
        let config = SynthConfig {
            fraud_rate: rate,
            ..SynthConfig::for_accounts(accounts, 9)
        };
        let m = generate(&config);
        let fraud = (m.buyer_created.len() - m.honest_buyers) as f64 / m.buyer_created.len() as f64;
        assert!(
            (rate * 0.7..=rate * 1.6).contains(&fraud),
            "rate {rate}: planted {fraud:.4}"
        );
        for kind in AttackKind::CLASSIC {
            assert!(
                !rings_of(&m, kind).is_empty(),
                "rate {rate}: no {kind:?} ring"
            );
        }
    }
    let honest = generate(&SynthConfig {
        fraud_rate: 0.0,
        ..SynthConfig::default()
    });
    assert!(honest.rings.is_empty() && honest.honest_buyers == honest.buyer_created.len());
}

#[test]
fn fake_review_rings_burst_five_stars_on_their_sellers_products_from_a_shared_pool() {
    for difficulty in [Difficulty::Easy, Difficulty::Medium] {
        let (config, m) = market(4_000, difficulty, 21);
        for ring in rings_of(&m, AttackKind::FakeReview) {
            let members: HashSet<u32> = ring.members.iter().copied().collect();
            assert!(
                (config.fake_review.min_size..=config.fake_review.max_size)
                    .contains(&members.len())
            );
            let seller = ring.seller.unwrap();
            assert!(
                ring.targets
                    .iter()
                    .all(|&p| m.products[p as usize].0 == seller),
                "targets are the colluding seller's"
            );
            let burst: Vec<_> = m
                .reviews
                .iter()
                .filter(|r| members.contains(&r.buyer) && ring.targets.contains(&r.product))
                .collect();
            assert!(
                burst.len() >= members.len() / 2,
                "{}: {} target reviews",
                ring.id,
                burst.len()
            );
            assert!(burst.iter().all(|r| r.rating >= 4));
            let (lo, hi) = (
                burst.iter().map(|r| r.time).min().unwrap(),
                burst.iter().map(|r| r.time).max().unwrap(),
            );
            assert!(
                hi - lo <= config.fake_review.time_spread_secs + 2 * 3600,
                "{}: burst spans {}s",
                ring.id,
                hi - lo
            );
            // Orders on the targets mostly come from the ring's small device pool.
            let pooled = m
                .orders
                .iter()
                .filter(|o| members.contains(&o.buyer) && ring.targets.contains(&o.product));
            let (on_pool, all) = pooled.fold((0, 0), |(p, a), o| {
                (p + ring.shared_devices.contains(&o.device) as usize, a + 1)
            });
            assert!(
                on_pool as f64 >= all as f64 * config.fake_review.sharing_rate * 0.6,
                "{}: {on_pool}/{all} on the pool",
                ring.id
            );
            assert!(ring.shared_devices.len() <= members.len().div_ceil(6));
            // The shared IPs form one /24 subnet.
            let subnets: HashSet<[u8; 3]> = ring
                .shared_ips
                .iter()
                .map(|&ip| {
                    let a = m.ips[ip as usize];
                    [a[0], a[1], a[2]]
                })
                .collect();
            assert_eq!(subnets.len(), 1);
        }
    }
}

#[test]
fn brushing_rings_place_token_orders_to_few_addresses_and_cards() {
    let (config, m) = market(4_000, Difficulty::Easy, 22);
    let rings = rings_of(&m, AttackKind::Brushing);
    assert!(!rings.is_empty());
    for ring in rings {
        let members: HashSet<u32> = ring.members.iter().copied().collect();
        let seller = ring.seller.unwrap();
        let orders: Vec<_> = m
            .orders
            .iter()
            .filter(|o| members.contains(&o.buyer))
            .collect();
        assert!(orders.len() >= 3 * members.len());
        assert!(
            orders.iter().all(|o| o.seller == seller && o.amount < 5.0),
            "token orders to the controlling seller"
        );
        let mut by_address: HashMap<u32, usize> = HashMap::new();
        orders
            .iter()
            .for_each(|o| *by_address.entry(o.address).or_default() += 1);
        let mut counts: Vec<usize> = by_address.values().copied().collect();
        counts.sort_unstable_by(|a, b| b.cmp(a));
        let top3: usize = counts.iter().take(3).sum();
        assert!(
            top3 as f64 >= orders.len() as f64 * config.brushing.sharing_rate * 0.8,
            "{}: {top3}/{} to 3 addresses",
            ring.id,
            orders.len()
        );
        let cards: HashSet<u32> = orders.iter().map(|o| o.payment).collect();
        assert!(cards.len() < members.len(), "fewer cards than buyers");
    }
}

#[test]
fn device_farms_are_fresh_accounts_on_at_most_four_devices_in_lockstep() {
    let (config, m) = market(4_000, Difficulty::Medium, 23);
    let rings = rings_of(&m, AttackKind::DeviceFarm);
    assert!(!rings.is_empty());
    for ring in rings {
        let members: HashSet<u32> = ring.members.iter().copied().collect();
        let devices: HashSet<u32> = m
            .orders
            .iter()
            .filter(|o| members.contains(&o.buyer))
            .map(|o| o.device)
            .chain(
                m.sessions
                    .iter()
                    .filter(|s| members.contains(&s.buyer))
                    .map(|s| s.device),
            )
            .collect();
        assert!(
            devices.len() <= 4,
            "{}: {} accounts on {} devices",
            ring.id,
            members.len(),
            devices.len()
        );
        assert!(members.len() >= 5 * devices.len());
        assert!(
            ring.members
                .iter()
                .all(|&b| ring.window.0 - m.buyer_created[b as usize] <= 7 * 86_400),
            "fresh accounts"
        );
        // Lockstep: each target's reviews by the farm fall inside one short window.
        for &product in &ring.targets {
            let times: Vec<i64> = m
                .reviews
                .iter()
                .filter(|r| members.contains(&r.buyer) && r.product == product)
                .map(|r| r.time)
                .collect();
            if let (Some(lo), Some(hi)) = (times.iter().min(), times.iter().max()) {
                assert!(
                    hi - lo <= config.device_farm.time_spread_secs + 3_600,
                    "{}: {}s",
                    ring.id,
                    hi - lo
                );
            }
        }
    }
}

#[test]
fn coordinated_accounts_share_no_device_or_ip_but_act_in_sync() {
    let (config, m) = market(4_000, Difficulty::Medium, 24);
    let (device_users, ip_users) = users(&m);
    let rings = rings_of(&m, AttackKind::Coordinated);
    assert!(!rings.is_empty());
    for ring in rings {
        let members: HashSet<u32> = ring.members.iter().copied().collect();
        for (d, users) in device_users.iter().chain(ip_users.iter()) {
            if users.iter().any(|u| members.contains(u)) {
                assert_eq!(users.len(), 1, "{}: identifier {d} is shared", ring.id);
            }
        }
        let mut synced = 0;
        for &product in &ring.targets {
            let times: Vec<i64> = m
                .reviews
                .iter()
                .filter(|r| {
                    members.contains(&r.buyer) && r.product == product && r.time >= ring.window.0
                })
                .map(|r| r.time)
                .collect();
            let (lo, hi) = (times.iter().min().unwrap(), times.iter().max().unwrap());
            assert!(
                hi - lo <= config.coordinated.time_spread_secs,
                "{}: {}s",
                ring.id,
                hi - lo
            );
            synced += times.len();
        }
        assert!(
            synced >= ring.targets.len() * members.len() / 2,
            "{}: {synced} synchronised reviews",
            ring.id
        );
    }
}

#[test]
fn harder_difficulty_means_more_camouflage_and_wider_bursts() {
    let camouflage = |difficulty| {
        let (_, m) = market(3_000, difficulty, 25);
        let fraud: HashSet<u32> = m
            .rings
            .iter()
            .flat_map(|r| r.members.iter().copied())
            .collect();
        let targets: HashSet<u32> = m
            .rings
            .iter()
            .flat_map(|r| r.targets.iter().copied())
            .collect();
        let off_target = m
            .reviews
            .iter()
            .filter(|r| fraud.contains(&r.buyer) && !targets.contains(&r.product))
            .count();
        off_target as f64 / fraud.len() as f64
    };
    let (easy, hard) = (camouflage(Difficulty::Easy), camouflage(Difficulty::Hard));
    assert!(
        easy < 0.5 && hard > 3.0,
        "camouflage reviews per fraud account: easy {easy:.2}, hard {hard:.2}"
    );
    let spread =
        |d| ringscope_synth::AttackConfig::preset(AttackKind::FakeReview, d).time_spread_secs;
    assert!(
        spread(Difficulty::Easy) < spread(Difficulty::Medium)
            && spread(Difficulty::Medium) < spread(Difficulty::Hard)
    );
}

#[test]
fn background_has_hubs_households_heavy_tails_and_viral_bursts() {
    let config = SynthConfig::for_accounts(3_000, 5);
    let m = generate(&config);
    let (device_users, ip_users) = users(&m);
    let biggest_hub = m
        .hub_ips
        .iter()
        .map(|ip| ip_users.get(ip).map_or(0, HashSet::len))
        .max()
        .unwrap();
    assert!(
        biggest_hub >= 100,
        "a carrier-NAT IP shared by hundreds of honest accounts, got {biggest_hub}"
    );
    let honest = |users: &HashSet<u32>| users.iter().all(|&u| (u as usize) < m.honest_buyers);
    let shared_devices = device_users
        .values()
        .filter(|a| honest(a) && (2..=5).contains(&a.len()))
        .count();
    assert!(
        shared_devices >= 100,
        "household devices shared by 2-5 accounts: {shared_devices}"
    );
    assert!(
        device_users
            .values()
            .filter(|a| honest(a))
            .all(|a| a.len() <= 5),
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
    let mut per_buyer = vec![0usize; m.honest_buyers];
    m.orders
        .iter()
        .filter(|o| (o.buyer as usize) < m.honest_buyers)
        .for_each(|o| per_buyer[o.buyer as usize] += 1);
    let few = per_buyer.iter().filter(|&&n| n <= 4).count() as f64 / m.honest_buyers as f64;
    assert!(few > 0.5, "most buyers place few orders: {few:.2}");

    // Ratings lean positive.
    let five = m.reviews.iter().filter(|r| r.rating == 5).count() as f64 / m.reviews.len() as f64;
    assert!(
        (0.45..0.8).contains(&five),
        "share of 5-star reviews {five:.2}"
    );

    // A viral product collects an honest burst inside six hours, bigger than any ring burst.
    let mut by_product: HashMap<u32, Vec<i64>> = HashMap::new();
    m.reviews
        .iter()
        .filter(|r| (r.buyer as usize) < m.honest_buyers)
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
        "largest honest 6-hour review burst {burst}"
    );

    // Accounts are created over time, not all at once.
    let (min, max) = (
        m.buyer_created.iter().min().unwrap(),
        m.buyer_created.iter().max().unwrap(),
    );
    assert!(max - min > 365 * 86_400);
}

#[test]
fn extreme_but_valid_configs_generate() {
    for difficulty in [Difficulty::Easy, Difficulty::Hard] {
        for (accounts, days, fraud_rate) in [(50, 1, 0.5), (60, 2, 0.0), (500, 365, 0.2)] {
            let config = SynthConfig {
                days,
                fraud_rate,
                ..SynthConfig::for_accounts(accounts, 1)
            }
            .with_difficulty(difficulty);
            config.validate().unwrap();
            let m = generate(&config);
            let end = config.end_time;
            assert!(
                m.orders.iter().all(|o| o.time < end) && m.reviews.iter().all(|r| r.time < end)
            );
            assert!(m.sessions.iter().all(|s| s.time < end));
        }
    }
    assert!(
        SynthConfig {
            fraud_rate: 0.9,
            ..SynthConfig::default()
        }
        .validate()
        .is_err()
    );
}

/// The marketplace with every family planted.
fn every_family(difficulty: Difficulty, seed: u64) -> (SynthConfig, Marketplace) {
    let config = SynthConfig {
        fraud_rate: 0.05,
        ..SynthConfig::for_accounts(6_000, seed)
    }
    .with_difficulty(difficulty)
    .with_families(&AttackKind::ALL);
    config.validate().unwrap();
    let m = generate(&config);
    (config, m)
}

#[test]
fn the_extra_families_are_off_by_default_and_every_family_plants_on_request() {
    let classic = generate(&SynthConfig::for_accounts(3_000, 3));
    assert!(
        classic
            .rings
            .iter()
            .all(|r| AttackKind::CLASSIC.contains(&r.attack))
    );
    for difficulty in [Difficulty::Easy, Difficulty::Medium, Difficulty::Hard] {
        let (config, m) = every_family(difficulty, 31);
        for kind in AttackKind::ALL {
            let rings = rings_of(&m, kind);
            assert!(!rings.is_empty(), "{difficulty:?}: no {kind:?} ring");
            let knobs = config.attack(kind);
            assert!(
                rings.iter().all(|r| r.members.len() <= knobs.max_size),
                "{kind:?}"
            );
        }
        assert_eq!(
            AttackKind::from_name("slow_ring"),
            Some(AttackKind::SlowRing)
        );
    }
}

#[test]
fn slow_rings_and_sleepers_share_nothing_and_spread_over_weeks() {
    let (_, m) = every_family(Difficulty::Medium, 32);
    let (device_users, ip_users) = users(&m);
    for ring in rings_of(&m, AttackKind::SlowRing)
        .into_iter()
        .chain(rings_of(&m, AttackKind::Sleeper))
    {
        let members: HashSet<u32> = ring.members.iter().copied().collect();
        for users in device_users.values().chain(ip_users.values()) {
            if users.iter().any(|u| members.contains(u)) {
                assert_eq!(users.len(), 1, "{}: an identifier is shared", ring.id);
            }
        }
        let payments: HashSet<u32> = ring
            .members
            .iter()
            .map(|&b| m.buyer_payment[b as usize])
            .collect();
        assert_eq!(
            payments.len(),
            members.len(),
            "{}: a card is shared",
            ring.id
        );
        let seller = ring.seller.unwrap();
        let times: Vec<i64> = m
            .reviews
            .iter()
            .filter(|r| members.contains(&r.buyer) && r.seller == seller)
            .map(|r| r.time)
            .collect();
        assert!(times.len() >= members.len(), "{}", ring.id);
        let span = times.iter().max().unwrap() - times.iter().min().unwrap();
        assert!(span >= 7 * 86_400, "{}: reviews within {span} s", ring.id);
        if ring.attack == AttackKind::Sleeper {
            let born: Vec<i64> = ring
                .members
                .iter()
                .map(|&b| m.buyer_created[b as usize])
                .collect();
            let batch = born.iter().max().unwrap() - born.iter().min().unwrap();
            assert!(batch <= 6 * 3600, "{}: created over {batch} s", ring.id);
        }
    }
}

#[test]
fn takeovers_turn_old_honest_accounts_to_new_identifiers_and_one_seller() {
    let (_, m) = every_family(Difficulty::Medium, 33);
    let rings = rings_of(&m, AttackKind::Takeover);
    assert!(!rings.is_empty());
    for ring in rings {
        for &b in &ring.members {
            assert!((b as usize) < m.honest_buyers, "{}: a new account", ring.id);
            let (before, after): (Vec<&ringscope_synth::Order>, Vec<_>) = m
                .orders
                .iter()
                .filter(|o| o.buyer == b)
                .partition(|o| o.time < ring.window.0);
            assert!(!before.is_empty(), "{}: no history", ring.id);
            let old: HashSet<(u32, u32)> = before.iter().map(|o| (o.device, o.ip)).collect();
            // The owner may still shop there too; the attacker never uses the owner's device
            // or IP.
            let taken = after
                .iter()
                .filter(|o| o.seller == ring.seller.unwrap() && o.time <= ring.window.1)
                .filter(|o| old.iter().all(|&(d, ip)| d != o.device && ip != o.ip))
                .count();
            assert!(taken >= 2, "{}: {taken} orders on new identifiers", ring.id);
        }
    }
}

#[test]
fn self_dealers_pay_and_ship_through_the_sellers_few_cards_and_one_address() {
    let (_, m) = every_family(Difficulty::Medium, 34);
    let rings = rings_of(&m, AttackKind::SelfDealing);
    assert!(!rings.is_empty());
    for ring in rings {
        let members: HashSet<u32> = ring.members.iter().copied().collect();
        let orders: Vec<_> = m
            .orders
            .iter()
            .filter(|o| members.contains(&o.buyer) && Some(o.seller) == ring.seller)
            .collect();
        let mut by_address: HashMap<u32, HashSet<u32>> = HashMap::new();
        for o in &orders {
            by_address.entry(o.address).or_default().insert(o.buyer);
        }
        let widest = by_address.values().map(HashSet::len).max().unwrap();
        assert!(
            widest * 2 >= members.len(),
            "{}: {widest} of {}",
            ring.id,
            members.len()
        );
    }
}
