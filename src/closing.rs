//! Candidates from verified edges: two documents verified against one same third
//! document are a candidate pair too ("neighbours of neighbours").
//!
//! A rewrite can share too few rare words with a story's other versions for the keyword
//! index to pair them, while it is verified against one version that they are verified
//! against too. Pairing the neighbours of each document closes such triangles; the pairs
//! are then verified like any other, so an edge still means a verified relation, and
//! grouping still never chains (see [`crate::group`]).

use rayon::prelude::*;

/// A document with more verified neighbours than this pairs none of them: a story with
/// that many versions is one group already, and its pairs would cost their square.
pub const MAX_DEGREE: usize = 8;

/// Pairs `(a, b)`, `a < b`, of documents that share a neighbour in `edges` (pairs
/// `(a, b)` with `a < b`, among documents `0..n`) and are not in `known` (sorted). A
/// document with more than [`MAX_DEGREE`] neighbours pairs none. Sorted, unique.
#[must_use]
pub fn pairs(n: usize, edges: &[(u32, u32)], known: &[(u32, u32)]) -> Vec<(u32, u32)> {
    let mut start = vec![0usize; n + 1];
    for &(a, b) in edges {
        start[a as usize + 1] += 1;
        start[b as usize + 1] += 1;
    }
    for i in 0..n {
        start[i + 1] += start[i];
    }
    let mut fill = start.clone();
    let mut adj = vec![0u32; start[n]];
    for &(a, b) in edges {
        adj[fill[a as usize]] = b;
        fill[a as usize] += 1;
        adj[fill[b as usize]] = a;
        fill[b as usize] += 1;
    }
    let mut out: Vec<(u32, u32)> = (0..n)
        .into_par_iter()
        .flat_map_iter(|v| {
            let mut nb = adj[start[v]..start[v + 1]].to_vec();
            nb.sort_unstable();
            nb.dedup();
            let mut found = Vec::new();
            if nb.len() <= MAX_DEGREE {
                for (i, &x) in nb.iter().enumerate() {
                    for &y in &nb[i + 1..] {
                        if known.binary_search(&(x, y)).is_err() {
                            found.push((x, y));
                        }
                    }
                }
            }
            found
        })
        .collect();
    out.par_sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbours_of_a_document_are_paired_once() {
        // 0-1, 1-2, 1-3 and 2-3 known: (0, 2), (0, 3) are new, (2, 3) is known.
        let edges = [(0, 1), (1, 2), (1, 3)];
        let known = [(0, 1), (1, 2), (1, 3), (2, 3)];
        assert_eq!(pairs(4, &edges, &known), vec![(0, 2), (0, 3)]);
    }

    #[test]
    fn hubs_pair_nothing() {
        let edges: Vec<(u32, u32)> = (1..=MAX_DEGREE as u32 + 1).map(|d| (0, d)).collect();
        assert!(pairs(MAX_DEGREE + 2, &edges, &edges).is_empty());
    }
}
