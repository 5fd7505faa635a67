//! Generates marketplace event tables in the input contract: an honest background realistic
//! enough to defeat naive rules (heavy-tailed popularity, households sharing devices and IPs,
//! carrier-NAT hub IPs, accounts created over time, viral review bursts) with planted collusion
//! rings whose ground truth goes to `labels` and `_rings.json`.
//!
//! The same [`SynthConfig`] (seed included) always gives byte-identical files.
//!
//! ```
//! use ringscope_synth::{AttackKind, Difficulty, SynthConfig, generate};
//! let config = SynthConfig { fraud_rate: 0.05, ..SynthConfig::for_accounts(1_000, 7) }
//!     .with_difficulty(Difficulty::Hard);
//! let market = generate(&config);
//! let planted = market.buyer_created.len() - market.honest_buyers;
//! assert!(planted >= 40, "about 5% of 1,000 buyers are in rings: {planted}");
//! assert!(AttackKind::CLASSIC.iter().all(|k| market.rings.iter().any(|r| r.attack == *k)));
//! // The other families are planted on request, each with its preset per difficulty.
//! let every = generate(&config.with_families(&AttackKind::ALL));
//! assert!(AttackKind::ALL.iter().all(|k| every.rings.iter().any(|r| r.attack == *k)));
//! ```
#![warn(missing_docs)]

mod attacks;
mod background;
mod write;

pub use background::{Marketplace, Order, PlantedRing, Review, Session};
pub use write::{OutputFormat, write_tables};

/// Generates the marketplace of `config`: the honest background, then the planted rings.
pub fn generate(config: &SynthConfig) -> Marketplace {
    let (mut m, mut rng) = background::honest(config);
    attacks::plant(&mut m, config, &mut rng);
    m
}

/// The kinds of planted collusion.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum AttackKind {
    /// 5–50 accounts on a small pool of devices or one IP subnet post bursts of 5-star reviews
    /// on a colluding seller's products, camouflaged by ordinary reviews of popular products.
    FakeReview = 0,
    /// Seller-controlled buyers place token orders to that seller, shipping to few addresses and
    /// paying with few instruments.
    Brushing = 1,
    /// Many fresh accounts on very few devices acting in lockstep windows.
    DeviceFarm = 2,
    /// Accounts sharing no device or IP (residential proxies), linked only by synchronised
    /// reviews of the same targets.
    Coordinated = 3,
    /// Accounts sharing no device, IP, card or address that buy and review one seller's
    /// products (or bomb a competitor's) spread over weeks: no burst, no shared identifier.
    SlowRing = 4,
    /// Old honest accounts taken over: from one day on they act from the attacker's new
    /// devices and IPs and review one seller's products they never bought from before.
    Takeover = 5,
    /// A seller's own accounts buying its products at full price and reviewing them over
    /// weeks, paying and shipping through the seller's few cards and addresses.
    SelfDealing = 6,
    /// Accounts registered in one batch that lie dormant for months, then each buys and
    /// reviews the seller once or twice on different days from its own device: what ties
    /// them is only when they were created and whom they favour.
    Sleeper = 7,
}

impl AttackKind {
    /// Every kind.
    pub const ALL: [AttackKind; 8] = [
        AttackKind::FakeReview,
        AttackKind::Brushing,
        AttackKind::DeviceFarm,
        AttackKind::Coordinated,
        AttackKind::SlowRing,
        AttackKind::Takeover,
        AttackKind::SelfDealing,
        AttackKind::Sleeper,
    ];

    /// The kinds planted by default. The others come with [`SynthConfig::with_families`], so
    /// the embedded sample and the marketplaces the shipped checkpoint was built on keep
    /// meaning what they meant.
    pub const CLASSIC: [AttackKind; 4] = [
        AttackKind::FakeReview,
        AttackKind::Brushing,
        AttackKind::DeviceFarm,
        AttackKind::Coordinated,
    ];

    /// Snake-case name, the prefix of ring IDs.
    pub fn name(self) -> &'static str {
        match self {
            AttackKind::FakeReview => "fake_review",
            AttackKind::Brushing => "brushing",
            AttackKind::DeviceFarm => "device_farm",
            AttackKind::Coordinated => "coordinated",
            AttackKind::SlowRing => "slow_ring",
            AttackKind::Takeover => "takeover",
            AttackKind::SelfDealing => "self_dealing",
            AttackKind::Sleeper => "sleeper",
        }
    }

    /// The kind named `name` ([`AttackKind::name`]).
    pub fn from_name(name: &str) -> Option<Self> {
        AttackKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// How hard the planted rings are to tell from the background.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Difficulty {
    /// Tight bursts, full sharing, no camouflage.
    Easy,
    /// Looser bursts, partial sharing, some camouflage.
    #[default]
    Medium,
    /// Smaller rings spread over days, little sharing, heavy camouflage, off-script ratings.
    Hard,
}

/// Knobs of one attack kind.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttackConfig {
    /// Relative share of the fraudulent accounts that this attack gets.
    pub share: f64,
    /// Smallest ring.
    pub min_size: usize,
    /// Largest ring.
    pub max_size: usize,
    /// Probability that an action uses the ring's shared pool (devices, IPs, cards, addresses)
    /// rather than the member's own.
    pub sharing_rate: f64,
    /// Width of each coordinated burst, seconds.
    pub time_spread_secs: i64,
    /// Mean honest-looking camouflage orders+reviews per member.
    pub camouflage: f64,
    /// Probability that a ring action departs from the script (a 4-star instead of 5, a
    /// background-like rating).
    pub off_script: f64,
}

impl AttackConfig {
    /// The preset of `kind` at `difficulty`.
    pub fn preset(kind: AttackKind, difficulty: Difficulty) -> Self {
        use AttackKind::*;
        use Difficulty::*;
        let (min_size, max_size) = match (kind, difficulty) {
            (FakeReview, Hard) => (5, 15),
            (FakeReview, _) => (5, 50),
            (Brushing, Hard) => (4, 10),
            (Brushing, _) => (5, 30),
            (DeviceFarm, Hard) => (10, 30),
            (DeviceFarm, _) => (20, 100),
            (Coordinated, Hard) => (6, 15),
            (Coordinated, _) => (10, 40),
            (SlowRing, Hard) => (6, 12),
            (SlowRing, _) => (8, 25),
            (Takeover, Hard) => (5, 10),
            (Takeover, _) => (6, 20),
            (SelfDealing, Hard) => (4, 8),
            (SelfDealing, _) => (5, 15),
            (Sleeper, Hard) => (6, 12),
            (Sleeper, _) => (8, 25),
        };
        let spread_hours = match (kind, difficulty) {
            (FakeReview, Easy) => 2,
            (FakeReview, Medium) => 12,
            (FakeReview, Hard) => 72,
            (Brushing, Easy) => 72,
            (Brushing, Medium) => 168,
            (Brushing, Hard) => 336,
            (DeviceFarm, Easy) => 1,
            (DeviceFarm, Medium) => 2,
            (DeviceFarm, Hard) => 8,
            (Coordinated, Easy) => 1,
            (Coordinated, Medium) => 6,
            (Coordinated, Hard) => 48,
            // The slow families spread their actions over weeks (the window is 30 days).
            (SlowRing | SelfDealing | Sleeper, Easy) => 7 * 24,
            (SlowRing | SelfDealing | Sleeper, Medium) => 21 * 24,
            (SlowRing | SelfDealing | Sleeper, Hard) => 28 * 24,
            (Takeover, Easy) => 24,
            (Takeover, Medium) => 72,
            (Takeover, Hard) => 7 * 24,
        };
        let (sharing_rate, camouflage, off_script) = match difficulty {
            Easy => (0.95, 0.0, 0.0),
            Medium => (0.7, 3.0, 0.1),
            Hard => (0.4, 10.0, 0.3),
        };
        // Slow rings and sleepers share nothing by definition.
        let sharing_rate = match kind {
            SlowRing | Sleeper => 0.0,
            _ => sharing_rate,
        };
        AttackConfig {
            share: match kind {
                FakeReview => 0.35,
                Brushing => 0.2,
                DeviceFarm => 0.25,
                Coordinated => 0.2,
                SlowRing | Takeover | SelfDealing | Sleeper => 0.2,
            },
            min_size,
            max_size,
            sharing_rate,
            time_spread_secs: spread_hours * 3600,
            camouflage,
            off_script,
        }
    }

    fn validate(&self, kind: AttackKind) -> Result<(), String> {
        let name = kind.name();
        if self.share < 0.0 || !self.share.is_finite() {
            return Err(format!("{name}.share must be >= 0"));
        }
        if self.min_size < 2 || self.min_size > self.max_size {
            return Err(format!("{name}: need 2 <= min_size <= max_size"));
        }
        for (knob, p) in [
            ("sharing_rate", self.sharing_rate),
            ("off_script", self.off_script),
        ] {
            if !(0.0..=1.0).contains(&p) {
                return Err(format!("{name}.{knob} must be within 0..=1, got {p}"));
            }
        }
        if self.time_spread_secs <= 0 || self.camouflage < 0.0 {
            return Err(format!(
                "{name}: time_spread_secs must be > 0 and camouflage >= 0"
            ));
        }
        Ok(())
    }
}

/// Knobs of the generated marketplace.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SynthConfig {
    /// Seed of every random choice.
    pub seed: u64,
    /// Buyer accounts.
    pub accounts: usize,
    /// Seller accounts.
    pub sellers: usize,
    /// Products.
    pub products: usize,
    /// Length of the event window in days; it ends at `end_time`.
    pub days: u32,
    /// End of the event window, unix seconds.
    pub end_time: i64,
    /// Mean orders per buyer (exponentially distributed, so most buy little).
    pub orders_per_account: f64,
    /// Probability that an order is reviewed.
    pub review_rate: f64,
    /// Mean sessions per buyer.
    pub sessions_per_account: f64,
    /// Shared hub IPs (carrier NAT, offices).
    pub hub_ips: usize,
    /// Share of buyers that sometimes connect through a hub IP.
    pub hub_share: f64,
    /// Products that get a viral burst of honest reviews.
    pub viral_products: usize,
    /// Honest reviews in each viral burst.
    pub viral_burst_size: usize,
    /// Share of buyer accounts that belong to a planted ring (0 = honest background only).
    pub fraud_rate: f64,
    /// Fake-review ring knobs.
    pub fake_review: AttackConfig,
    /// Brushing knobs.
    pub brushing: AttackConfig,
    /// Device-farm knobs.
    pub device_farm: AttackConfig,
    /// Coordinated inauthentic account knobs.
    pub coordinated: AttackConfig,
    /// Slow-ring knobs (share 0 unless asked for, see [`AttackKind::CLASSIC`]).
    pub slow_ring: AttackConfig,
    /// Account-takeover knobs (share 0 unless asked for).
    pub takeover: AttackConfig,
    /// Seller self-dealing knobs (share 0 unless asked for).
    pub self_dealing: AttackConfig,
    /// Sleeper-cohort knobs (share 0 unless asked for).
    pub sleeper: AttackConfig,
}

impl Default for SynthConfig {
    fn default() -> Self {
        SynthConfig {
            seed: 42,
            accounts: 2_000,
            sellers: 66,
            products: 1_000,
            days: 30,
            end_time: 1_793_491_200, // 2026-11-01T00:00:00Z
            orders_per_account: 4.0,
            review_rate: 0.35,
            sessions_per_account: 4.0,
            hub_ips: 6,
            hub_share: 0.3,
            viral_products: 2,
            viral_burst_size: 120,
            fraud_rate: 0.03,
            fake_review: AttackConfig::preset(AttackKind::FakeReview, Difficulty::Medium),
            brushing: AttackConfig::preset(AttackKind::Brushing, Difficulty::Medium),
            device_farm: AttackConfig::preset(AttackKind::DeviceFarm, Difficulty::Medium),
            coordinated: AttackConfig::preset(AttackKind::Coordinated, Difficulty::Medium),
            slow_ring: off(AttackKind::SlowRing),
            takeover: off(AttackKind::Takeover),
            self_dealing: off(AttackKind::SelfDealing),
            sleeper: off(AttackKind::Sleeper),
        }
    }
}

/// The medium preset of a family that is not planted by default.
fn off(kind: AttackKind) -> AttackConfig {
    AttackConfig {
        share: 0.0,
        ..AttackConfig::preset(kind, Difficulty::Medium)
    }
}

impl SynthConfig {
    /// The default knobs scaled to `accounts` buyers.
    pub fn for_accounts(accounts: usize, seed: u64) -> Self {
        let accounts = accounts.max(50);
        SynthConfig {
            seed,
            accounts,
            sellers: (accounts / 30).max(5),
            products: (accounts / 2).max(20),
            hub_ips: (accounts / 300).max(3),
            viral_products: (accounts / 1000).max(1),
            ..SynthConfig::default()
        }
    }

    /// The default knobs scaled so that all tables together hold about `events` rows.
    pub fn for_events(events: usize, seed: u64) -> Self {
        let base = SynthConfig::default();
        // Rows per buyer: orders, their reviews, sessions, plus an accounts and a labels row
        // (planted rings add a few percent on top).
        let per_account =
            base.orders_per_account * (1.0 + base.review_rate) + base.sessions_per_account + 2.0;
        SynthConfig::for_accounts((events as f64 / per_account) as usize, seed)
    }

    /// Replaces every attack's knobs with the preset of `difficulty`, keeping each attack's
    /// share (so a family that is off stays off).
    pub fn with_difficulty(mut self, difficulty: Difficulty) -> Self {
        for kind in AttackKind::ALL {
            let knobs = self.attack_mut(kind);
            *knobs = AttackConfig {
                share: knobs.share,
                ..AttackConfig::preset(kind, difficulty)
            };
        }
        self
    }

    /// Plants exactly the families `kinds`, each with its preset share; the others get share 0.
    pub fn with_families(mut self, kinds: &[AttackKind]) -> Self {
        for kind in AttackKind::ALL {
            let preset = AttackConfig::preset(kind, Difficulty::Medium).share;
            self.attack_mut(kind).share = if kinds.contains(&kind) { preset } else { 0.0 };
        }
        self
    }

    /// The first second of the event window.
    pub(crate) fn window_start(&self) -> i64 {
        self.end_time - i64::from(self.days) * 86_400
    }

    /// The knobs of `kind`.
    pub fn attack(&self, kind: AttackKind) -> &AttackConfig {
        match kind {
            AttackKind::FakeReview => &self.fake_review,
            AttackKind::Brushing => &self.brushing,
            AttackKind::DeviceFarm => &self.device_farm,
            AttackKind::Coordinated => &self.coordinated,
            AttackKind::SlowRing => &self.slow_ring,
            AttackKind::Takeover => &self.takeover,
            AttackKind::SelfDealing => &self.self_dealing,
            AttackKind::Sleeper => &self.sleeper,
        }
    }

    fn attack_mut(&mut self, kind: AttackKind) -> &mut AttackConfig {
        match kind {
            AttackKind::FakeReview => &mut self.fake_review,
            AttackKind::Brushing => &mut self.brushing,
            AttackKind::DeviceFarm => &mut self.device_farm,
            AttackKind::Coordinated => &mut self.coordinated,
            AttackKind::SlowRing => &mut self.slow_ring,
            AttackKind::Takeover => &mut self.takeover,
            AttackKind::SelfDealing => &mut self.self_dealing,
            AttackKind::Sleeper => &mut self.sleeper,
        }
    }

    /// Checks the knobs once, when the config is read.
    pub fn validate(&self) -> Result<(), String> {
        if self.accounts == 0 || self.sellers == 0 || self.products == 0 {
            return Err("accounts, sellers and products must be positive".into());
        }
        if self.days == 0 {
            return Err("days must be positive".into());
        }
        for (name, p) in [
            ("review_rate", self.review_rate),
            ("hub_share", self.hub_share),
        ] {
            if !(0.0..=1.0).contains(&p) {
                return Err(format!("{name} must be within 0..=1, got {p}"));
            }
        }
        if self.orders_per_account < 0.0 || self.sessions_per_account < 0.0 {
            return Err("orders_per_account and sessions_per_account must be >= 0".into());
        }
        if self.viral_products > self.products {
            return Err("viral_products exceeds products".into());
        }
        if !(0.0..=0.5).contains(&self.fraud_rate) {
            return Err(format!(
                "fraud_rate must be within 0..=0.5, got {}",
                self.fraud_rate
            ));
        }
        for kind in AttackKind::ALL {
            self.attack(kind).validate(kind)?;
        }
        Ok(())
    }
}

/// Writing the tables failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {}: {message}", path.display())]
pub struct SynthError {
    /// The file or directory.
    pub path: std::path::PathBuf,
    /// Why.
    pub message: String,
}
