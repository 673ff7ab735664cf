//! Shapes of the ops that move or select elements: Gather, (Un)Squeeze, Transpose, Flatten,
//! Reshape, Concat, Slice, Split, Expand, Pad, Constant.

use super::super::decode::Node;
use super::super::dims::{broadcast, fixed, fixed_i, norm_axis, product, Dim, Mono, Shape, ONE};
use super::{Arg, Shapes};
use std::collections::HashSet;

pub(super) fn gather(ctx: &Shapes, node: &Node, x: Option<&[Dim]>) -> Option<Shape> {
    match (x, ctx.get(node, 1)) {
        (Some(data), Some(idx)) => norm_axis(node.attr_i("axis").unwrap_or(0), data.len()).map(|a| {
            let mut s = data[..a].to_vec();
            s.extend_from_slice(idx);
            s.extend_from_slice(&data[a + 1..]);
            s
        }),
        _ => None,
    }
}

pub(super) fn unsqueeze(ctx: &Shapes, node: &Node, x: Option<&[Dim]>) -> Option<Shape> {
    match (x, ctx.attr_or_input(node, "axes", 1)) {
        (Some(xs), Some(Some(axes))) => {
            let rank = xs.len() + axes.len();
            let norm: Option<HashSet<usize>> = axes.iter().map(|&a| norm_axis(a, rank)).collect();
            norm.filter(|set| set.len() == axes.len()).map(|set| {
                let mut rest = xs.iter();
                (0..rank).map(|i| if set.contains(&i) { Some(ONE) } else { rest.next().copied().flatten() }).collect()
            })
        }
        _ => None,
    }
}

pub(super) fn squeeze(ctx: &Shapes, node: &Node, x: Option<&[Dim]>) -> Option<Shape> {
    match (x, ctx.attr_or_input(node, "axes", 1)) {
        (Some(xs), Some(Some(axes))) if !axes.is_empty() => {
            let norm: Option<HashSet<usize>> = axes.iter().map(|&a| norm_axis(a, xs.len())).collect();
            norm.map(|set| xs.iter().enumerate().filter(|(i, _)| !set.contains(i)).map(|(_, d)| *d).collect())
        }
        (Some(xs), Some(_)) if xs.iter().all(Option::is_some) => Some(xs.iter().copied().filter(|d| *d != Some(ONE)).collect()),
        _ => None,
    }
}

pub(super) fn transpose(node: &Node, x: Option<&[Dim]>) -> Option<Shape> {
    let xs = x?;
    let perm: Vec<i64> = match node.attr_ints("perm") {
        Some(p) => p.to_vec(),
        None => (0..xs.len() as i64).rev().collect(),
    };
    let mut seen = vec![false; xs.len()];
    let ok = perm.len() == xs.len()
        && perm.iter().all(|&p| match usize::try_from(p).ok().filter(|&p| p < xs.len()) {
            Some(p) if !seen[p] => {
                seen[p] = true;
                true
            }
            _ => false,
        });
    ok.then(|| perm.iter().map(|&p| xs[p as usize]).collect())
}

pub(super) fn flatten(node: &Node, x: Option<&[Dim]>) -> Option<Shape> {
    let xs = x?;
    let axis = node.attr_i("axis").unwrap_or(1);
    let a = if axis < 0 { axis.checked_add(xs.len() as i64)? } else { axis };
    let a = usize::try_from(a).ok().filter(|&a| a <= xs.len())?;
    Some(vec![product(&xs[..a]), product(&xs[a..])])
}

pub(super) fn reshape_op(ctx: &Shapes, node: &Node, x: Option<&[Dim]>) -> Option<Shape> {
    match (x, ctx.int_arg(node, 1)) {
        (Some(xs), Arg::Const(target)) => reshape(xs, target, node.attr_i("allowzero").unwrap_or(0) != 0),
        (None, Arg::Const(target)) if target.iter().all(|&v| v > 0) => Some(target.iter().map(|&v| fixed_i(v)).collect()),
        _ => None,
    }
}

pub(super) fn expand(ctx: &Shapes, node: &Node, x: Option<&[Dim]>) -> Option<Shape> {
    match (x, ctx.int_arg(node, 1)) {
        (Some(xs), Arg::Const(target)) => {
            let t: Shape = target.iter().map(|&v| fixed_i(v)).collect();
            Some(broadcast(&[xs, &t]))
        }
        _ => None,
    }
}

pub(super) fn pad(ctx: &Shapes, node: &Node, x: Option<&[Dim]>) -> Option<Shape> {
    let xs = x?;
    let pads = match node.attr_ints("pads") {
        Some(p) => p.to_vec(),
        None => match ctx.int_arg(node, 1) {
            Arg::Const(p) => p.to_vec(),
            _ => return None,
        },
    };
    if node.input(3).is_some() || pads.len() != 2 * xs.len() {
        return None;
    }
    // Each dim: unknown when its padding cannot be added.
    let padded = |(i, d): (usize, &Dim)| -> Dim {
        let add = pads[i].checked_add(pads[i + xs.len()])?;
        if add == 0 {
            return *d;
        }
        let v = i64::try_from(d.and_then(|m| m.as_fixed())?).ok()?.checked_add(add)?;
        fixed_i(v)
    };
    Some(xs.iter().enumerate().map(padded).collect())
}

/// A Constant's shape; integer values are kept for the nodes that read them.
pub(super) fn constant(ctx: &mut Shapes, node: &Node) -> Option<Shape> {
    if let Some(t) = node.attr("value").and_then(|a| a.t.as_ref()) {
        if let Some(ints) = &t.ints {
            ctx.consts.insert(node.outputs[0].clone(), ints.clone());
        }
        Some(t.dims.iter().map(|&d| fixed(d)).collect())
    } else if let Some(i) = node.attr_i("value_int") {
        ctx.consts.insert(node.outputs[0].clone(), vec![i]);
        Some(vec![])
    } else if let Some(v) = node.attr_ints("value_ints") {
        ctx.consts.insert(node.outputs[0].clone(), v.to_vec());
        Some(vec![fixed(v.len() as u64)])
    } else if node.attr("value_float").is_some_and(|a| a.f.is_some()) {
        Some(vec![])
    } else {
        node.attr("value_floats").map(|a| vec![fixed(a.floats as u64)])
    }
}

fn reshape(xs: &[Dim], target: &[i64], allowzero: bool) -> Option<Shape> {
    let mut out: Shape = Vec::with_capacity(target.len());
    let mut infer_at = None;
    for (i, &v) in target.iter().enumerate() {
        match v {
            -1 => {
                if infer_at.replace(i).is_some() {
                    return None;
                }
                out.push(None);
            }
            0 if !allowzero => out.push(*xs.get(i)?),
            v if v >= 0 => out.push(fixed_i(v)),
            _ => return None,
        }
    }
    if let Some(i) = infer_at {
        let others: Shape = out.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, d)| *d).collect();
        out[i] = match (product(xs), product(&others)) {
            (Some(total), Some(rest)) => total.div(rest),
            _ => None,
        };
    }
    Some(out)
}

pub(super) fn concat(shapes: &[&Shape], axis: i64) -> Option<Shape> {
    let rank = shapes[0].len();
    if shapes.iter().any(|s| s.len() != rank) {
        return None;
    }
    let a = norm_axis(axis, rank)?;
    Some(
        (0..rank)
            .map(|i| {
                if i == a {
                    let first = shapes[0][i]?;
                    shapes.iter().try_fold(Mono { coef: 0, ..first }, |acc, s| {
                        let d = s[i]?;
                        (d.batch == acc.batch && d.seq == acc.seq).then(|| acc.coef.checked_add(d.coef).map(|c| Mono { coef: c, ..acc }))?
                    })
                } else {
                    let first = shapes[0][i];
                    shapes.iter().all(|s| s[i] == first).then_some(first).flatten()
                }
            })
            .collect(),
    )
}

pub(super) fn slice(ctx: &Shapes, node: &Node, xs: &[Dim]) -> Option<Shape> {
    let get = |attr: &str, i: usize| -> Option<Option<Vec<i64>>> { ctx.attr_or_input(node, attr, i) };
    let starts = get("starts", 1)??;
    let ends = get("ends", 2)??;
    let axes = get("axes", 3)?.unwrap_or_else(|| (0..starts.len() as i64).collect());
    let steps = match ctx.int_arg(node, 4) {
        Arg::Absent => vec![1; starts.len()],
        Arg::Const(v) => v.to_vec(),
        Arg::Dynamic => return None,
    };
    if ends.len() != starts.len() || axes.len() != starts.len() || steps.len() != starts.len() {
        return None;
    }
    let mut out = xs.to_vec();
    for j in 0..starts.len() {
        let a = norm_axis(axes[j], xs.len())?;
        let (start, end, step) = (starts[j], ends[j], steps[j]);
        out[a] = match xs[a].and_then(Mono::as_fixed) {
            Some(len) => {
                let len = i128::from(len);
                let clamp = |v: i64, lo: i128, hi: i128| -> i128 {
                    let v = i128::from(v);
                    let v = if v < 0 { v + len } else { v };
                    v.clamp(lo, hi)
                };
                let n = if step > 0 {
                    let (s, e) = (clamp(start, 0, len), clamp(end, 0, len));
                    if e > s {
                        (e - s + i128::from(step) - 1) / i128::from(step)
                    } else {
                        0
                    }
                } else if step < 0 {
                    let (s, e) = (clamp(start, -1, len - 1), clamp(end, -1, len - 1));
                    if s > e {
                        (s - e - i128::from(step) - 1) / -i128::from(step)
                    } else {
                        0
                    }
                } else {
                    return None;
                };
                u64::try_from(n).ok().and_then(fixed)
            }
            None => {
                if step == 1 && start == 0 && end >= i64::from(i32::MAX) {
                    xs[a] // the whole axis
                } else if step == 1 && start >= 0 && end >= start && end < i64::from(i32::MAX) {
                    fixed_i(end - start) // a leading window, e.g. the [CLS] token; assumes the axis is that long
                } else {
                    None
                }
            }
        };
    }
    Some(out)
}

pub(super) fn split(ctx: &Shapes, node: &Node, xs: &[Dim]) -> Option<Vec<Shape>> {
    let a = norm_axis(node.attr_i("axis").unwrap_or(0), xs.len())?;
    let k = node.outputs.len();
    let sizes: Vec<Dim> = match ctx.attr_or_input(node, "split", 1)? {
        Some(split) if split.len() == k => split.iter().map(|&v| fixed_i(v)).collect(),
        Some(_) => return None,
        None => {
            let d = xs[a].and_then(Mono::as_fixed).filter(|&d| k > 0 && d % k as u64 == 0);
            vec![d.and_then(|d| fixed(d / k as u64)); k]
        }
    };
    Some(
        sizes
            .into_iter()
            .map(|s| {
                let mut o = xs.to_vec();
                o[a] = s;
                o
            })
            .collect(),
    )
}
