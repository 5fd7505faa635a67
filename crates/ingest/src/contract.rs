//! The input contract: which tables exist and which columns each must or may have.
//!
//! `docs/data-contract.md` is the prose version of this file; keep them in step.

use std::fmt;

/// One raw event table of the input contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TableKind {
    /// Account master data.
    Accounts,
    /// Product catalogue.
    Products,
    /// Product reviews.
    Reviews,
    /// Orders.
    Orders,
    /// Login or browsing sessions.
    Sessions,
    /// Ground-truth or investigator labels.
    Labels,
}

impl TableKind {
    /// Tables in the order ingest reads them: masters first, so events can be checked against them,
    /// and labels last, so they can refer to accounts seen in any event.
    pub const ALL: [TableKind; 6] = [
        TableKind::Accounts,
        TableKind::Products,
        TableKind::Reviews,
        TableKind::Orders,
        TableKind::Sessions,
        TableKind::Labels,
    ];

    /// The table's file or directory stem (`reviews` for `reviews.csv`).
    pub fn name(self) -> &'static str {
        match self {
            TableKind::Accounts => "accounts",
            TableKind::Products => "products",
            TableKind::Reviews => "reviews",
            TableKind::Orders => "orders",
            TableKind::Sessions => "sessions",
            TableKind::Labels => "labels",
        }
    }

    /// Columns that must be present.
    pub fn required_columns(self) -> &'static [&'static str] {
        match self {
            TableKind::Accounts => &["account_id"],
            TableKind::Products => &["product_id", "seller_id"],
            TableKind::Reviews => &["review_id", "account_id", "product_id"],
            TableKind::Orders => &["order_id", "buyer_id", "seller_id"],
            TableKind::Sessions => &["account_id"],
            TableKind::Labels => &["account_id", "label"],
        }
    }

    /// Columns that are read when present.
    pub fn optional_columns(self) -> &'static [&'static str] {
        match self {
            TableKind::Accounts => &["created_at", "kind", "country"],
            TableKind::Products => &["category", "price"],
            TableKind::Reviews => &["rating", "created_at", "seller_id", "verified_purchase"],
            TableKind::Orders => &[
                "product_id",
                "amount",
                "created_at",
                "device_id",
                "ip",
                "payment_id",
                "address_id",
            ],
            TableKind::Sessions => &[
                "device_id",
                "ip",
                "created_at",
                "device_model",
                "user_agent",
            ],
            TableKind::Labels => &["ring_id", "source"],
        }
    }

    /// Required then optional columns: the full header of a table that has everything.
    pub fn columns(self) -> Vec<&'static str> {
        [self.required_columns(), self.optional_columns()].concat()
    }

    /// The primary-key column, for tables that have one.
    pub fn primary_key(self) -> Option<&'static str> {
        match self {
            TableKind::Accounts | TableKind::Labels => Some("account_id"),
            TableKind::Products => Some("product_id"),
            TableKind::Reviews => Some("review_id"),
            TableKind::Orders => Some("order_id"),
            TableKind::Sessions => None,
        }
    }

    /// What a column holds, which decides how its cells are parsed.
    pub fn column_type(self, column: &str) -> ColumnType {
        match column {
            "created_at" => ColumnType::Timestamp,
            "rating" => ColumnType::Rating,
            "amount" | "price" => ColumnType::NonNegativeNumber,
            "verified_purchase" => ColumnType::Bool,
            "label" => ColumnType::Label,
            "kind" => ColumnType::AccountKind,
            "country" | "category" | "ring_id" | "source" | "device_model" | "user_agent" => {
                ColumnType::Text
            }
            _ => ColumnType::Id,
        }
    }
}

impl fmt::Display for TableKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The logical type of a contract column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnType {
    /// A string ID (integers are accepted and read as their decimal text).
    Id,
    /// ISO-8601 text or unix seconds.
    Timestamp,
    /// An integer 1..=5.
    Rating,
    /// A finite number ≥ 0.
    NonNegativeNumber,
    /// true/false, 1/0, yes/no.
    Bool,
    /// 0 or 1.
    Label,
    /// `buyer` or `seller`.
    AccountKind,
    /// Free text.
    Text,
}
