//! The honest background population.

use crate::SynthConfig;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

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

/// A generated marketplace as typed columns; IDs are indices rendered to strings on write.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Marketplace {
    /// Buyer accounts' creation times (index = buyer number).
    pub buyer_created: Vec<i64>,
    /// Buyer accounts' country index into the country list.
    pub buyer_country: Vec<u8>,
    /// Seller accounts' creation times.
    pub seller_created: Vec<i64>,
    /// Per product: seller, category index, price.
    pub products: Vec<(u32, u8, f32)>,
    /// Orders in time order within each buyer.
    pub orders: Vec<Order>,
    /// Reviews.
    pub reviews: Vec<Review>,
    /// Sessions.
    pub sessions: Vec<Session>,
    /// Home IPs per household, then hub IPs: `ip < home_ips` is a home IP.
    pub home_ips: u32,
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
}

/// Samples ranks `0..n` with probability ∝ `1 / (rank + 1)^exponent` (a Zipf law).
struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    fn new(n: usize, exponent: f64) -> Self {
        let mut acc = 0.0;
        let cdf = (0..n)
            .map(|r| {
                acc += 1.0 / ((r + 1) as f64).powf(exponent);
                acc
            })
            .collect();
        Zipf { cdf }
    }

    fn sample(&self, rng: &mut impl Rng) -> usize {
        let u = rng.random::<f64>() * self.cdf.last().copied().unwrap_or(0.0);
        self.cdf.partition_point(|&c| c < u).min(self.cdf.len() - 1)
    }
}

fn pick_weighted(rng: &mut impl Rng, shares: &[f64]) -> usize {
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
fn exp_count(rng: &mut impl Rng, mean: f64) -> usize {
    (-mean * (1.0 - rng.random::<f64>()).ln()).floor() as usize
}

/// Per-buyer identifiers: devices, IPs, payment, address.
struct Identity {
    phone: u32,
    shared_device: Option<u32>,
    home_ip: u32,
    hub_ip: Option<u32>,
    payment: u32,
    address: u32,
}

/// Generates the honest background marketplace of `config`.
pub fn generate(config: &SynthConfig) -> Marketplace {
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let end = config.end_time;
    let start = end - i64::from(config.days) * DAY;

    // Sellers and products: a few sellers list many products; product popularity is Zipf.
    let seller_created = (0..config.sellers)
        .map(|_| end - ACCOUNT_HORIZON + rng.random_range(0..ACCOUNT_HORIZON / 2))
        .collect();
    let seller_zipf = Zipf::new(config.sellers, 1.0);
    let products = (0..config.products)
        .map(|_| {
            let seller = seller_zipf.sample(&mut rng) as u32;
            let category = rng.random_range(0..CATEGORIES.len()) as u8;
            let price = (25.0 * (rng.random::<f64>() * 2.5 - 1.0).exp()).max(1.0) as f32;
            (seller, category, (price * 100.0).round() / 100.0)
        })
        .collect();
    let product_zipf = Zipf::new(config.products, 1.1);

    // Accounts are created over time, more of them recently.
    let buyer_created = (0..config.accounts)
        .map(|_| end - (ACCOUNT_HORIZON as f64 * rng.random::<f64>().powf(1.5)) as i64)
        .collect();
    let country_shares: Vec<f64> = COUNTRIES.iter().map(|c| c.1).collect();
    let buyer_country = (0..config.accounts)
        .map(|_| pick_weighted(&mut rng, &country_shares) as u8)
        .collect();
    let mut m = Marketplace {
        buyer_created,
        buyer_country,
        seller_created,
        products,
        ..Marketplace::default()
    };

    // Households of 1..=5 share an address, a home IP, often a device and sometimes a card.
    let mut identities = Vec::with_capacity(config.accounts);
    let (mut devices, mut payments, mut households) = (0u32, 0u32, 0u32);
    while identities.len() < config.accounts {
        let size = 1 + pick_weighted(&mut rng, &[0.55, 0.25, 0.12, 0.06, 0.02]);
        let shared_device = (size > 1 && rng.random_bool(0.6)).then(|| {
            devices += 1;
            devices - 1
        });
        let shared_card = (size > 1 && rng.random_bool(0.2)).then(|| {
            payments += 1;
            payments - 1
        });
        for _ in 0..size.min(config.accounts - identities.len()) {
            let phone = devices;
            devices += 1;
            let payment = shared_card.unwrap_or_else(|| {
                payments += 1;
                payments - 1
            });
            identities.push(Identity {
                phone,
                shared_device,
                home_ip: households,
                hub_ip: None,
                payment,
                address: households,
            });
        }
        households += 1;
    }
    // Hub IPs (carrier NAT, offices) are numbered after the home IPs; a Zipf law makes a few huge.
    m.home_ips = households;
    let hub_zipf = Zipf::new(config.hub_ips.max(1), 0.8);
    for id in identities.iter_mut() {
        if config.hub_ips > 0 && rng.random_bool(config.hub_share) {
            id.hub_ip = Some(households + hub_zipf.sample(&mut rng) as u32);
        }
    }

    let device_of = |rng: &mut ChaCha8Rng, id: &Identity| match id.shared_device {
        Some(d) if rng.random_bool(0.3) => d,
        _ => id.phone,
    };
    let ip_of = |rng: &mut ChaCha8Rng, id: &Identity| match id.hub_ip {
        Some(h) if rng.random_bool(0.4) => h,
        _ => id.home_ip,
    };
    for (buyer, id) in identities.iter().enumerate() {
        let active_from = m.buyer_created[buyer].max(start);
        for _ in 0..exp_count(&mut rng, config.orders_per_account) {
            let product = product_zipf.sample(&mut rng) as u32;
            let time = rng.random_range(active_from..end);
            let (order, review) = purchase(
                &mut rng,
                &m.products,
                buyer as u32,
                product,
                time,
                end,
                config.review_rate,
            );
            m.orders.push(Order {
                device: device_of(&mut rng, id),
                ip: ip_of(&mut rng, id),
                payment: id.payment,
                address: id.address,
                ..order
            });
            m.reviews.extend(review);
        }
        for _ in 0..exp_count(&mut rng, config.sessions_per_account) {
            let time = rng.random_range(active_from..end);
            m.sessions.push(Session {
                buyer: buyer as u32,
                device: device_of(&mut rng, id),
                ip: ip_of(&mut rng, id),
                time,
            });
        }
    }

    // Viral products: honest buyers pile onto one product within a few hours.
    for v in 0..config.viral_products {
        let product = (v * config.products / config.viral_products.max(1)) as u32;
        let burst_start = rng.random_range(start..end - DAY);
        for _ in 0..config.viral_burst_size {
            let buyer = rng.random_range(0..config.accounts);
            let id = &identities[buyer];
            let time = burst_start + rng.random_range(0..6 * 3600);
            let (order, review) = purchase(
                &mut rng,
                &m.products,
                buyer as u32,
                product,
                time,
                time + 3600,
                1.0,
            );
            m.orders.push(Order {
                device: device_of(&mut rng, id),
                ip: ip_of(&mut rng, id),
                payment: id.payment,
                address: id.address,
                ..order
            });
            if let Some(mut r) = review {
                r.rating = r.rating.max(4);
                m.reviews.push(r);
            }
        }
    }
    m
}

/// An order (identifiers left for the caller) and, with probability `review_rate`, its review.
fn purchase(
    rng: &mut ChaCha8Rng,
    products: &[(u32, u8, f32)],
    buyer: u32,
    product: u32,
    time: i64,
    end: i64,
    review_rate: f64,
) -> (Order, Option<Review>) {
    let (seller, _, price) = products[product as usize];
    let quantity = 1 + pick_weighted(rng, &[0.8, 0.15, 0.05]);
    let amount = ((price * quantity as f32) * 100.0).round() / 100.0;
    let order = Order {
        buyer,
        product,
        seller,
        amount,
        time,
        device: 0,
        ip: 0,
        payment: 0,
        address: 0,
    };
    let review = rng.random_bool(review_rate).then(|| {
        let delay = exp_count(rng, 3.0 * DAY as f64) as i64;
        Review {
            buyer,
            product,
            seller,
            rating: 1 + pick_weighted(rng, &RATING_SHARES) as u8,
            time: (time + delay).min(end - 1),
        }
    });
    (order, review)
}
