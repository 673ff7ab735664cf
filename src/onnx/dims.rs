//! Symbolic dimensions: every dimension is a monomial `c · batch^i · sequence^j` or unknown, so a
//! shape can be "per example" (divided by the batch) and costed at any sequence length.

/// `coef · batch^batch · sequence^seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Mono {
    pub(super) coef: u64,
    pub(super) batch: u32,
    pub(super) seq: u32,
}

pub(super) type Dim = Option<Mono>;
pub(super) type Shape = Vec<Dim>;

pub(super) const ONE: Mono = Mono { coef: 1, batch: 0, seq: 0 };
pub(super) const BATCH: Mono = Mono { coef: 1, batch: 1, seq: 0 };
pub(super) const SEQ: Mono = Mono { coef: 1, batch: 0, seq: 1 };

pub(super) fn fixed(n: u64) -> Dim {
    Some(Mono { coef: n, batch: 0, seq: 0 })
}

pub(super) fn fixed_i(n: i64) -> Dim {
    u64::try_from(n).ok().and_then(fixed)
}

impl Mono {
    pub(super) fn mul(self, o: Mono) -> Option<Mono> {
        Some(Mono { coef: self.coef.checked_mul(o.coef)?, batch: self.batch.checked_add(o.batch)?, seq: self.seq.checked_add(o.seq)? })
    }

    pub(super) fn div(self, o: Mono) -> Option<Mono> {
        if o.coef == 0 || !self.coef.is_multiple_of(o.coef) {
            return None;
        }
        Some(Mono { coef: self.coef / o.coef, batch: self.batch.checked_sub(o.batch)?, seq: self.seq.checked_sub(o.seq)? })
    }

    pub(super) fn as_fixed(self) -> Option<u64> {
        (self.batch == 0 && self.seq == 0).then_some(self.coef)
    }

    pub(super) fn eval(self, sequence: f64) -> f64 {
        let pow = i32::try_from(self.seq).unwrap_or(i32::MAX);
        self.coef as f64 * sequence.powi(pow)
    }
}

pub(super) fn product(dims: &[Dim]) -> Dim {
    dims.iter().try_fold(ONE, |acc, d| acc.mul((*d)?))
}

/// Elements of one example: the product of the dims, divided by the batch.
pub(super) fn per_example(shape: &[Dim]) -> Option<Mono> {
    let p = product(shape)?;
    match p.batch {
        0 => Some(p),
        1 => Some(Mono { batch: 0, ..p }),
        _ => None,
    }
}

pub(super) fn broadcast(shapes: &[&[Dim]]) -> Shape {
    let rank = shapes.iter().map(|s| s.len()).max().unwrap_or(0);
    (0..rank)
        .map(|i| {
            // i-th dimension counting from the right.
            let dims: Vec<Dim> = shapes.iter().filter(|s| s.len() > i).map(|s| s[s.len() - 1 - i]).filter(|d| *d != Some(ONE)).collect();
            match dims.first() {
                None => Some(ONE),
                Some(first) if dims.iter().all(|d| d == first) => *first,
                _ => None,
            }
        })
        .rev()
        .collect()
}

pub(super) fn norm_axis(axis: i64, rank: usize) -> Option<usize> {
    let r = rank as i64;
    let a = if axis < 0 { axis.checked_add(r)? } else { axis };
    (0..r).contains(&a).then_some(a as usize)
}

pub(super) fn merge(inferred: Option<Shape>, declared: Option<&Shape>) -> Option<Shape> {
    match (inferred, declared) {
        (Some(a), Some(b)) if a.len() == b.len() => Some(a.iter().zip(b).map(|(x, y)| x.or(*y)).collect()),
        (Some(a), _) => Some(a),
        (None, Some(b)) => Some(b.clone()),
        (None, None) => None,
    }
}
