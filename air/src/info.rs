//! What a chip's symbolic evaluation tells about it: widths, degrees, interactions, and the
//! canonical description that is hashed into the circuit id.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::air::{BusId, Chip, Direction, SymbolicBuilder};
use crate::expr::{Expr, Var};

/// A chip that cannot be proven as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChipDefinitionError {
    pub chip: String,
    pub reason: String,
}

impl core::fmt::Display for ChipDefinitionError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "chip `{}`: {}", self.chip, self.reason)
    }
}

/// The shape of one interaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InteractionShape {
    pub bus: BusId,
    pub dir: Direction,
    pub arity: usize,
}

/// Everything the prover and verifier need to know about a chip besides its traces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChipInfo {
    pub name: String,
    pub width: usize,
    pub prep_width: usize,
    /// The height fixed by the preprocessed columns, if any.
    pub prep_height: Option<usize>,
    /// Auxiliary (extension-field) columns, computed after the challenges.
    pub aux_width: usize,
    /// Challenges the chip reads.
    pub n_challenges: usize,
    /// The largest degree of a constraint in the challenges and auxiliary columns together
    /// (0 for a chip without them): with the height, it bounds the degree of the chip's
    /// identity in the challenges (`docs/soundness.md`).
    pub challenge_degree: usize,
    pub n_constraints: usize,
    pub interactions: Vec<InteractionShape>,
    /// The interactions' LogUp batches, in order: batch `k` of `logup_batches[k]` consecutive
    /// interactions shares helper column `k` (`docs/soundness.md`, LogUp).
    pub logup_batches: Vec<usize>,
    /// The largest constraint degree, LogUp constraints included (selectors count 1).
    pub max_degree: usize,
    /// log2 of the number of quotient chunks.
    pub log_quotient_degree: usize,
    /// Every public-value index the chip reads, in constraints or interactions, ascending.
    pub publics_read: Vec<usize>,
    /// Canonical, unambiguous encoding of the chip: every part length-prefixed, every list
    /// preceded by its count.
    pub description: Vec<u8>,
}

impl ChipInfo {
    /// One more than the largest public-value index the chip reads (0 if none).
    pub fn n_publics_read(&self) -> usize {
        self.publics_read.last().map_or(0, |&i| i + 1)
    }

    /// Number of LogUp columns (extension elements per row): one per batch of interactions
    /// (a helper for each batch but the last, then the running sum, which carries the last
    /// batch), or none for a chip without interactions.
    pub fn perm_width(&self) -> usize {
        self.logup_batches.len()
    }

    /// Number of quotient chunks.
    pub fn quotient_degree(&self) -> usize {
        1 << self.log_quotient_degree
    }

    /// Evaluates `chip` symbolically and checks that it is well formed.
    pub fn of(chip: &dyn Chip) -> Result<Self, ChipDefinitionError> {
        let name = chip.name();
        let err = |reason: String| ChipDefinitionError { chip: name.clone(), reason };
        let width = chip.width();
        if width == 0 {
            return Err(err("a chip needs at least one main column".into()));
        }
        let prep = chip.preprocessed_trace();
        let (prep_width, prep_height) = match &prep {
            Some(t) => {
                let h = t.height();
                if t.width == 0 || !h.is_power_of_two() {
                    return Err(err(format!(
                        "preprocessed trace is {}x{}; its height must be a power of two",
                        h, t.width
                    )));
                }
                (t.width, Some(h))
            }
            None => (0, None),
        };
        let aux_width = chip.aux_width();
        let n_challenges = chip.n_challenges();
        let mut sb = SymbolicBuilder::default();
        chip.eval_symbolic(&mut sb);

        let mut publics_read: Vec<usize> = Vec::new();
        let mut max_degree = 0;
        let mut check = |e: &Expr| -> Result<usize, ChipDefinitionError> {
            let mut bad = None;
            visit(e, &mut |v| match v {
                Var::Main { col, .. } if col >= width => bad = Some(format!("main column {col} of {width}")),
                Var::Prep { col, .. } if col >= prep_width => {
                    bad = Some(format!("preprocessed column {col} of {prep_width}"))
                }
                Var::Aux { col, .. } if col >= aux_width => bad = Some(format!("auxiliary column {col} of {aux_width}")),
                Var::Challenge(i) if i >= n_challenges => bad = Some(format!("challenge {i} of {n_challenges}")),
                Var::Public(i) => {
                    if let Err(at) = publics_read.binary_search(&i) {
                        publics_read.insert(at, i);
                    }
                }
                _ => {}
            });
            match bad {
                Some(b) => Err(err(format!("constraint reads {b}"))),
                None => Ok(e.degree()),
            }
        };
        // The description is a sequence of length-prefixed parts and counts, so that no two
        // chips share one: a label's bytes can never be read as an interaction, nor one
        // constraint's encoding as the start of the next.
        let mut d = Description::default();
        // A chip whose constraints multiply auxiliary columns says so in its first part.
        d.bytes(if chip.aux_products() { b"chip+aux-products".as_slice() } else { b"chip".as_slice() });
        d.bytes(name.as_bytes());
        d.u64(width as u64);
        d.u64(prep_width as u64);
        d.u64(prep_height.unwrap_or(0) as u64);
        d.u64(aux_width as u64);
        d.u64(n_challenges as u64);
        d.u64(sb.constraints.len() as u64);
        let mut challenge_degree = 0;
        for (label, c) in &sb.constraints {
            max_degree = max_degree.max(check(c)?);
            let aux_degree = c.degree_by(&|v| usize::from(matches!(v, Var::Aux { .. })));
            if aux_degree > 1 + usize::from(chip.aux_products()) {
                return Err(err(format!("constraint `{label}` is not linear in the auxiliary columns")));
            }
            challenge_degree =
                challenge_degree.max(c.degree_by(&|v| usize::from(matches!(v, Var::Aux { .. } | Var::Challenge(_)))));
            d.bytes(label.as_bytes());
            d.expr(c);
        }
        // The chip's own degree bounds how many interactions may share a helper column.
        let own_degree = max_degree;
        d.u64(sb.interactions.len() as u64);
        let mut interactions = Vec::new();
        let mut degrees = Vec::new();
        let in_aux = |e: &Expr| e.degree_by(&|v| usize::from(matches!(v, Var::Aux { .. } | Var::Challenge(_)))) > 0;
        for i in &sb.interactions {
            if i.fields.iter().any(in_aux) || in_aux(&i.multiplicity) {
                return Err(err("an interaction reads an auxiliary column or a challenge".into()));
            }
            let mut field_degree = 0;
            for f in &i.fields {
                field_degree = field_degree.max(check(f)?);
            }
            if let Some(c) = i.bus_col {
                // A stacked table's bus is a preprocessed column: the fingerprint has degree 1
                // at least.
                field_degree = field_degree.max(check(&Expr::Var(Var::Prep { col: c, next: false }))?);
            }
            let mult_degree = check(&i.multiplicity)?;
            degrees.push((field_degree, mult_degree));
            // A bus read from a column flags the direction word with 2 and follows the bus:
            // every other interaction encodes as it always has.
            let dir = match i.dir {
                Direction::Send => 0,
                Direction::Receive => 1,
            };
            d.u64(dir + 2 * u64::from(i.bus_col.is_some()));
            d.u64(u64::from(i.bus));
            if let Some(c) = i.bus_col {
                d.u64(c as u64);
            }
            d.u64(i.fields.len() as u64);
            for f in &i.fields {
                d.expr(f);
            }
            d.expr(&i.multiplicity);
            interactions.push(InteractionShape { bus: i.bus, dir: i.dir, arity: i.fields.len() });
        }
        let logup_batches = logup_batches(&degrees, own_degree.max(3));
        let mut start = 0;
        d.u64(logup_batches.len() as u64);
        for &b in &logup_batches {
            d.u64(b as u64);
            // u * prod(fingerprints) - sum(+/- m_j * prod(other fingerprints)), u a helper
            // or the running sum's cyclic step (degree 1: a column, the next row's, the
            // last-row selector); at least 2.
            max_degree = max_degree.max(batch_degree(&degrees[start..start + b])).max(2);
            start += b;
        }
        let description = d.0;
        let chunks = max_degree.saturating_sub(1).max(1);
        let log_quotient_degree = chunks.next_power_of_two().trailing_zeros() as usize;
        Ok(ChipInfo {
            name,
            width,
            prep_width,
            prep_height,
            aux_width,
            n_challenges,
            challenge_degree,
            n_constraints: sb.constraints.len(),
            interactions,
            logup_batches,
            max_degree,
            log_quotient_degree,
            publics_read,
            description,
        })
    }
}

pub use crate::air::MAX_LOGUP_BATCH;

/// The degree of the LogUp constraint of a batch of interactions with these (fingerprint,
/// multiplicity) degrees: `h * prod d_i - sum_j (+/- m_j) prod_{i != j} d_i`.
fn batch_degree(b: &[(usize, usize)]) -> usize {
    let fsum: usize = b.iter().map(|&(f, _)| f).sum();
    b.iter().map(|&(f, m)| m + fsum - f).max().unwrap_or(0).max(1 + fsum)
}

/// Groups consecutive interactions into LogUp batches: a batch grows while its constraint's
/// degree stays within `target` (the chip's own degree, at least 3) and it holds at most
/// [`MAX_LOGUP_BATCH`].
fn logup_batches(degrees: &[(usize, usize)], target: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut start = 0;
    for end in 1..=degrees.len() {
        let next = degrees.get(start..=end);
        let full = end - start == MAX_LOGUP_BATCH || next.is_none_or(|b| batch_degree(b) > target);
        if full {
            out.push(end - start);
            start = end;
        }
    }
    out
}

/// Builds an unambiguous description (of a chip, or of a circuit): byte strings with their
/// length in front, numbers at a fixed width, lists after their count.
#[derive(Clone, Debug, Default)]
pub struct Description(pub Vec<u8>);

impl Description {
    /// A number, 8 bytes little-endian.
    pub fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    /// A byte string, after its length.
    pub fn bytes(&mut self, b: &[u8]) {
        self.u64(b.len() as u64);
        self.0.extend_from_slice(b);
    }
    /// An expression's canonical encoding, after its length.
    pub fn expr(&mut self, e: &Expr) {
        let mut enc = Vec::new();
        e.encode(&mut enc);
        self.bytes(&enc);
    }
}

pub(crate) fn visit(e: &Expr, f: &mut impl FnMut(Var)) {
    match e {
        Expr::Const(_) => {}
        Expr::Var(v) => f(*v),
        Expr::Add(a, b) | Expr::Sub(a, b) | Expr::Mul(a, b) => {
            visit(a, f);
            visit(b, f);
        }
        Expr::Neg(a) => visit(a, f),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::air::{Air, AirBuilder};
    use crate::expr::FieldExpr;
    use alloc::string::ToString;

    /// Two constraints (one reading a public value) and two interactions.
    struct Toy;

    impl Air for Toy {
        fn name(&self) -> String {
            "toy".into()
        }
        fn width(&self) -> usize {
            2
        }
        fn eval<B: AirBuilder>(&self, b: &mut B) {
            let (x, y) = (b.main(0), b.main(1));
            b.assert_zero("x is y squared", x.clone() - y.clone() * y.clone());
            let last = b.is_last_row();
            b.assert_zero("y ends at the public value", last * (y.clone() - b.public(2)));
            b.send(7, &[x.clone(), y.clone()], B::Var::lit(1));
            b.receive(9, &[x], y);
        }
    }

    /// Reads a description back part by part: every part is found by its length or count alone.
    struct Parser<'a>(&'a [u8]);

    impl Parser<'_> {
        fn u64(&mut self) -> u64 {
            let (a, b) = self.0.split_at(8);
            self.0 = b;
            u64::from_le_bytes(a.try_into().unwrap())
        }
        fn bytes(&mut self) -> Vec<u8> {
            let n = self.u64() as usize;
            let (a, b) = self.0.split_at(n);
            self.0 = b;
            a.to_vec()
        }
    }

    fn encoded(e: &Expr) -> Vec<u8> {
        let mut v = Vec::new();
        e.encode(&mut v);
        v
    }

    #[test]
    fn description_parses_back_into_its_parts() {
        let info = ChipInfo::of(&Toy as &dyn Chip).unwrap();
        let mut sb = SymbolicBuilder::default();
        Toy.eval(&mut sb);
        let mut p = Parser(&info.description);
        assert_eq!(p.bytes(), b"chip");
        assert_eq!(p.bytes(), b"toy");
        assert_eq!((p.u64(), p.u64(), p.u64()), (2, 0, 0));
        assert_eq!((p.u64(), p.u64()), (0, 0), "no auxiliary columns, no challenges");
        assert_eq!(p.u64(), 2);
        for (label, c) in &sb.constraints {
            assert_eq!(p.bytes(), label.as_bytes());
            assert_eq!(p.bytes(), encoded(c));
        }
        assert_eq!(p.u64(), 2);
        for (i, (dir, bus)) in sb.interactions.iter().zip([(0, 7), (1, 9)]) {
            assert_eq!((p.u64(), p.u64()), (dir, bus));
            assert_eq!(p.u64(), i.fields.len() as u64);
            for f in &i.fields {
                assert_eq!(p.bytes(), encoded(f));
            }
            assert_eq!(p.bytes(), encoded(&i.multiplicity));
        }
        // The LogUp batches: their count, then each size.
        let n = p.u64() as usize;
        let sizes: Vec<u64> = (0..n).map(|_| p.u64()).collect();
        assert_eq!(sizes.iter().sum::<u64>(), 2);
        assert_eq!(info.logup_batches.iter().map(|&b| b as u64).collect::<Vec<_>>(), sizes);
        assert!(p.0.is_empty(), "{} bytes left over", p.0.len());
        assert_eq!(info.publics_read, [2]);
        assert_eq!(info.n_publics_read(), 3);
        assert_eq!(info.name.to_string(), "toy");
    }
}
