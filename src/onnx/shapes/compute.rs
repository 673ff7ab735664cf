//! Shapes of the ops that contract or window their input: MatMul and Gemm, Conv and pooling,
//! reductions.

use super::super::decode::Node;
use super::super::dims::{broadcast, fixed, norm_axis, Dim, Mono, Shape, ONE};
use super::Shapes;
use std::collections::HashSet;

pub(super) fn matmul(ctx: &Shapes, node: &Node, x: Option<&[Dim]>) -> Option<Shape> {
    let op = node.op_type.as_str();
    let b_idx = if op == "QLinearMatMul" { 3 } else { 1 };
    let fused = op == "FusedMatMul";
    match (x, ctx.get(node, b_idx)) {
        (Some(a), Some(b)) => matmul_shape(a, b, fused && node.attr_i("transA").unwrap_or(0) != 0, fused && node.attr_i("transB").unwrap_or(0) != 0),
        _ => None,
    }
}

pub(super) fn gemm(ctx: &Shapes, node: &Node, x: Option<&[Dim]>) -> Option<Shape> {
    match (x, ctx.get(node, 1)) {
        (Some(a), Some(b)) if a.len() == 2 && b.len() == 2 => {
            let m = a[usize::from(node.attr_i("transA").unwrap_or(0) != 0)];
            let n = b[usize::from(node.attr_i("transB").unwrap_or(0) == 0)];
            Some(vec![m, n])
        }
        _ => None,
    }
}

pub(super) fn conv(ctx: &Shapes, node: &Node, x: Option<&[Dim]>) -> Option<Shape> {
    let w_idx = if node.op_type == "QLinearConv" { 3 } else { 1 };
    match (x, ctx.get(node, w_idx)) {
        (Some(xs), Some(w)) if xs.len() >= 3 && w.len() == xs.len() => {
            let kernel: Option<Vec<i64>> = match node.attr_ints("kernel_shape") {
                Some(k) => Some(k.to_vec()),
                None => w[2..].iter().map(|d| d.and_then(Mono::as_fixed).map(|v| v as i64)).collect(),
            };
            let spatial = kernel.and_then(|k| window_shape(node, &xs[2..], &k, false));
            spatial.map(|sp| {
                let mut s = vec![xs[0], w[0]];
                s.extend(sp);
                s
            })
        }
        _ => None,
    }
}

pub(super) fn pool(node: &Node, x: Option<&[Dim]>) -> Option<Shape> {
    match (x, node.attr_ints("kernel_shape")) {
        (Some(xs), Some(k)) if xs.len() >= 3 => {
            let ceil = node.attr_i("ceil_mode").unwrap_or(0) != 0;
            window_shape(node, &xs[2..], k, ceil).map(|sp| {
                let mut s = vec![xs[0], xs[1]];
                s.extend(sp);
                s
            })
        }
        _ => None,
    }
}

pub(super) fn reduce(ctx: &Shapes, node: &Node, x: Option<&[Dim]>) -> Option<Shape> {
    let keep = node.attr_i("keepdims").unwrap_or(1) != 0;
    let noop = node.attr_i("noop_with_empty_axes").unwrap_or(0) != 0;
    match (x, ctx.attr_or_input(node, "axes", 1)) {
        (Some(xs), Some(axes)) => reduce_shape(xs, axes.filter(|a| !a.is_empty()), keep, noop),
        _ => None,
    }
}

pub(super) fn arg_reduce(node: &Node, x: Option<&[Dim]>) -> Option<Shape> {
    x.and_then(|xs| {
        let keep = node.attr_i("keepdims").unwrap_or(1) != 0;
        reduce_shape(xs, Some(vec![node.attr_i("axis").unwrap_or(0)]), keep, false)
    })
}

fn matmul_shape(a: &[Dim], b: &[Dim], trans_a: bool, trans_b: bool) -> Option<Shape> {
    if a.is_empty() || b.is_empty() {
        return None;
    }
    let mut a2: Shape = if a.len() == 1 { vec![Some(ONE), a[0]] } else { a.to_vec() };
    let mut b2: Shape = if b.len() == 1 { vec![b[0], Some(ONE)] } else { b.to_vec() };
    if trans_a {
        let n = a2.len();
        a2.swap(n - 1, n - 2);
    }
    if trans_b {
        let n = b2.len();
        b2.swap(n - 1, n - 2);
    }
    let mut out = broadcast(&[&a2[..a2.len() - 2], &b2[..b2.len() - 2]]);
    if a.len() > 1 {
        out.push(a2[a2.len() - 2]);
    }
    if b.len() > 1 {
        out.push(b2[b2.len() - 1]);
    }
    Some(out)
}

/// Spatial output dims of a Conv or pooling window.
fn window_shape(node: &Node, input: &[Dim], kernel: &[i64], ceil_mode: bool) -> Option<Shape> {
    let n = input.len();
    if kernel.len() != n {
        return None;
    }
    let ones = vec![1i64; n];
    let strides = node.attr_ints("strides").unwrap_or(&ones);
    let dilations = node.attr_ints("dilations").unwrap_or(&ones);
    let zeros = vec![0i64; 2 * n];
    let pads = node.attr_ints("pads").unwrap_or(&zeros);
    if strides.len() != n || dilations.len() != n || pads.len() != 2 * n {
        return None;
    }
    let auto_pad = node.attr_s("auto_pad").unwrap_or("NOTSET");
    (0..n)
        .map(|i| {
            let (k, s, d) = (i128::from(kernel[i]), i128::from(strides[i]), i128::from(dilations[i]));
            if k < 1 || s < 1 || d < 1 {
                return Some(None);
            }
            let window = d * (k - 1) + 1;
            let pad = i128::from(pads[i]) + i128::from(pads[i + n]);
            let Some(len) = input[i] else { return Some(None) };
            match len.as_fixed() {
                Some(v) => {
                    let v = i128::from(v);
                    let out = match auto_pad {
                        "SAME_UPPER" | "SAME_LOWER" => (v + s - 1) / s,
                        "VALID" => {
                            if v < window {
                                return Some(None);
                            }
                            (v - window) / s + 1
                        }
                        _ => {
                            let span = v + pad - window;
                            if span < 0 {
                                return Some(None);
                            }
                            if ceil_mode {
                                (span + s - 1) / s + 1
                            } else {
                                span / s + 1
                            }
                        }
                    };
                    Some(u64::try_from(out).ok().and_then(fixed))
                }
                None => {
                    // A symbolic length keeps its size only through a stride-1 "same" window.
                    let same = s == 1 && (auto_pad.starts_with("SAME") || (auto_pad == "NOTSET" && pad == window - 1));
                    Some(if same { Some(len) } else { None })
                }
            }
        })
        .collect::<Option<Vec<Dim>>>()
}

fn reduce_shape(xs: &[Dim], axes: Option<Vec<i64>>, keep: bool, noop: bool) -> Option<Shape> {
    let set: HashSet<usize> = match axes {
        None if noop => return Some(xs.to_vec()),
        None => (0..xs.len()).collect(),
        Some(a) => a.iter().map(|&a| norm_axis(a, xs.len())).collect::<Option<_>>()?,
    };
    Some(xs.iter().enumerate().filter_map(|(i, d)| if set.contains(&i) { keep.then_some(Some(ONE)) } else { Some(*d) }).collect())
}
