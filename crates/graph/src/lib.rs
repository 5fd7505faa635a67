//! Builds and stores the heterogeneous marketplace graph: interned typed nodes, per-relation
//! edge columns with CSR neighbour access, and account–account "same actor" projections.
//!
//! ```no_run
//! use ringscope_graph::{build_marketplace, project_accounts, ProjectionConfig};
//! let ingested = ringscope_ingest::ingest_dir("graphs/sample".as_ref())?;
//! let graph = build_marketplace("sample", ingested.batch)?;
//! let reviewed = graph.relation("reviewed").unwrap();
//! let reviewers_of_product_0 = graph.in_csr(reviewed).neighbors(0);
//! let projection = project_accounts(&graph, &ProjectionConfig::default());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]

mod build;
mod error;
mod hetero;
mod index;
mod projection;
pub mod schema;
pub mod store;
pub mod subgraph;

pub use build::build_marketplace;
pub use error::{GraphError, Result};
pub use hetero::{
    AttrValues, Csr, EdgeRef, Features, HeteroGraph, NO_TIME, NodeRef, NodeSet, Relation,
    TextValues,
};
pub use index::IndexSpace;
pub use projection::{
    Burst, DeviceKey, Evidence, Hub, NearIdentifiers, Projection, ProjectionConfig,
    SUBNET_STRENGTH, Subnet, SubnetIndex, device_keys, project_accounts,
};
pub use schema::{NodeKind, Rel, SCHEMA_VERSION};
pub use store::HOMOGENEOUS_RELATION;
pub use subgraph::{Subgraph, SubgraphBuilder};
