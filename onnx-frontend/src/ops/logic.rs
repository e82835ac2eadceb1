//! Comparisons and logic: Equal, Greater, GreaterOrEqual, Less, LessOrEqual, And, Or, Xor,
//! Not, Where. Booleans are exact 0 and 1.

use super::common::prelude::*;


/// Runs one node of this family (single output).
pub(crate) fn run<'a>(ctx: &Ctx<'_>, n: &Node, get: &Get<'a>) -> R<QTensor> {
    match n.op {
        Some(Op::Not) => {
            let a = get(0)?;
            Ok(QTensor { dims: a.dims.clone(), data: a.data.iter().map(|&v| i64::from(v == 0)).collect(), frac_bits: 0 })
        }
        Some(Op::Equal | Op::Greater | Op::GreaterOrEqual | Op::Less | Op::LessOrEqual) => compare(ctx, n, get(0)?, get(1)?),
        Some(Op::And | Op::Or | Op::Xor) => logic(ctx, n, get(0)?, get(1)?, n.op.expect("dispatched by its op")),
        Some(Op::Where) => where_op(ctx, n, get),
        _ => Err(ctx.unsupported(n)),
    }
}

/// Equal, Greater, GreaterOrEqual, Less, LessOrEqual: exact 0/1 outputs.
pub(crate) fn compare(ctx: &Ctx<'_>, n: &Node, a: &QTensor, b: &QTensor) -> R<QTensor> {
    let (dims, pairs) = zip2(ctx, n, a, b)?;
    let fr = a.frac_bits.max(b.frac_bits);
    let data = pairs
        .into_iter()
        .map(|(x, y)| {
            let (x, y) = (i128::from(x) << (fr - a.frac_bits), i128::from(y) << (fr - b.frac_bits));
            i64::from(match n.op {
                Some(Op::Equal) => x == y,
                Some(Op::Greater) => x > y,
                Some(Op::GreaterOrEqual) => x >= y,
                Some(Op::Less) => x < y,
                _ => x <= y,
            })
        })
        .collect();
    Ok(QTensor { dims, data, frac_bits: 0 })
}

/// And, Or, Xor (`op`) on booleans (any non-zero is true).
pub(crate) fn logic(ctx: &Ctx<'_>, n: &Node, a: &QTensor, b: &QTensor, op: Op) -> R<QTensor> {
    let (dims, pairs) = zip2(ctx, n, a, b)?;
    let data = pairs
        .into_iter()
        .map(|(x, y)| {
            let (x, y) = (x != 0, y != 0);
            i64::from(match op {
                Op::And => x && y,
                Op::Or => x || y,
                _ => x != y,
            })
        })
        .collect();
    Ok(QTensor { dims, data, frac_bits: 0 })
}

/// Where(cond, x, y).
pub(crate) fn where_op(ctx: &Ctx<'_>, n: &Node, get: &Get<'_>) -> R<QTensor> {
    let (c, x, y) = (get(0)?, get(1)?, get(2)?);
    let xy = broadcast(&x.dims, &y.dims).ok_or_else(|| ctx.err(n, format!("shapes {:?} and {:?} do not broadcast", x.dims, y.dims)))?;
    let dims = broadcast(&c.dims, &xy).ok_or_else(|| ctx.err(n, format!("the condition {:?} does not broadcast to {xy:?}", c.dims)))?;
    let numel = checked_numel(&dims).map_err(|e| ctx.err(n, e))?;
    let fr = x.frac_bits.max(y.frac_bits);
    let data = (0..numel)
        .map(|i| {
            if c.data[bcast_index(&c.dims, &dims, i)] != 0 {
                lift(x.data[bcast_index(&x.dims, &dims, i)], fr - x.frac_bits)
            } else {
                lift(y.data[bcast_index(&y.dims, &dims, i)], fr - y.frac_bits)
            }
        })
        .collect();
    Ok(QTensor { dims, data, frac_bits: fr })
}
