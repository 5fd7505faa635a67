//! Planted collusion, each family with its own knobs, appended to the honest background: the
//! classic fake-review rings, brushing, device farms and coordinated inauthentic accounts, and
//! the families that share no identifier or burst: slow rings, account takeovers, seller
//! self-dealing and sleeper cohorts.

use crate::background::{Marketplace, Order, PlantedRing, Review, Session, Zipf, exp_count};
use crate::{AttackConfig, AttackKind, SynthConfig};
use rand::Rng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;

/// What every attack needs: the marketplace to extend, the knobs, the one random stream, and
/// the popularity law that camouflage draws from.
struct Planter<'a> {
    m: &'a mut Marketplace,
    config: &'a SynthConfig,
    rng: &'a mut ChaCha8Rng,
    popular: Zipf,
    /// Honest buyers a takeover may still pick, built at the first takeover.
    victims: Option<Vec<u32>>,
}

/// Appends every planted ring of `config` to `m`, drawing members as new buyers (a takeover
/// draws them from the honest buyers).
pub fn plant(m: &mut Marketplace, config: &SynthConfig, rng: &mut ChaCha8Rng) {
    let fraud_total = (config.fraud_rate * config.accounts as f64).round() as usize;
    let shares: f64 = AttackKind::ALL
        .iter()
        .map(|k| config.attack(*k).share)
        .sum();
    let popular = Zipf::new(config.products, 1.1);
    let mut p = Planter {
        m,
        config,
        rng,
        popular,
        victims: None,
    };
    for kind in AttackKind::ALL {
        let knobs = config.attack(kind);
        let target = if shares > 0.0 {
            (fraud_total as f64 * knobs.share / shares).round() as usize
        } else {
            0
        };
        // Every attack with a share gets at least one ring, even when its budget is below
        // the minimum ring size.
        let (mut planted, mut rings) = (0, 0);
        while planted < target {
            let size = p
                .rng
                .random_range(knobs.min_size..=knobs.max_size)
                .min(target - planted)
                .max(knobs.min_size);
            planted += size;
            rings += 1;
            let id = format!("{}-{rings:04}", kind.name());
            let ring = match kind {
                AttackKind::FakeReview => fake_review(&mut p, knobs, id, size),
                AttackKind::Brushing => brushing(&mut p, knobs, id, size),
                AttackKind::DeviceFarm => device_farm(&mut p, knobs, id, size),
                AttackKind::Coordinated => coordinated(&mut p, knobs, id, size),
                AttackKind::SlowRing => slow_ring(&mut p, knobs, id, size),
                AttackKind::Takeover => takeover(&mut p, knobs, id, size),
                AttackKind::SelfDealing => self_dealing(&mut p, knobs, id, size),
                AttackKind::Sleeper => sleeper(&mut p, knobs, id, size),
            };
            // A takeover in a marketplace too small to have victims left plants nothing.
            if ring.members.len() >= 2 {
                p.m.rings.push(ring);
            }
        }
    }
}

/// A burst window of `spread` seconds (at most the event window) inside the event window.
fn window(config: &SynthConfig, spread: i64, rng: &mut ChaCha8Rng) -> (i64, i64) {
    window_after(config, config.window_start(), spread, rng)
}

/// A window of `spread` seconds (at most what is left) between `start` and the window's end.
fn window_after(config: &SynthConfig, start: i64, spread: i64, rng: &mut ChaCha8Rng) -> (i64, i64) {
    let end = config.end_time - HOUR;
    let spread = spread.min(end - start - 1);
    let t0 = rng.random_range(start..end - spread);
    (t0, t0 + spread)
}

/// Takeovers happen after the first third of the event window, so every victim has history.
fn takeover_from(config: &SynthConfig) -> i64 {
    config.window_start() + i64::from(config.days) * DAY / 3
}

/// Spacing and width of `rounds` bursts of `spread` seconds separated by `gap`, squeezed to fit
/// the event window when it is short.
fn schedule(config: &SynthConfig, rounds: usize, spread: i64, gap: i64) -> (i64, i64) {
    let room = (i64::from(config.days) * DAY - 2 * HOUR) / rounds as i64;
    let step = (spread + gap).min(room).max(2);
    (step, spread.min(step / 2).max(1))
}

/// New buyers created `age` seconds (drawn per member from `ages`) before `t0`.
fn new_members(
    m: &mut Marketplace,
    size: usize,
    t0: i64,
    ages: (i64, i64),
    rng: &mut ChaCha8Rng,
) -> Vec<u32> {
    (0..size)
        .map(|_| {
            let created = t0 - rng.random_range(ages.0..ages.1.max(ages.0 + 1));
            m.new_buyer(created, rng)
        })
        .collect()
}

/// Products of `seller` (at least one is guaranteed by picking the seller of a product).
fn seller_with_products(m: &Marketplace, rng: &mut ChaCha8Rng, count: usize) -> (u32, Vec<u32>) {
    let anchor = rng.random_range(0..m.products.len());
    let seller = m.products[anchor].0;
    let mut own: Vec<u32> = (0..m.products.len() as u32)
        .filter(|&p| m.products[p as usize].0 == seller)
        .collect();
    own.shuffle(rng);
    own.truncate(count.max(1));
    (seller, own)
}

/// A /24 subnet of `n` fresh residential IPs.
fn subnet(m: &mut Marketplace, n: usize, rng: &mut ChaCha8Rng) -> Vec<u32> {
    let prefix = m.random_residential_prefix(rng);
    let mut hosts: Vec<u8> = (2..=254).collect();
    hosts.shuffle(rng);
    hosts
        .iter()
        .filter_map(|&h| m.add_ip([prefix[0], prefix[1], prefix[2], h]))
        .take(n.max(1))
        .collect()
}

/// Honest-looking activity: orders and reviews of popular products at random times.
fn camouflage(
    m: &mut Marketplace,
    config: &SynthConfig,
    knobs: &AttackConfig,
    popular: &Zipf,
    buyer: u32,
    (device, ip): (u32, u32),
    rng: &mut ChaCha8Rng,
) {
    let start = config.window_start();
    for _ in 0..exp_count(rng, knobs.camouflage) {
        let product = popular.sample(rng) as u32;
        let time = rng.random_range(start..config.end_time - HOUR);
        let (payment, address) = m.own_payment_and_address(buyer);
        m.order(buyer, product, time, device, ip, payment, address, None);
        let time = (time + rng.random_range(HOUR..3 * DAY)).min(config.end_time - 1);
        m.reviews.push(Review {
            buyer,
            product,
            seller: m.products[product as usize].0,
            rating: m.honest_rating(rng),
            time,
        });
    }
}

/// Picks the ring's shared item with probability `sharing_rate`, else the member's own.
fn shared_or_own(rng: &mut ChaCha8Rng, rate: f64, pool: &[u32], own: u32) -> u32 {
    if !pool.is_empty() && rng.random_bool(rate) {
        pool[rng.random_range(0..pool.len())]
    } else {
        own
    }
}

fn fake_review(p: &mut Planter, knobs: &AttackConfig, id: String, size: usize) -> PlantedRing {
    let (m, config, rng, popular) = (&mut *p.m, p.config, &mut *p.rng, &p.popular);
    let (t0, t1) = window(config, knobs.time_spread_secs, rng);
    let members = new_members(m, size, t0, (7 * DAY, 120 * DAY), rng);
    let n_targets = rng.random_range(1..=3);
    let (seller, targets) = seller_with_products(m, rng, n_targets);
    let devices: Vec<u32> = (0..(size / 6).max(1)).map(|_| m.new_device()).collect();
    let ips = subnet(m, (size / 3).max(1), rng);
    for &buyer in &members {
        let (own_device, own_ip) = (m.new_device(), m.new_home_ip(rng));
        for &product in &targets {
            if !rng.random_bool(0.9) {
                continue;
            }
            let time = rng.random_range(t0..t1.max(t0 + 1));
            let (device, ip) = (
                shared_or_own(rng, knobs.sharing_rate, &devices, own_device),
                shared_or_own(rng, knobs.sharing_rate, &ips, own_ip),
            );
            let (payment, address) = m.own_payment_and_address(buyer);
            m.order(buyer, product, time, device, ip, payment, address, None);
            let rating = if rng.random_bool(knobs.off_script) {
                4
            } else {
                5
            };
            m.reviews.push(Review {
                buyer,
                product,
                seller,
                rating,
                time: (time + rng.random_range(0..2 * HOUR)).min(config.end_time - 1),
            });
            m.sessions.push(Session {
                buyer,
                device,
                ip,
                time: time - rng.random_range(60..HOUR),
            });
        }
        camouflage(m, config, knobs, popular, buyer, (own_device, own_ip), rng);
    }
    PlantedRing {
        id,
        attack: AttackKind::FakeReview,
        members,
        seller: Some(seller),
        targets,
        shared_devices: devices,
        shared_ips: ips,
        window: (t0, t1),
    }
}

fn brushing(p: &mut Planter, knobs: &AttackConfig, id: String, size: usize) -> PlantedRing {
    let (m, config, rng) = (&mut *p.m, p.config, &mut *p.rng);
    let (t0, t1) = window(config, knobs.time_spread_secs, rng);
    let members = new_members(m, size, t0, (DAY, 60 * DAY), rng);
    let (seller, targets) = seller_with_products(m, rng, 4);
    let addresses: Vec<u32> = (0..rng.random_range(1..=3))
        .map(|_| m.new_address())
        .collect();
    let payments: Vec<u32> = (0..rng.random_range(1..=2))
        .map(|_| m.new_payment())
        .collect();
    let devices: Vec<u32> = (0..rng.random_range(1..=3))
        .map(|_| m.new_device())
        .collect();
    let ips = subnet(m, 2, rng);
    for &buyer in &members {
        let (own_device, own_ip) = (m.new_device(), m.new_home_ip(rng));
        let (own_payment, own_address) = m.own_payment_and_address(buyer);
        for _ in 0..rng.random_range(3..=8) {
            let product = targets[rng.random_range(0..targets.len())];
            let time = rng.random_range(t0..t1.max(t0 + 1));
            let device = shared_or_own(rng, knobs.sharing_rate, &devices, own_device);
            let ip = shared_or_own(rng, knobs.sharing_rate, &ips, own_ip);
            let payment = shared_or_own(rng, knobs.sharing_rate, &payments, own_payment);
            let address = shared_or_own(rng, knobs.sharing_rate, &addresses, own_address);
            // Brushing orders are token amounts, whatever the list price.
            let amount = (rng.random_range(50..400) as f32) / 100.0;
            m.order(
                buyer,
                product,
                time,
                device,
                ip,
                payment,
                address,
                Some(amount),
            );
            if rng.random_bool(0.5) {
                m.reviews.push(Review {
                    buyer,
                    product,
                    seller,
                    rating: 5,
                    time: (time + rng.random_range(DAY..3 * DAY)).min(config.end_time - 1),
                });
            }
        }
    }
    PlantedRing {
        id,
        attack: AttackKind::Brushing,
        members,
        seller: Some(seller),
        targets,
        shared_devices: devices,
        shared_ips: ips,
        window: (t0, t1),
    }
}

fn device_farm(p: &mut Planter, knobs: &AttackConfig, id: String, size: usize) -> PlantedRing {
    let (m, config, rng) = (&mut *p.m, p.config, &mut *p.rng);
    let rounds = rng.random_range(3..=6);
    let (step, spread) = schedule(config, rounds, knobs.time_spread_secs, 12 * HOUR);
    let (t0, _) = window(config, rounds as i64 * step, rng);
    let members = new_members(m, size, t0, (HOUR, 7 * DAY), rng);
    let devices: Vec<u32> = (0..rng.random_range(1..=4))
        .map(|_| m.new_device())
        .collect();
    let ips = subnet(m, rng.random_range(1..=3), rng);
    let hubs = m.hub_ips.clone();
    let (_, targets) = seller_with_products(m, rng, rounds);
    let mut t1 = t0;
    for round in 0..rounds {
        let start = t0 + round as i64 * step;
        let product = targets[round % targets.len()];
        for &buyer in &members {
            if !rng.random_bool(0.9) {
                continue;
            }
            let time = start + rng.random_range(0..spread.max(1));
            t1 = t1.max(time);
            let device = devices[rng.random_range(0..devices.len())];
            // On harder settings farms hide part of their traffic behind carrier NAT.
            let ip = if !hubs.is_empty() && !rng.random_bool(knobs.sharing_rate) {
                hubs[rng.random_range(0..hubs.len())]
            } else {
                ips[rng.random_range(0..ips.len())]
            };
            m.sessions.push(Session {
                buyer,
                device,
                ip,
                time,
            });
            let (payment, address) = m.own_payment_and_address(buyer);
            m.order(
                buyer,
                product,
                (time + 60).min(config.end_time - 1),
                device,
                ip,
                payment,
                address,
                None,
            );
            let seller = m.products[product as usize].0;
            m.reviews.push(Review {
                buyer,
                product,
                seller,
                rating: 5,
                time: (time + rng.random_range(120..HOUR)).min(config.end_time - 1),
            });
        }
    }
    PlantedRing {
        id,
        attack: AttackKind::DeviceFarm,
        members,
        seller: None,
        targets,
        shared_devices: devices,
        shared_ips: ips,
        window: (t0, t1),
    }
}

fn coordinated(p: &mut Planter, knobs: &AttackConfig, id: String, size: usize) -> PlantedRing {
    let (m, config, rng, popular) = (&mut *p.m, p.config, &mut *p.rng, &p.popular);
    let n_targets = rng.random_range(3..=6);
    let (step, spread) = schedule(config, n_targets, knobs.time_spread_secs, DAY);
    let (t0, _) = window(config, n_targets as i64 * step, rng);
    // Aged accounts, bought or farmed long before use.
    let members = new_members(m, size, t0, (90 * DAY, 720 * DAY), rng);
    let mut targets: Vec<u32> = (0..n_targets)
        .map(|_| rng.random_range(0..m.products.len() as u32))
        .collect();
    targets.dedup();
    // Promote with 5 stars, or attack a competitor with 1 star.
    let rating = if rng.random_bool(0.7) { 5 } else { 1 };
    // Residential proxies: every member has its own device and IP, shared with nobody.
    let identities: Vec<(u32, u32)> = members
        .iter()
        .map(|_| (m.new_device(), m.new_home_ip(rng)))
        .collect();
    let mut t1 = t0;
    for (i, &product) in targets.iter().enumerate() {
        let start = t0 + i as i64 * step;
        for (&buyer, &(device, ip)) in members.iter().zip(&identities) {
            if !rng.random_bool(0.85) {
                continue;
            }
            let time = start + rng.random_range(0..spread.max(1));
            t1 = t1.max(time);
            let seller = m.products[product as usize].0;
            let rating = if rng.random_bool(knobs.off_script) {
                m.honest_rating(rng)
            } else {
                rating
            };
            m.reviews.push(Review {
                buyer,
                product,
                seller,
                rating,
                time,
            });
            m.sessions.push(Session {
                buyer,
                device,
                ip,
                time: time - rng.random_range(60..600),
            });
        }
    }
    for (&buyer, &(device, ip)) in members.iter().zip(&identities) {
        camouflage(m, config, knobs, popular, buyer, (device, ip), rng);
    }
    PlantedRing {
        id,
        attack: AttackKind::Coordinated,
        members,
        seller: None,
        targets,
        shared_devices: Vec::new(),
        shared_ips: Vec::new(),
        window: (t0, t1),
    }
}

/// Buys `product` at `time`, reviews it `rating` stars one to four days later, and logs the
/// session before the order: the slow families' one action.
#[allow(clippy::too_many_arguments)]
fn buy_and_review(
    m: &mut Marketplace,
    config: &SynthConfig,
    rng: &mut ChaCha8Rng,
    buyer: u32,
    product: u32,
    time: i64,
    (device, ip, payment, address): (u32, u32, u32, u32),
    rating: u8,
) {
    m.order(buyer, product, time, device, ip, payment, address, None);
    m.reviews.push(Review {
        buyer,
        product,
        seller: m.products[product as usize].0,
        rating,
        time: (time + rng.random_range(DAY..4 * DAY)).min(config.end_time - 1),
    });
    m.sessions.push(Session {
        buyer,
        device,
        ip,
        time: time - rng.random_range(60..HOUR),
    });
}

/// 5 stars, or 4 with probability `off_script`.
fn five_stars(rng: &mut ChaCha8Rng, knobs: &AttackConfig) -> u8 {
    if rng.random_bool(knobs.off_script) {
        4
    } else {
        5
    }
}

fn slow_ring(p: &mut Planter, knobs: &AttackConfig, id: String, size: usize) -> PlantedRing {
    let (m, config, rng, popular) = (&mut *p.m, p.config, &mut *p.rng, &p.popular);
    let (t0, t1) = window(config, knobs.time_spread_secs, rng);
    let members = new_members(m, size, t0, (30 * DAY, 365 * DAY), rng);
    let (seller, targets) = seller_with_products(m, rng, 6);
    // One ring in four bombs the seller with 1 star for a competitor.
    let bomb = rng.random_bool(0.25);
    for &buyer in &members {
        // Each member is its own person to the platform: own device, IP, card and address.
        let (device, ip) = (m.new_device(), m.new_home_ip(rng));
        let (payment, address) = m.own_payment_and_address(buyer);
        let mut mine = targets.clone();
        mine.shuffle(rng);
        mine.truncate(rng.random_range(2..=4));
        for product in mine {
            let time = rng.random_range(t0..t1.max(t0 + 1));
            let rating = if bomb { 1 } else { five_stars(rng, knobs) };
            let ids = (device, ip, payment, address);
            buy_and_review(m, config, rng, buyer, product, time, ids, rating);
        }
        camouflage(m, config, knobs, popular, buyer, (device, ip), rng);
    }
    PlantedRing {
        id,
        attack: AttackKind::SlowRing,
        members,
        seller: Some(seller),
        targets,
        shared_devices: Vec::new(),
        shared_ips: Vec::new(),
        window: (t0, t1),
    }
}

/// Honest buyers old enough to be worth taking over, with an order before any takeover can
/// happen, shuffled.
fn takeover_victims(m: &Marketplace, config: &SynthConfig, rng: &mut ChaCha8Rng) -> Vec<u32> {
    let history_by = takeover_from(config);
    let mut early = vec![false; m.honest_buyers];
    for o in m.orders.iter().filter(|o| o.time < history_by) {
        if (o.buyer as usize) < m.honest_buyers {
            early[o.buyer as usize] = true;
        }
    }
    let mut pool: Vec<u32> = (0..m.honest_buyers as u32)
        .filter(|&b| {
            early[b as usize] && m.buyer_created[b as usize] < config.window_start() - 180 * DAY
        })
        .collect();
    pool.shuffle(rng);
    pool
}

fn takeover(p: &mut Planter, knobs: &AttackConfig, id: String, size: usize) -> PlantedRing {
    if p.victims.is_none() {
        p.victims = Some(takeover_victims(p.m, p.config, p.rng));
    }
    let (m, config, rng) = (&mut *p.m, p.config, &mut *p.rng);
    let pool = p.victims.as_mut().expect("built above");
    let members: Vec<u32> = pool.split_off(pool.len().saturating_sub(size));
    let (t0, t1) = window_after(config, takeover_from(config), knobs.time_spread_secs, rng);
    let (seller, targets) = seller_with_products(m, rng, 3);
    let devices: Vec<u32> = (0..(size / 4).max(1)).map(|_| m.new_device()).collect();
    let ips = subnet(m, (size / 3).max(1), rng);
    for &buyer in &members {
        // The attacker's identity for this account: never the owner's device or IP.
        let (own_device, own_ip) = (m.new_device(), m.new_home_ip(rng));
        let (payment, address) = m.own_payment_and_address(buyer);
        for _ in 0..rng.random_range(2..=4) {
            let product = targets[rng.random_range(0..targets.len())];
            let time = rng.random_range(t0..t1.max(t0 + 1));
            let device = shared_or_own(rng, knobs.sharing_rate, &devices, own_device);
            let ip = shared_or_own(rng, knobs.sharing_rate, &ips, own_ip);
            let rating = five_stars(rng, knobs);
            let ids = (device, ip, payment, address);
            buy_and_review(m, config, rng, buyer, product, time, ids, rating);
        }
    }
    PlantedRing {
        id,
        attack: AttackKind::Takeover,
        members,
        seller: Some(seller),
        targets,
        shared_devices: devices,
        shared_ips: ips,
        window: (t0, t1),
    }
}

fn self_dealing(p: &mut Planter, knobs: &AttackConfig, id: String, size: usize) -> PlantedRing {
    let (m, config, rng, popular) = (&mut *p.m, p.config, &mut *p.rng, &p.popular);
    let (t0, t1) = window(config, knobs.time_spread_secs, rng);
    let members = new_members(m, size, t0, (30 * DAY, 365 * DAY), rng);
    let (seller, targets) = seller_with_products(m, rng, 5);
    // The seller's own office: a device or two, two IPs, one or two cards, one address.
    let devices: Vec<u32> = (0..rng.random_range(1..=2))
        .map(|_| m.new_device())
        .collect();
    let ips = subnet(m, 2, rng);
    let payments: Vec<u32> = (0..rng.random_range(1..=2))
        .map(|_| m.new_payment())
        .collect();
    let addresses = vec![m.new_address()];
    for &buyer in &members {
        let (own_device, own_ip) = (m.new_device(), m.new_home_ip(rng));
        let (own_payment, own_address) = m.own_payment_and_address(buyer);
        for _ in 0..rng.random_range(2..=5) {
            let product = targets[rng.random_range(0..targets.len())];
            let time = rng.random_range(t0..t1.max(t0 + 1));
            let rate = knobs.sharing_rate;
            let ids = (
                shared_or_own(rng, rate, &devices, own_device),
                shared_or_own(rng, rate, &ips, own_ip),
                shared_or_own(rng, rate, &payments, own_payment),
                shared_or_own(rng, rate, &addresses, own_address),
            );
            let rating = five_stars(rng, knobs);
            buy_and_review(m, config, rng, buyer, product, time, ids, rating);
        }
        camouflage(m, config, knobs, popular, buyer, (own_device, own_ip), rng);
    }
    PlantedRing {
        id,
        attack: AttackKind::SelfDealing,
        members,
        seller: Some(seller),
        targets,
        shared_devices: devices,
        shared_ips: ips,
        window: (t0, t1),
    }
}

fn sleeper(p: &mut Planter, knobs: &AttackConfig, id: String, size: usize) -> PlantedRing {
    let (m, config, rng, popular) = (&mut *p.m, p.config, &mut *p.rng, &p.popular);
    let (t0, t1) = window(config, knobs.time_spread_secs, rng);
    // Registered in one batch months before, within 1/84 of the spread (2 h easy, 6 h medium,
    // 8 h hard).
    let born = t0 - rng.random_range(60 * DAY..300 * DAY);
    let batch = (knobs.time_spread_secs / 84).max(HOUR);
    let members: Vec<u32> = (0..size)
        .map(|_| m.new_buyer(born + rng.random_range(0..batch), rng))
        .collect();
    let (seller, targets) = seller_with_products(m, rng, 4);
    for &buyer in &members {
        let (device, ip) = (m.new_device(), m.new_home_ip(rng));
        let (payment, address) = m.own_payment_and_address(buyer);
        for _ in 0..rng.random_range(1..=2) {
            let product = targets[rng.random_range(0..targets.len())];
            let time = rng.random_range(t0..t1.max(t0 + 1));
            let rating = five_stars(rng, knobs);
            let ids = (device, ip, payment, address);
            buy_and_review(m, config, rng, buyer, product, time, ids, rating);
        }
        camouflage(m, config, knobs, popular, buyer, (device, ip), rng);
    }
    PlantedRing {
        id,
        attack: AttackKind::Sleeper,
        members,
        seller: Some(seller),
        targets,
        shared_devices: Vec::new(),
        shared_ips: Vec::new(),
        window: (t0, t1),
    }
}

impl Marketplace {
    /// Records an order at the product's price (or `amount`) with the given identifiers.
    #[allow(clippy::too_many_arguments)]
    fn order(
        &mut self,
        buyer: u32,
        product: u32,
        time: i64,
        device: u32,
        ip: u32,
        payment: u32,
        address: u32,
        amount: Option<f32>,
    ) {
        let (seller, _, price) = self.products[product as usize];
        self.orders.push(Order {
            buyer,
            product,
            seller,
            amount: amount.unwrap_or(price),
            time,
            device,
            ip,
            payment,
            address,
        });
    }
}
