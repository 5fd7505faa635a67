//! The honest background population, and the identifier model shared with planted attacks.

use crate::{AttackKind, SynthConfig};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::HashSet;

const DAY: i64 = 86_400;
/// Accounts are created over the three years before the window ends.
const ACCOUNT_HORIZON: i64 = 3 * 365 * DAY;
const COUNTRIES: [(&str, f64); 6] = [
    ("DE", 0.35),
    ("FR", 0.2),
    ("PL", 0.15),
    ("ES", 0.12),
    ("IT", 0.1),
    ("NL", 0.08),
];
const CATEGORIES: [&str; 8] = [
    "electronics",
    "home",
    "fashion",
    "beauty",
    "toys",
    "sports",
    "books",
    "garden",
];
/// Honest star ratings lean positive (shares of 1..=5 stars).
const RATING_SHARES: [f64; 5] = [0.06, 0.05, 0.1, 0.24, 0.55];
/// First octets of the residential ISP ranges homes (and ring subnets, and proxies) live in.
const ISP_OCTETS: [u8; 8] = [31, 46, 79, 81, 84, 88, 93, 95];

/// One planted ring: the ground truth for ring-level evaluation.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct PlantedRing {
    /// `<attack>-<nnnn>`, as written to `labels.ring_id`.
    pub id: String,
    /// What the ring does.
    pub attack: AttackKind,
    /// Member buyer indices.
    pub members: Vec<u32>,
    /// The colluding seller (fake reviews, brushing), if any.
    pub seller: Option<u32>,
    /// Products the ring pushes.
    pub targets: Vec<u32>,
    /// Devices the ring shares (empty for coordinated accounts, which share none).
    pub shared_devices: Vec<u32>,
    /// IPs the ring shares.
    pub shared_ips: Vec<u32>,
    /// Start and end of the ring's coordinated activity, unix seconds.
    pub window: (i64, i64),
}

/// A generated marketplace as typed columns. Indices are rendered to IDs on write.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Marketplace {
    /// Per buyer: creation time. Honest buyers come first, then ring members.
    pub buyer_created: Vec<i64>,
    /// Per buyer: country index.
    pub buyer_country: Vec<u8>,
    /// Per buyer: own payment instrument.
    pub buyer_payment: Vec<u32>,
    /// Per buyer: own shipping address.
    pub buyer_address: Vec<u32>,
    /// Buyers `0..honest_buyers` were created honest; takeover rings turn some of them, so
    /// [`Marketplace::ring_of_buyer`] is the truth per buyer.
    pub honest_buyers: usize,
    /// Seller accounts' creation times.
    pub seller_created: Vec<i64>,
    /// Per product: seller, category index, price.
    pub products: Vec<(u32, u8, f32)>,
    /// Orders (in generation order; written sorted by time).
    pub orders: Vec<Order>,
    /// Reviews.
    pub reviews: Vec<Review>,
    /// Sessions.
    pub sessions: Vec<Session>,
    /// Every IP address by index; all distinct.
    pub ips: Vec<[u8; 4]>,
    /// Indices of hub IPs (carrier NAT), shared by many honest buyers.
    pub hub_ips: Vec<u32>,
    /// Devices allocated so far.
    pub devices: u32,
    /// Payment instruments allocated so far.
    pub payments: u32,
    /// Shipping addresses allocated so far.
    pub addresses: u32,
    /// Planted rings, the ground truth.
    pub rings: Vec<PlantedRing>,
    /// The seed it was generated from (IDs are derived from it on write).
    pub seed: u64,
    used_ips: HashSet<[u8; 4]>,
}

/// One order row.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Order {
    /// Buyer index.
    pub buyer: u32,
    /// Product index.
    pub product: u32,
    /// Seller index.
    pub seller: u32,
    /// Amount paid.
    pub amount: f32,
    /// Unix seconds.
    pub time: i64,
    /// Device index.
    pub device: u32,
    /// IP index.
    pub ip: u32,
    /// Payment instrument index.
    pub payment: u32,
    /// Address index.
    pub address: u32,
}

/// One review row.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Review {
    /// Reviewer (buyer index).
    pub buyer: u32,
    /// Product index.
    pub product: u32,
    /// Seller index.
    pub seller: u32,
    /// 1..=5 stars.
    pub rating: u8,
    /// Unix seconds.
    pub time: i64,
}

/// One session row.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Session {
    /// Buyer index.
    pub buyer: u32,
    /// Device index.
    pub device: u32,
    /// IP index.
    pub ip: u32,
    /// Unix seconds.
    pub time: i64,
}

impl Marketplace {
    /// Country code of an index in [`Marketplace::buyer_country`].
    pub fn country_name(i: u8) -> &'static str {
        COUNTRIES[i as usize].0
    }

    /// Category name of a product's category index.
    pub fn category_name(i: u8) -> &'static str {
        CATEGORIES[i as usize]
    }

    /// The ring each buyer belongs to (`None` for honest buyers).
    pub fn ring_of_buyer(&self) -> Vec<Option<usize>> {
        let mut of = vec![None; self.buyer_created.len()];
        for (r, ring) in self.rings.iter().enumerate() {
            for &b in &ring.members {
                of[b as usize] = Some(r);
            }
        }
        of
    }

    /// Adds a buyer with its own card and address.
    pub(crate) fn new_buyer(&mut self, created: i64, rng: &mut ChaCha8Rng) -> u32 {
        let country_shares: Vec<f64> = COUNTRIES.iter().map(|c| c.1).collect();
        let (payment, address) = (self.new_payment(), self.new_address());
        self.push_buyer(
            created,
            pick_weighted(rng, &country_shares) as u8,
            payment,
            address,
        )
    }

    fn push_buyer(&mut self, created: i64, country: u8, payment: u32, address: u32) -> u32 {
        self.buyer_created.push(created);
        self.buyer_country.push(country);
        self.buyer_payment.push(payment);
        self.buyer_address.push(address);
        self.buyer_created.len() as u32 - 1
    }

    pub(crate) fn own_payment_and_address(&self, buyer: u32) -> (u32, u32) {
        (
            self.buyer_payment[buyer as usize],
            self.buyer_address[buyer as usize],
        )
    }

    pub(crate) fn new_device(&mut self) -> u32 {
        self.devices += 1;
        self.devices - 1
    }

    pub(crate) fn new_payment(&mut self) -> u32 {
        self.payments += 1;
        self.payments - 1
    }

    pub(crate) fn new_address(&mut self) -> u32 {
        self.addresses += 1;
        self.addresses - 1
    }

    /// Registers `ip`; `None` if it is already taken.
    pub(crate) fn add_ip(&mut self, ip: [u8; 4]) -> Option<u32> {
        self.used_ips.insert(ip).then(|| {
            self.ips.push(ip);
            self.ips.len() as u32 - 1
        })
    }

    /// The first three octets of a random residential /24.
    pub(crate) fn random_residential_prefix(&self, rng: &mut ChaCha8Rng) -> [u8; 3] {
        [
            ISP_OCTETS[rng.random_range(0..ISP_OCTETS.len())],
            rng.random(),
            rng.random(),
        ]
    }

    /// A fresh residential IP no one else uses.
    pub(crate) fn new_home_ip(&mut self, rng: &mut ChaCha8Rng) -> u32 {
        loop {
            let [a, b, c] = self.random_residential_prefix(rng);
            if let Some(ip) = self.add_ip([a, b, c, rng.random_range(1..=254)]) {
                return ip;
            }
        }
    }

    pub(crate) fn honest_rating(&self, rng: &mut ChaCha8Rng) -> u8 {
        1 + pick_weighted(rng, &RATING_SHARES) as u8
    }
}

/// Samples ranks `0..n` with probability ∝ `1 / (rank + 1)^exponent` (a Zipf law).
pub(crate) struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    pub(crate) fn new(n: usize, exponent: f64) -> Self {
        let mut acc = 0.0;
        let cdf = (0..n)
            .map(|r| {
                acc += 1.0 / ((r + 1) as f64).powf(exponent);
                acc
            })
            .collect();
        Zipf { cdf }
    }

    pub(crate) fn sample(&self, rng: &mut impl Rng) -> usize {
        let u = rng.random::<f64>() * self.cdf.last().copied().unwrap_or(0.0);
        self.cdf.partition_point(|&c| c < u).min(self.cdf.len() - 1)
    }
}

pub(crate) fn pick_weighted(rng: &mut impl Rng, shares: &[f64]) -> usize {
    let mut u = rng.random::<f64>() * shares.iter().sum::<f64>();
    for (i, s) in shares.iter().enumerate() {
        if u < *s {
            return i;
        }
        u -= s;
    }
    shares.len() - 1
}

/// Exponential with the given mean, floored: most draws are small, a few large.
pub(crate) fn exp_count(rng: &mut impl Rng, mean: f64) -> usize {
    (-mean * (1.0 - rng.random::<f64>()).ln()).floor() as usize
}

/// Per-buyer identifiers of the honest background.
struct Identity {
    phone: u32,
    shared_device: Option<u32>,
    home_ip: u32,
    hub_ip: Option<u32>,
}

/// The honest background of `config`, and the random stream, which planting continues so one
/// seed gives one marketplace.
pub(crate) fn honest(config: &SynthConfig) -> (Marketplace, ChaCha8Rng) {
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let end = config.end_time;
    let start = config.window_start();
    let fraud = (config.fraud_rate * config.accounts as f64).round() as usize;
    let honest = config.accounts.saturating_sub(fraud);
    let mut m = Marketplace {
        seed: config.seed,
        ..Marketplace::default()
    };

    // Sellers and products: a few sellers list many products; product popularity is Zipf.
    m.seller_created = (0..config.sellers)
        .map(|_| end - ACCOUNT_HORIZON + rng.random_range(0..ACCOUNT_HORIZON / 2))
        .collect();
    let seller_zipf = Zipf::new(config.sellers, 1.0);
    m.products = (0..config.products)
        .map(|_| {
            let seller = seller_zipf.sample(&mut rng) as u32;
            let category = rng.random_range(0..CATEGORIES.len()) as u8;
            let price = (25.0 * (rng.random::<f64>() * 2.5 - 1.0).exp()).max(1.0) as f32;
            (seller, category, (price * 100.0).round() / 100.0)
        })
        .collect();
    let product_zipf = Zipf::new(config.products, 1.1);

    // Hub IPs (carrier NAT) in the shared address space; a Zipf law makes a few huge.
    for h in 0..config.hub_ips as u32 {
        let ip = m
            .add_ip([100, 64 + (h >> 16) as u8 % 64, (h >> 8) as u8, h as u8])
            .expect("hub IPs are distinct");
        m.hub_ips.push(ip);
    }
    let hub_zipf = Zipf::new(config.hub_ips.max(1), 0.8);

    // Households of 1..=5 share an address and a home IP, often a device, sometimes a card.
    // Accounts are created over time, more of them recently.
    let mut identities = Vec::with_capacity(honest);
    let country_shares: Vec<f64> = COUNTRIES.iter().map(|c| c.1).collect();
    while identities.len() < honest {
        let size = 1 + pick_weighted(&mut rng, &[0.55, 0.25, 0.12, 0.06, 0.02]);
        let shared_device = (size > 1 && rng.random_bool(0.6)).then(|| m.new_device());
        let shared_card = (size > 1 && rng.random_bool(0.2)).then(|| m.new_payment());
        let (home_ip, address) = (m.new_home_ip(&mut rng), m.new_address());
        for _ in 0..size.min(honest - identities.len()) {
            // At least a minute before the window ends, so the account has time to act.
            let created =
                end - 60 - (ACCOUNT_HORIZON as f64 * rng.random::<f64>().powf(1.5)) as i64;
            let country = pick_weighted(&mut rng, &country_shares) as u8;
            let payment = shared_card.unwrap_or_else(|| m.new_payment());
            m.push_buyer(created, country, payment, address);
            let hub_ip = (!m.hub_ips.is_empty() && rng.random_bool(config.hub_share))
                .then(|| m.hub_ips[hub_zipf.sample(&mut rng)]);
            identities.push(Identity {
                phone: m.new_device(),
                shared_device,
                home_ip,
                hub_ip,
            });
        }
    }
    m.honest_buyers = honest;

    let device_of = |rng: &mut ChaCha8Rng, id: &Identity| match id.shared_device {
        Some(d) if rng.random_bool(0.3) => d,
        _ => id.phone,
    };
    let ip_of = |rng: &mut ChaCha8Rng, id: &Identity| match id.hub_ip {
        Some(h) if rng.random_bool(0.4) => h,
        _ => id.home_ip,
    };
    let honest_purchase = |m: &mut Marketplace,
                           rng: &mut ChaCha8Rng,
                           buyer: usize,
                           product: u32,
                           time: i64,
                           review_within: i64,
                           review_rate: f64| {
        let id = &identities[buyer];
        let (seller, _, price) = m.products[product as usize];
        let quantity = 1 + pick_weighted(rng, &[0.8, 0.15, 0.05]);
        let amount = ((price * quantity as f32) * 100.0).round() / 100.0;
        let (device, ip) = (device_of(rng, id), ip_of(rng, id));
        let (payment, address) = m.own_payment_and_address(buyer as u32);
        m.orders.push(Order {
            buyer: buyer as u32,
            product,
            seller,
            amount,
            time,
            device,
            ip,
            payment,
            address,
        });
        if rng.random_bool(review_rate) {
            let delay = (exp_count(rng, review_within as f64) as i64).min(review_within * 4);
            let rating = m.honest_rating(rng);
            m.reviews.push(Review {
                buyer: buyer as u32,
                product,
                seller,
                rating,
                time: (time + delay).min(end - 1),
            });
        }
    };
    for (buyer, id) in identities.iter().enumerate() {
        let active_from = m.buyer_created[buyer].max(start);
        for _ in 0..exp_count(&mut rng, config.orders_per_account) {
            let product = product_zipf.sample(&mut rng) as u32;
            let time = rng.random_range(active_from..end);
            honest_purchase(
                &mut m,
                &mut rng,
                buyer,
                product,
                time,
                3 * DAY,
                config.review_rate,
            );
        }
        for _ in 0..exp_count(&mut rng, config.sessions_per_account) {
            let time = rng.random_range(active_from..end);
            let (device, ip) = (device_of(&mut rng, id), ip_of(&mut rng, id));
            m.sessions.push(Session {
                buyer: buyer as u32,
                device,
                ip,
                time,
            });
        }
    }

    // Viral products: honest buyers pile onto one product within a few hours, all 4-5 stars.
    for v in 0..config.viral_products {
        let product = (v * config.products / config.viral_products.max(1)) as u32;
        let burst_start = rng.random_range(start..(end - DAY).max(start + 1));
        let before = m.reviews.len();
        for _ in 0..config.viral_burst_size.min(honest) {
            let buyer = rng.random_range(0..honest);
            let time = burst_start + rng.random_range(0..6 * 3600);
            honest_purchase(&mut m, &mut rng, buyer, product, time, 600, 1.0);
        }
        m.reviews[before..]
            .iter_mut()
            .for_each(|r| r.rating = r.rating.max(4));
    }

    (m, rng)
}
