//! The validated, interned output of ingest: one column vector per contract column.
//!
//! Optional values use sentinels rather than `Option` to keep rows small at 10M+ events:
//! [`NO_ID`] for IDs, [`NO_TIME`] for timestamps, `NaN` for amounts and prices, 0 for ratings.

use crate::intern::Interner;
use crate::parse::AccountKind;
#[cfg(doc)]
use crate::{intern::NO_ID, parse::NO_TIME};

/// One interner per ID space. A seller is also an account: every `seller_id` is interned in
/// `sellers`, and in `accounts` too when there is no accounts table to check it against.
#[derive(Debug, Default)]
pub struct IdSpaces {
    /// `account_id`, `buyer_id` (and `seller_id`, see above).
    pub accounts: Interner,
    /// `product_id`.
    pub products: Interner,
    /// `seller_id`.
    pub sellers: Interner,
    /// `device_id`.
    pub devices: Interner,
    /// `ip`.
    pub ips: Interner,
    /// `payment_id`.
    pub payments: Interner,
    /// `address_id`.
    pub addresses: Interner,
    /// `country`.
    pub countries: Interner,
    /// `device_model` of sessions.
    pub device_models: Interner,
    /// `user_agent` of sessions.
    pub user_agents: Interner,
    /// `category`.
    pub categories: Interner,
    /// `ring_id` of labels.
    pub rings: Interner,
    /// `source` of labels.
    pub label_sources: Interner,
}

/// Rows of the accounts table.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct AccountRows {
    /// Account id.
    pub account: Vec<u32>,
    /// Creation time or [`NO_TIME`].
    pub created_at: Vec<i64>,
    /// Buyer, seller or unknown.
    pub kind: Vec<AccountKind>,
    /// Country id or [`NO_ID`].
    pub country: Vec<u32>,
}

/// Rows of the products table.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ProductRows {
    /// Product id.
    pub product: Vec<u32>,
    /// Seller id.
    pub seller: Vec<u32>,
    /// Category id or [`NO_ID`].
    pub category: Vec<u32>,
    /// Price or NaN.
    pub price: Vec<f32>,
}

/// Rows of the reviews table.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ReviewRows {
    /// Reviewing account.
    pub account: Vec<u32>,
    /// Reviewed product.
    pub product: Vec<u32>,
    /// 1..=5, or 0 when absent.
    pub rating: Vec<u8>,
    /// Review time or [`NO_TIME`].
    pub created_at: Vec<i64>,
    /// Seller id or [`NO_ID`].
    pub seller: Vec<u32>,
    /// 1 verified, 0 not, 2 unknown.
    pub verified: Vec<u8>,
}

/// Rows of the orders table.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct OrderRows {
    /// Buying account.
    pub buyer: Vec<u32>,
    /// Seller id.
    pub seller: Vec<u32>,
    /// Product id or [`NO_ID`].
    pub product: Vec<u32>,
    /// Amount or NaN.
    pub amount: Vec<f32>,
    /// Order time or [`NO_TIME`].
    pub created_at: Vec<i64>,
    /// Device id or [`NO_ID`].
    pub device: Vec<u32>,
    /// IP id or [`NO_ID`].
    pub ip: Vec<u32>,
    /// Payment instrument id or [`NO_ID`].
    pub payment: Vec<u32>,
    /// Shipping address id or [`NO_ID`].
    pub address: Vec<u32>,
}

/// Rows of the sessions table.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct SessionRows {
    /// Account.
    pub account: Vec<u32>,
    /// Device id or [`NO_ID`].
    pub device: Vec<u32>,
    /// IP id or [`NO_ID`].
    pub ip: Vec<u32>,
    /// Session time or [`NO_TIME`].
    pub created_at: Vec<i64>,
    /// Device model id or [`NO_ID`].
    pub device_model: Vec<u32>,
    /// User agent id or [`NO_ID`].
    pub user_agent: Vec<u32>,
}

/// Rows of the labels table.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct LabelRows {
    /// Labelled account.
    pub account: Vec<u32>,
    /// 1 = fraud, 0 = benign.
    pub label: Vec<u8>,
    /// Ring id or [`NO_ID`].
    pub ring: Vec<u32>,
    /// Label source id or [`NO_ID`].
    pub source: Vec<u32>,
}

/// All validated rows of an input directory, with their interned IDs.
#[derive(Debug, Default)]
pub struct EventBatch {
    /// The ID interners.
    pub ids: IdSpaces,
    /// Accounts table (empty when absent).
    pub accounts: AccountRows,
    /// Products table.
    pub products: ProductRows,
    /// Reviews table.
    pub reviews: ReviewRows,
    /// Orders table.
    pub orders: OrderRows,
    /// Sessions table.
    pub sessions: SessionRows,
    /// Labels table.
    pub labels: LabelRows,
}
