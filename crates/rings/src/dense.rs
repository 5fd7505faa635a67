//! FRAUDAR-style dense-block detection (Hooi et al., KDD 2016) on a bipartite account × target
//! graph: lockstep behaviour (many accounts hitting the same few products or sellers) shows up
//! as a block much denser than the rest, even when the accounts share no device or IP.
//!
//! **Objective.** For a node set `S` (rows and columns), `g(S) = f(S) / |S|` with
//! `f(S) = Σ_{i ∈ S} a_i + Σ_{(i, j) ∈ E(S)} c_j`: optional row priors `a_i` (for example GNN
//! scores) plus the weight of the edges inside. Column weights `c_j = 1 / ln(d_j + 5)` make an
//! edge to a popular column worth less, which is what resists camouflage: fraudsters adding
//! edges to popular honest targets cannot make the honest side look dense, and the fraudulent
//! block stays dense whatever camouflage it adds (the paper's Theorem 2).
//!
//! **Algorithm.** Greedy peeling: start from every node, repeatedly remove the node whose
//! removal lowers `f` least (its current weighted degree), and keep the prefix with the best
//! `g`; this is within a factor 2 of the optimum. Then remove that block's edges and peel
//! again for the next block, up to `max_blocks`.
//!
//! **Cost.** One peel is `O(|E| log(|U| + |W|))`: every edge removal lowers one neighbour's
//! priority and pushes one heap entry (stale entries are skipped when popped). Memory is
//! `O(|E| + |U| + |W|)`. `k` blocks cost `k` peels.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Settings of [`dense_blocks`].
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DenseConfig {
    /// At most this many blocks.
    pub max_blocks: usize,
    /// Stop when a block has fewer rows than this (a "ring" of one account is no ring).
    pub min_rows: usize,
    /// Stop when a block's density `g` falls below this multiple of the whole graph's.
    pub min_density_ratio: f64,
}

impl Default for DenseConfig {
    fn default() -> Self {
        DenseConfig {
            max_blocks: 50,
            min_rows: 3,
            min_density_ratio: 2.0,
        }
    }
}

/// One dense block.
#[derive(Clone, Debug, PartialEq)]
pub struct DenseBlock {
    /// Row (account) indices, ascending.
    pub rows: Vec<u32>,
    /// Column (target) indices, ascending.
    pub cols: Vec<u32>,
    /// Its suspiciousness density `g`.
    pub density: f64,
    /// Edges inside it.
    pub edges: usize,
}

/// Dense blocks of the bipartite graph with `rows` rows, `cols` columns and `edges`
/// `(row, col)` (repeats count once), densest first. `row_prior`, if given, is `a_i` per row.
///
/// # Panics
/// If an edge is out of range or `row_prior` has the wrong length.
pub fn dense_blocks(
    rows: usize,
    cols: usize,
    edges: &[(u32, u32)],
    row_prior: Option<&[f64]>,
    config: &DenseConfig,
) -> Vec<DenseBlock> {
    let mut edges = edges.to_vec();
    edges.sort_unstable();
    edges.dedup();
    assert!(
        edges
            .iter()
            .all(|&(r, c)| (r as usize) < rows && (c as usize) < cols),
        "edge out of range"
    );
    if let Some(p) = row_prior {
        assert_eq!(p.len(), rows, "one prior per row");
    }
    // Column weights come from the whole graph, so peeling later blocks does not make the
    // remaining popular columns look rare.
    let mut col_degree = vec![0usize; cols];
    for &(_, c) in &edges {
        col_degree[c as usize] += 1;
    }
    let col_weight: Vec<f64> = col_degree
        .iter()
        .map(|&d| 1.0 / (d as f64 + 5.0).ln())
        .collect();
    let prior = |r: usize| row_prior.map_or(0.0, |p| p[r]);
    let whole_density = {
        let f: f64 = (0..rows).map(prior).sum::<f64>()
            + edges
                .iter()
                .map(|&(_, c)| col_weight[c as usize])
                .sum::<f64>();
        f / (rows + cols).max(1) as f64
    };
    let mut blocks = Vec::new();
    let mut alive = vec![true; edges.len()];
    let mut peeler = Peeler::new(rows, cols, &edges, &col_weight);
    while blocks.len() < config.max_blocks {
        let floor = config.min_density_ratio * whole_density;
        let Some(block) = peeler.peel(&alive, &prior, floor) else {
            break;
        };
        if block.rows.len() < config.min_rows
            || block.density < config.min_density_ratio * whole_density
        {
            break;
        }
        let in_rows = membership(rows, &block.rows);
        let in_cols = membership(cols, &block.cols);
        for (e, &(r, c)) in edges.iter().enumerate() {
            if in_rows[r as usize] && in_cols[c as usize] {
                alive[e] = false;
            }
        }
        blocks.push(block);
    }
    blocks
}

fn membership(n: usize, members: &[u32]) -> Vec<bool> {
    let mut m = vec![false; n];
    members.iter().for_each(|&i| m[i as usize] = true);
    m
}

/// Total-order key for a non-negative f64 priority, ties broken by node index.
fn key(priority: f64, node: usize) -> Reverse<(u64, usize)> {
    Reverse((priority.to_bits(), node))
}

/// The graph every peel reads, built once: nodes `0..rows` are rows and `rows..rows + cols`
/// columns; `incident[offsets[v]..offsets[v + 1]]` are node `v`'s edge ids.
struct Peeler<'a> {
    rows: usize,
    edges: &'a [(u32, u32)],
    col_weight: &'a [f64],
    offsets: Vec<usize>,
    incident: Vec<u32>,
    // Buffers reused by every peel, so a peel allocates nothing proportional to the graph.
    priority: Vec<f64>,
    present: Vec<bool>,
    edge_alive: Vec<bool>,
    removal_order: Vec<usize>,
    heap: BinaryHeap<Reverse<(u64, usize)>>,
}

impl<'a> Peeler<'a> {
    fn new(rows: usize, cols: usize, edges: &'a [(u32, u32)], col_weight: &'a [f64]) -> Self {
        let n = rows + cols;
        let mut offsets = vec![0usize; n + 1];
        for &(r, c) in edges {
            offsets[r as usize + 1] += 1;
            offsets[rows + c as usize + 1] += 1;
        }
        for v in 0..n {
            offsets[v + 1] += offsets[v];
        }
        let mut cursor = offsets[..n].to_vec();
        let mut incident = vec![0u32; 2 * edges.len()];
        for (e, &(r, c)) in edges.iter().enumerate() {
            for v in [r as usize, rows + c as usize] {
                incident[cursor[v]] = e as u32;
                cursor[v] += 1;
            }
        }
        Peeler {
            rows,
            edges,
            col_weight,
            offsets,
            incident,
            priority: vec![0.0; n],
            present: vec![false; n],
            edge_alive: vec![false; edges.len()],
            removal_order: Vec::with_capacity(n),
            heap: BinaryHeap::new(),
        }
    }

    fn incident(&self, v: usize) -> &[u32] {
        &self.incident[self.offsets[v]..self.offsets[v + 1]]
    }

    /// Removes node `v`: its alive edges die (counted off `edges_left`) and the other end of
    /// each loses that edge's weight from its priority and is listed in `touched`, once per
    /// edge. Returns `v`'s priority, which leaves the block's total.
    fn remove(&mut self, v: usize, touched: &mut Vec<usize>, edges_left: &mut usize) -> f64 {
        self.present[v] = false;
        self.removal_order.push(v);
        for i in self.offsets[v]..self.offsets[v + 1] {
            let e = self.incident[i] as usize;
            if !self.edge_alive[e] {
                continue;
            }
            self.edge_alive[e] = false;
            *edges_left -= 1;
            let (r, c) = self.edges[e];
            let other = if v < self.rows {
                self.rows + c as usize
            } else {
                r as usize
            };
            self.priority[other] = (self.priority[other] - self.col_weight[c as usize]).max(0.0);
            touched.push(other);
        }
        self.priority[v]
    }

    /// One greedy peel over the alive edges; `None` without alive edges.
    ///
    /// Nodes whose weighted degree is below `floor` are pruned first, iteratively (the
    /// `floor`-core). That loses no block at least `floor` dense: every node of a densest
    /// subgraph has at least its density in degree inside it, and each pruning step removes a
    /// node below the current density or happens where the density is below `floor` anyway.
    /// On a large sparse marketplace it removes most honest buyers before the heap is built.
    fn peel(
        &mut self,
        alive: &[bool],
        prior: &dyn Fn(usize) -> f64,
        floor: f64,
    ) -> Option<DenseBlock> {
        let (rows, n) = (self.rows, self.offsets.len() - 1);
        let edge_count = alive.iter().filter(|&&a| a).count();
        if edge_count == 0 {
            return None;
        }
        self.edge_alive.copy_from_slice(alive);
        self.heap.clear();
        self.removal_order.clear();
        let mut f = 0.0;
        let mut size = 0usize;
        for v in 0..n {
            // Only nodes with an alive edge take part; others would only dilute every prefix.
            let mut weight = 0.0;
            let mut any = false;
            for &e in self.incident(v) {
                if alive[e as usize] {
                    any = true;
                    weight += self.col_weight[self.edges[e as usize].1 as usize];
                }
            }
            self.present[v] = any;
            if !any {
                continue;
            }
            let base = if v < rows { prior(v) } else { 0.0 };
            self.priority[v] = base + weight;
            // Each edge is counted from its row end only; priors once per row.
            f += base + if v < rows { weight } else { 0.0 };
            size += 1;
        }
        let mut edges_left = edge_count;
        let mut touched = Vec::new();
        let mut queue: Vec<usize> = (0..n)
            .filter(|&v| self.present[v] && self.priority[v] < floor)
            .collect();
        while let Some(v) = queue.pop() {
            if !self.present[v] {
                continue;
            }
            f -= self.remove(v, &mut touched, &mut edges_left);
            size -= 1;
            // Priorities only fall, so "below the floor now" is "below it after that edge".
            queue.extend(
                touched
                    .drain(..)
                    .filter(|&o| self.present[o] && self.priority[o] < floor),
            );
        }
        if size == 0 {
            return None;
        }
        let pruned = self.removal_order.len();
        for v in (0..n).filter(|&v| self.present[v]) {
            self.heap.push(key(self.priority[v], v));
        }
        let (mut best_density, mut best_removed) = (f / size as f64, pruned);
        let mut best_edges = edges_left;
        while let Some(Reverse((bits, v))) = self.heap.pop() {
            if !self.present[v] || bits != self.priority[v].to_bits() {
                continue; // stale entry
            }
            f -= self.remove(v, &mut touched, &mut edges_left);
            size -= 1;
            for o in touched.drain(..) {
                self.heap.push(key(self.priority[o], o));
            }
            if size == 0 {
                break;
            }
            let density = f / size as f64;
            if density > best_density {
                (best_density, best_removed, best_edges) =
                    (density, self.removal_order.len(), edges_left);
            }
        }
        // The block is every node that took part, minus the best prefix of removals.
        let mut removed = vec![false; n];
        for &v in &self.removal_order[..best_removed] {
            removed[v] = true;
        }
        let took_part = |v: usize| self.incident(v).iter().any(|&e| alive[e as usize]);
        let block_rows: Vec<u32> = (0..rows)
            .filter(|&v| !removed[v] && took_part(v))
            .map(|v| v as u32)
            .collect();
        let block_cols: Vec<u32> = (rows..n)
            .filter(|&v| !removed[v] && took_part(v))
            .map(|v| (v - rows) as u32)
            .collect();
        Some(DenseBlock {
            rows: block_rows,
            cols: block_cols,
            density: best_density,
            edges: best_edges,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn c(d: usize) -> f64 {
        1.0 / (d as f64 + 5.0).ln()
    }

    #[test]
    fn a_biclique_beats_its_pendant_edge() {
        // Rows 0, 1 × columns 0, 1 complete; row 2 – column 2 alone.
        let edges = [(0, 0), (0, 1), (1, 0), (1, 1), (2, 2), (0, 0)];
        let config = DenseConfig {
            max_blocks: 1,
            min_rows: 1,
            min_density_ratio: 0.0,
        };
        let blocks = dense_blocks(3, 3, &edges, None, &config);
        assert_eq!(blocks.len(), 1);
        let b = &blocks[0];
        assert_eq!(
            (b.rows.clone(), b.cols.clone(), b.edges),
            (vec![0, 1], vec![0, 1], 4)
        );
        assert!(
            (b.density - 4.0 * c(2) / 4.0).abs() < 1e-12,
            "{}",
            b.density
        );
    }

    #[test]
    fn row_priors_pull_a_suspicious_account_into_the_block() {
        let edges = [(0, 0), (0, 1), (1, 0), (1, 1), (2, 1)];
        let config = DenseConfig {
            max_blocks: 1,
            min_rows: 1,
            min_density_ratio: 0.0,
        };
        let plain = dense_blocks(3, 2, &edges, None, &config);
        assert_eq!(plain[0].rows, vec![0, 1]);
        let prior = [0.0, 0.0, 2.0];
        let with_prior = dense_blocks(3, 2, &edges, Some(&prior), &config);
        assert!(with_prior[0].rows.contains(&2), "{:?}", with_prior[0]);
    }

    /// Two planted lockstep blocks in a sparse random graph; each planted account also adds as
    /// many camouflage edges to honest columns, favouring popular ones as honest users do.
    #[test]
    fn planted_blocks_are_found_despite_camouflage() {
        let (rows, cols) = (2000usize, 800usize);
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mut edges = Vec::new();
        for r in 0..rows as u32 {
            for _ in 0..3 {
                // Skewed popularity: low column indices are popular.
                let c = (rng.random::<f64>().powi(3) * cols as f64) as u32;
                edges.push((r, c));
            }
        }
        let planted = [(100..130u32, 700..712u32), (900..940u32, 750..760u32)];
        for (prow, pcol) in planted.clone() {
            for r in prow {
                for c in pcol.clone() {
                    if rng.random::<f64>() < 0.9 {
                        edges.push((r, c));
                    }
                }
                // Camouflage: as many edges again to honest columns, drawn by popularity.
                for _ in 0..10 {
                    edges.push((r, (rng.random::<f64>().powi(3) * 600.0) as u32));
                }
            }
        }
        let blocks = dense_blocks(rows, cols, &edges, None, &DenseConfig::default());
        assert!(blocks.len() >= 2, "{blocks:?}");
        for (prow, pcol) in planted {
            let found = blocks
                .iter()
                .find(|b| b.rows.iter().filter(|r| prow.contains(r)).count() * 10 >= prow.len() * 9)
                .unwrap_or_else(|| panic!("planted rows {prow:?} not found"));
            let precision = found.rows.iter().filter(|r| prow.contains(r)).count() as f64
                / found.rows.len() as f64;
            assert!(precision >= 0.9, "precision {precision}: {found:?}");
            // The targets are the planted ones; at most the one or two most popular honest
            // columns, which nearly every camouflaging account also hit, come along.
            let planted_cols = found.cols.iter().filter(|c| pcol.contains(c)).count();
            assert_eq!(planted_cols, pcol.len(), "{found:?}");
            assert!(found.cols.len() <= pcol.len() + 2, "{found:?}");
        }
    }

    #[test]
    fn a_graph_without_edges_has_no_blocks() {
        assert!(dense_blocks(5, 5, &[], None, &DenseConfig::default()).is_empty());
    }
}
