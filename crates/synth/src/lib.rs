//! Generates marketplace event tables in the input contract, with an honest background that is
//! realistic enough to defeat naive rules: heavy-tailed popularity, households sharing devices
//! and IPs, carrier-NAT and office hub IPs, accounts created over time and viral review bursts.
//!
//! The same [`SynthConfig`] (seed included) always gives byte-identical files.
#![warn(missing_docs)]

mod background;
mod write;

pub use background::{Marketplace, generate};
pub use write::{OutputFormat, write_tables};

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
        }
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
        // Rows per buyer: orders, their reviews, sessions, plus an accounts and a labels row.
        let per_account =
            base.orders_per_account * (1.0 + base.review_rate) + base.sessions_per_account + 2.0;
        SynthConfig::for_accounts((events as f64 / per_account) as usize, seed)
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
