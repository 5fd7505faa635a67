//! Louvain community detection (Blondel et al., 2008) on a weighted undirected graph, used to
//! split evidence components too large to be one ring.
//!
//! It is a refinement, not ground truth: modularity has many near-optimal partitions and which
//! one greedy moves reach depends on the visiting order. Here the order is fixed (node index),
//! so the same graph always gives the same communities, but a small change to the graph can
//! move a boundary. Cost: each pass is `O(|E|)`; passes repeat until no node moves, then the
//! communities are contracted and the next level runs on the smaller graph.

/// Weighted adjacency: `adjacency[v]` lists `(neighbour, weight)`; each undirected edge appears
/// in both lists, a self-loop once.
pub type Adjacency = Vec<Vec<(u32, f64)>>;

/// Community of each node, numbered from 0 in order of first appearance. `resolution` above 1
/// gives more, smaller communities.
pub fn louvain(adjacency: &Adjacency, resolution: f64) -> Vec<u32> {
    let n = adjacency.len();
    let mut membership: Vec<u32> = (0..n as u32).collect();
    let mut graph = adjacency.clone();
    loop {
        let local = one_level(&graph, resolution);
        let communities = renumber(&local);
        let count = communities
            .iter()
            .map(|&c| c as usize + 1)
            .max()
            .unwrap_or(0);
        if count == graph.len() {
            break; // no node moved: done
        }
        for m in &mut membership {
            *m = communities[*m as usize];
        }
        graph = contract(&graph, &communities, count);
    }
    renumber(&membership)
}

/// Modularity of `community` over `adjacency` at `resolution`: the share of edge weight inside
/// communities minus what a configuration model with the same degrees puts there. Near 0 for a
/// graph with no community structure (a clique), towards 1 for separate groups joined by a few
/// edges.
pub fn modularity(adjacency: &Adjacency, community: &[u32], resolution: f64) -> f64 {
    let count = community.iter().map(|&c| c as usize + 1).max().unwrap_or(0);
    let (mut inside, mut total) = (vec![0.0f64; count], vec![0.0f64; count]);
    let mut m2 = 0.0;
    for (v, edges) in adjacency.iter().enumerate() {
        let cv = community[v] as usize;
        for &(u, w) in edges {
            // A self-loop is listed once and counts at both ends.
            let w = if u as usize == v { 2.0 * w } else { w };
            m2 += w;
            total[cv] += w;
            if community[u as usize] as usize == cv {
                inside[cv] += w;
            }
        }
    }
    if m2 == 0.0 {
        return 0.0;
    }
    (0..count)
        .map(|c| inside[c] / m2 - resolution * (total[c] / m2).powi(2))
        .sum()
}

/// Local moves until no node improves modularity; returns each node's community.
fn one_level(graph: &Adjacency, resolution: f64) -> Vec<u32> {
    let n = graph.len();
    let degree: Vec<f64> = graph
        .iter()
        .enumerate()
        .map(|(v, edges)| {
            edges
                .iter()
                .map(|&(u, w)| if u as usize == v { 2.0 * w } else { w })
                .sum()
        })
        .collect();
    let m2: f64 = degree.iter().sum();
    let mut community: Vec<u32> = (0..n as u32).collect();
    if m2 == 0.0 {
        return community;
    }
    let mut total = degree.clone(); // Σ degree of each community
    let mut links = vec![0.0f64; n]; // scratch: weight from the node to each community
    let mut touched: Vec<u32> = Vec::new();
    loop {
        let mut moved = false;
        for v in 0..n {
            let own = community[v];
            for &(u, w) in &graph[v] {
                if u as usize == v {
                    continue;
                }
                let c = community[u as usize];
                if links[c as usize] == 0.0 {
                    touched.push(c);
                }
                links[c as usize] += w;
            }
            total[own as usize] -= degree[v];
            // Gain of joining c, up to terms common to every c.
            let gain = |c: u32, links: &[f64]| {
                links[c as usize] - resolution * total[c as usize] * degree[v] / m2
            };
            let (mut best, mut best_gain) = (own, gain(own, &links));
            for &c in &touched {
                let g = gain(c, &links);
                if g > best_gain + 1e-12 || (g >= best_gain - 1e-12 && c < best && g > 0.0) {
                    (best, best_gain) = (c, g);
                }
            }
            total[best as usize] += degree[v];
            if best != own {
                community[v] = best;
                moved = true;
            }
            for &c in &touched {
                links[c as usize] = 0.0;
            }
            touched.clear();
        }
        if !moved {
            return community;
        }
    }
}

/// Community ids renumbered 0.. in order of first appearance.
fn renumber(community: &[u32]) -> Vec<u32> {
    let mut map = vec![u32::MAX; community.iter().map(|&c| c as usize + 1).max().unwrap_or(0)];
    let mut next = 0;
    community
        .iter()
        .map(|&c| {
            if map[c as usize] == u32::MAX {
                map[c as usize] = next;
                next += 1;
            }
            map[c as usize]
        })
        .collect()
}

/// The graph of communities: edge weights summed, internal weight as a self-loop.
fn contract(graph: &Adjacency, community: &[u32], count: usize) -> Adjacency {
    let mut merged: Vec<std::collections::BTreeMap<u32, f64>> = vec![Default::default(); count];
    for (v, edges) in graph.iter().enumerate() {
        let cv = community[v];
        for &(u, w) in edges {
            let cu = community[u as usize];
            // A non-loop edge is listed at both ends; an internal one becomes a self-loop,
            // which is listed once, so it takes half of each listing.
            let share = if cu == cv && u as usize != v {
                w / 2.0
            } else {
                w
            };
            *merged[cv as usize].entry(cu).or_default() += share;
        }
    }
    merged
        .into_iter()
        .map(|m| m.into_iter().collect())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(n: usize, edges: &[(u32, u32)]) -> Adjacency {
        let mut a: Adjacency = vec![Vec::new(); n];
        for &(x, y) in edges {
            a[x as usize].push((y, 1.0));
            a[y as usize].push((x, 1.0));
        }
        a
    }

    fn clique(nodes: std::ops::Range<u32>) -> Vec<(u32, u32)> {
        let mut e = Vec::new();
        for a in nodes.clone() {
            for b in a + 1..nodes.end {
                e.push((a, b));
            }
        }
        e
    }

    #[test]
    fn a_ring_of_cliques_splits_into_its_cliques() {
        // Six 5-cliques, each joined to the next by one edge: the textbook case.
        let mut edges = Vec::new();
        for k in 0..6u32 {
            edges.extend(clique(k * 5..k * 5 + 5));
            edges.push((k * 5, ((k + 1) % 6) * 5 + 1));
        }
        let c = louvain(&graph(30, &edges), 1.0);
        for k in 0..6usize {
            let block = &c[k * 5..k * 5 + 5];
            assert!(block.iter().all(|&x| x == block[0]), "clique {k}: {c:?}");
        }
        let mut distinct = c.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), 6, "{c:?}");
        assert_eq!(louvain(&graph(30, &edges), 1.0), c, "deterministic");
    }

    #[test]
    fn modularity_separates_joined_cliques_from_one_clique() {
        let mut edges = clique(0..5);
        edges.extend(clique(5..10));
        edges.push((0, 5));
        let two = graph(10, &edges);
        let c = louvain(&two, 1.0);
        // Two 5-cliques and a bridge: 20 of 21 edges inside, each half of the degree.
        let expected = 20.0 / 21.0 - 0.5;
        assert!((modularity(&two, &c, 1.0) - expected).abs() < 1e-12);
        let one = graph(10, &clique(0..10));
        assert!(modularity(&one, &louvain(&one, 1.0), 1.0).abs() < 1e-12);
        assert_eq!(modularity(&graph(3, &[]), &[0, 1, 2], 1.0), 0.0);
    }

    #[test]
    fn isolated_nodes_and_an_empty_graph_stay_apart() {
        assert_eq!(louvain(&graph(3, &[]), 1.0), vec![0, 1, 2]);
        let c = louvain(&graph(4, &[(0, 1)]), 1.0);
        assert_eq!(c[0], c[1]);
        assert!(c[2] != c[0] && c[3] != c[2]);
    }
}
