//! A triangle mesh over the face landmarks: Delaunay triangulation (Bowyer–Watson), vertex
//! neighbours and the hull.

/// Triangles over a set of 2-D points, with each vertex's neighbours.
#[derive(Debug, Clone, Default)]
pub struct FaceMesh {
    /// Vertex indices of each triangle, counter-clockwise in image coordinates (y down).
    pub triangles: Vec<[u32; 3]>,
    /// Neighbours of each vertex along triangle edges, ascending.
    pub neighbours: Vec<Vec<u32>>,
    /// Whether each vertex lies on the hull (an edge of exactly one triangle).
    pub on_hull: Vec<bool>,
}

impl FaceMesh {
    /// The Delaunay triangulation of `points` (image pixels). Points that coincide with an
    /// earlier one are left out of every triangle.
    pub fn delaunay(points: &[[f32; 2]]) -> FaceMesh {
        let n = points.len();
        let triangles = bowyer_watson(points);
        let mut neighbours = vec![Vec::new(); n];
        let mut edge_uses: std::collections::BTreeMap<(u32, u32), u8> = Default::default();
        for triangle in &triangles {
            for k in 0..3 {
                let (a, b) = (triangle[k], triangle[(k + 1) % 3]);
                neighbours[a as usize].push(b);
                neighbours[b as usize].push(a);
                *edge_uses.entry((a.min(b), a.max(b))).or_default() += 1;
            }
        }
        for list in &mut neighbours {
            list.sort_unstable();
            list.dedup();
        }
        let mut on_hull = vec![false; n];
        for ((a, b), uses) in edge_uses {
            if uses == 1 {
                on_hull[a as usize] = true;
                on_hull[b as usize] = true;
            }
        }
        FaceMesh {
            triangles,
            neighbours,
            on_hull,
        }
    }

    /// Hops along mesh edges from the nearest of `sources` to every vertex (`u32::MAX` when
    /// unreachable or farther than `max_hops`).
    pub fn hops_from(&self, sources: &[u32], max_hops: u32) -> Vec<u32> {
        let mut hops = vec![u32::MAX; self.neighbours.len()];
        let mut frontier: Vec<u32> = Vec::new();
        for &source in sources {
            if let Some(h) = hops.get_mut(source as usize) {
                *h = 0;
                frontier.push(source);
            }
        }
        let mut depth = 0;
        while !frontier.is_empty() && depth < max_hops {
            depth += 1;
            let mut next = Vec::new();
            for vertex in frontier {
                for &neighbour in &self.neighbours[vertex as usize] {
                    if hops[neighbour as usize] == u32::MAX {
                        hops[neighbour as usize] = depth;
                        next.push(neighbour);
                    }
                }
            }
            frontier = next;
        }
        hops
    }
}

#[derive(Debug, Clone, Copy)]
struct Triangle {
    vertices: [usize; 3],
    /// Circumcircle centre and squared radius.
    centre: [f64; 2],
    radius_sq: f64,
}

fn circumcircle(a: [f64; 2], b: [f64; 2], c: [f64; 2]) -> Option<([f64; 2], f64)> {
    let d = 2.0 * (a[0] * (b[1] - c[1]) + b[0] * (c[1] - a[1]) + c[0] * (a[1] - b[1]));
    if d.abs() < 1e-12 {
        return None;
    }
    let (a2, b2, c2) = (
        a[0] * a[0] + a[1] * a[1],
        b[0] * b[0] + b[1] * b[1],
        c[0] * c[0] + c[1] * c[1],
    );
    let ux = (a2 * (b[1] - c[1]) + b2 * (c[1] - a[1]) + c2 * (a[1] - b[1])) / d;
    let uy = (a2 * (c[0] - b[0]) + b2 * (a[0] - c[0]) + c2 * (b[0] - a[0])) / d;
    let radius_sq = (a[0] - ux).powi(2) + (a[1] - uy).powi(2);
    Some(([ux, uy], radius_sq))
}

/// Bowyer–Watson over `points` plus a surrounding super-triangle (removed at the end).
/// Quadratic, which is fine for 478 landmarks once per planted movement.
fn bowyer_watson(points: &[[f32; 2]]) -> Vec<[u32; 3]> {
    let n = points.len();
    if n < 3 {
        return Vec::new();
    }
    let mut coords: Vec<[f64; 2]> = points
        .iter()
        .map(|p| [f64::from(p[0]), f64::from(p[1])])
        .collect();
    let (mut min, mut max) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
    for p in &coords {
        for axis in 0..2 {
            min[axis] = min[axis].min(p[axis]);
            max[axis] = max[axis].max(p[axis]);
        }
    }
    let span = (max[0] - min[0]).max(max[1] - min[1]).max(1.0);
    let mid = [0.5 * (min[0] + max[0]), 0.5 * (min[1] + max[1])];
    coords.push([mid[0] - 20.0 * span, mid[1] - span]);
    coords.push([mid[0], mid[1] + 20.0 * span]);
    coords.push([mid[0] + 20.0 * span, mid[1] - span]);
    let make = |coords: &[[f64; 2]], v: [usize; 3]| {
        circumcircle(coords[v[0]], coords[v[1]], coords[v[2]]).map(|(centre, radius_sq)| Triangle {
            vertices: v,
            centre,
            radius_sq,
        })
    };
    let mut triangles: Vec<Triangle> = make(&coords, [n, n + 1, n + 2]).into_iter().collect();
    let mut seen: Vec<[f64; 2]> = Vec::with_capacity(n);
    for index in 0..n {
        let p = coords[index];
        if !p[0].is_finite() || !p[1].is_finite() || seen.contains(&p) {
            continue;
        }
        seen.push(p);
        let mut boundary: Vec<[usize; 2]> = Vec::new();
        triangles.retain(|t| {
            let inside = (p[0] - t.centre[0]).powi(2) + (p[1] - t.centre[1]).powi(2) < t.radius_sq;
            if inside {
                for k in 0..3 {
                    let edge = [t.vertices[k], t.vertices[(k + 1) % 3]];
                    // An edge shared by two removed triangles is inside the cavity.
                    if let Some(pos) = boundary
                        .iter()
                        .position(|e| e[0] == edge[1] && e[1] == edge[0])
                    {
                        boundary.swap_remove(pos);
                    } else {
                        boundary.push(edge);
                    }
                }
            }
            !inside
        });
        for edge in boundary {
            if let Some(t) = make(&coords, [edge[0], edge[1], index]) {
                triangles.push(t);
            }
        }
    }
    triangles
        .into_iter()
        .filter(|t| t.vertices.iter().all(|&v| v < n))
        .map(|t| {
            let [a, b, c] = t.vertices;
            let (pa, pb, pc) = (coords[a], coords[b], coords[c]);
            let cross = (pb[0] - pa[0]) * (pc[1] - pa[1]) - (pb[1] - pa[1]) * (pc[0] - pa[0]);
            if cross >= 0.0 {
                [a as u32, b as u32, c as u32]
            } else {
                [a as u32, c as u32, b as u32]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_square_grid_is_split_into_two_triangles_per_cell_with_its_border_on_the_hull() {
        let mut points = Vec::new();
        for y in 0..4 {
            for x in 0..5 {
                // A slight shear keeps the circumcircles from being exactly cocircular.
                points.push([x as f32 * 10.0 + y as f32 * 0.37, y as f32 * 10.0]);
            }
        }
        let mesh = FaceMesh::delaunay(&points);
        assert_eq!(mesh.triangles.len(), 4 * 3 * 2);
        let area: f32 = mesh
            .triangles
            .iter()
            .map(|t| {
                let [a, b, c] = t.map(|v| points[v as usize]);
                0.5 * ((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]))
            })
            .inspect(|area| assert!(*area > 0.0, "counter-clockwise, not degenerate"))
            .sum();
        assert!((area - 40.0 * 30.0).abs() < 1e-2, "{area}");
        let border = points.len() - 3 * 2;
        assert_eq!(mesh.on_hull.iter().filter(|h| **h).count(), border);
        assert!(!mesh.on_hull[6] && mesh.on_hull[0]);
        let hops = mesh.hops_from(&[0], 2);
        assert_eq!(hops[0], 0);
        assert_eq!(hops[1], 1);
        assert_eq!(hops[2], 2);
        assert_eq!(hops[3], u32::MAX, "beyond max_hops");
    }
}
