//! The marketplace graph schema: node kinds, relations and the on-disk schema version.

/// Version of the graph layout written by [`crate::store`]. Bump it whenever node, relation or
/// column meaning changes; loaders refuse other versions.
pub const SCHEMA_VERSION: u32 = 1;

/// Node kinds of the marketplace graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NodeKind {
    /// A buyer or reviewer account (sellers' own accounts too).
    Account,
    /// A product.
    Product,
    /// A seller (shop).
    Seller,
    /// A device fingerprint.
    Device,
    /// An IP address.
    Ip,
    /// A payment instrument.
    Payment,
    /// A shipping address.
    Address,
}

impl NodeKind {
    /// Every kind, in node-set order.
    pub const ALL: [NodeKind; 7] = [
        NodeKind::Account,
        NodeKind::Product,
        NodeKind::Seller,
        NodeKind::Device,
        NodeKind::Ip,
        NodeKind::Payment,
        NodeKind::Address,
    ];

    /// Lower-case name, as used in files and configs.
    pub fn name(self) -> &'static str {
        match self {
            NodeKind::Account => "account",
            NodeKind::Product => "product",
            NodeKind::Seller => "seller",
            NodeKind::Device => "device",
            NodeKind::Ip => "ip",
            NodeKind::Payment => "payment",
            NodeKind::Address => "address",
        }
    }
}

/// Relations of the marketplace graph, with their fixed endpoint kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rel {
    /// account → product, one edge per review; weight = rating (NaN if absent), time = review time.
    Reviewed,
    /// account → product, one edge per order with a product; weight = amount, time = order time.
    Ordered,
    /// account → seller, one edge per order; weight = amount, time = order time.
    BoughtFrom,
    /// product → seller, one edge per distinct pair seen in products, reviews or orders.
    Sells,
    /// account → device, one edge per distinct pair; weight = uses, time = first use.
    UsedDevice,
    /// account → ip, one edge per distinct pair; weight = uses, time = first use.
    UsedIp,
    /// account → payment, one edge per distinct pair; weight = uses, time = first use.
    PaidWith,
    /// account → address, one edge per distinct pair; weight = uses, time = first use.
    ShipsTo,
    /// account → seller: the seller's own account.
    Operates,
}

impl Rel {
    /// Every relation, in relation order.
    pub const ALL: [Rel; 9] = [
        Rel::Reviewed,
        Rel::Ordered,
        Rel::BoughtFrom,
        Rel::Sells,
        Rel::UsedDevice,
        Rel::UsedIp,
        Rel::PaidWith,
        Rel::ShipsTo,
        Rel::Operates,
    ];

    /// Lower-case name, as used in files and configs.
    pub fn name(self) -> &'static str {
        match self {
            Rel::Reviewed => "reviewed",
            Rel::Ordered => "ordered",
            Rel::BoughtFrom => "bought_from",
            Rel::Sells => "sells",
            Rel::UsedDevice => "used_device",
            Rel::UsedIp => "used_ip",
            Rel::PaidWith => "paid_with",
            Rel::ShipsTo => "ships_to",
            Rel::Operates => "operates",
        }
    }

    /// Source and destination kinds.
    pub fn endpoints(self) -> (NodeKind, NodeKind) {
        use NodeKind::*;
        match self {
            Rel::Reviewed | Rel::Ordered => (Account, Product),
            Rel::BoughtFrom | Rel::Operates => (Account, Seller),
            Rel::Sells => (Product, Seller),
            Rel::UsedDevice => (Account, Device),
            Rel::UsedIp => (Account, Ip),
            Rel::PaidWith => (Account, Payment),
            Rel::ShipsTo => (Account, Address),
        }
    }
}
