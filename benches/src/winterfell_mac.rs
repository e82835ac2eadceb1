//! The multiply-accumulate chain (`acc' = acc + a * b`, 3 columns) as a winterfell AIR, proved
//! with Blake3 over winterfell's 64-bit field (the same Goldilocks prime) and its quadratic
//! extension.

use winterfell::crypto::hashers::Blake3_256;
use winterfell::crypto::{DefaultRandomCoin, MerkleTree};
use winterfell::math::fields::f64::BaseElement;
use winterfell::math::{FieldElement, ToElements};
use winterfell::matrix::ColMatrix;
use winterfell::{
    Air, AirContext, Assertion, AuxRandElements, BatchingMethod, CompositionPoly,
    CompositionPolyTrace, ConstraintCompositionCoefficients, DefaultConstraintCommitment,
    DefaultConstraintEvaluator, DefaultTraceLde, EvaluationFrame, FieldExtension, PartitionOptions,
    Proof, ProofOptions, Prover, StarkDomain, Trace, TraceInfo, TracePolyTable, TraceTable,
    TransitionConstraintDegree,
};

type Hash = Blake3_256<BaseElement>;

/// Public inputs: the accumulator on the last row.
#[derive(Clone, Copy, Debug)]
pub struct MacPublic {
    pub last_acc: BaseElement,
}

impl ToElements<BaseElement> for MacPublic {
    fn to_elements(&self) -> Vec<BaseElement> {
        vec![self.last_acc]
    }
}

/// The AIR.
#[allow(missing_debug_implementations)]
pub struct MacAir {
    context: AirContext<BaseElement>,
    last_acc: BaseElement,
}

impl Air for MacAir {
    type BaseField = BaseElement;
    type PublicInputs = MacPublic;

    fn new(trace_info: TraceInfo, pub_inputs: MacPublic, options: ProofOptions) -> Self {
        let degrees = vec![TransitionConstraintDegree::new(2)];
        Self { context: AirContext::new(trace_info, degrees, 2, options), last_acc: pub_inputs.last_acc }
    }

    fn evaluate_transition<E: FieldElement + From<Self::BaseField>>(
        &self,
        frame: &EvaluationFrame<E>,
        _periodic_values: &[E],
        result: &mut [E],
    ) {
        let c = frame.current();
        let n = frame.next();
        result[0] = n[0] - c[0] - c[1] * c[2];
    }

    fn get_assertions(&self) -> Vec<Assertion<Self::BaseField>> {
        let last = self.trace_length() - 1;
        vec![Assertion::single(0, 0, BaseElement::ZERO), Assertion::single(0, last, self.last_acc)]
    }

    fn context(&self) -> &AirContext<Self::BaseField> {
        &self.context
    }
}

/// The prover.
#[derive(Debug)]
pub struct MacProver {
    options: ProofOptions,
}

impl Prover for MacProver {
    type BaseField = BaseElement;
    type Air = MacAir;
    type Trace = TraceTable<BaseElement>;
    type HashFn = Hash;
    type VC = MerkleTree<Hash>;
    type RandomCoin = DefaultRandomCoin<Hash>;
    type TraceLde<E: FieldElement<BaseField = BaseElement>> = DefaultTraceLde<E, Hash, Self::VC>;
    type ConstraintCommitment<E: FieldElement<BaseField = BaseElement>> =
        DefaultConstraintCommitment<E, Hash, Self::VC>;
    type ConstraintEvaluator<'a, E: FieldElement<BaseField = BaseElement>> =
        DefaultConstraintEvaluator<'a, MacAir, E>;

    fn get_pub_inputs(&self, trace: &Self::Trace) -> MacPublic {
        MacPublic { last_acc: trace.get(0, trace.length() - 1) }
    }

    fn options(&self) -> &ProofOptions {
        &self.options
    }

    fn new_trace_lde<E: FieldElement<BaseField = BaseElement>>(
        &self,
        trace_info: &TraceInfo,
        main_trace: &ColMatrix<BaseElement>,
        domain: &StarkDomain<BaseElement>,
        partition_option: PartitionOptions,
    ) -> (Self::TraceLde<E>, TracePolyTable<E>) {
        DefaultTraceLde::new(trace_info, main_trace, domain, partition_option)
    }

    fn build_constraint_commitment<E: FieldElement<BaseField = BaseElement>>(
        &self,
        composition_poly_trace: CompositionPolyTrace<E>,
        num_constraint_composition_columns: usize,
        domain: &StarkDomain<BaseElement>,
        partition_options: PartitionOptions,
    ) -> (Self::ConstraintCommitment<E>, CompositionPoly<E>) {
        DefaultConstraintCommitment::new(
            composition_poly_trace,
            num_constraint_composition_columns,
            domain,
            partition_options,
        )
    }

    fn new_evaluator<'a, E: FieldElement<BaseField = BaseElement>>(
        &self,
        air: &'a MacAir,
        aux_rand_elements: Option<AuxRandElements<E>>,
        composition_coefficients: ConstraintCompositionCoefficients<E>,
    ) -> Self::ConstraintEvaluator<'a, E> {
        DefaultConstraintEvaluator::new(air, aux_rand_elements, composition_coefficients)
    }
}

/// Blowup 8, 28 queries, 16 grinding bits, quadratic extension, folding factor 8: the
/// parameters of `../shared/BASELINES.md`, about 100 conjectured bits.
pub fn options() -> ProofOptions {
    ProofOptions::new(28, 8, 16, FieldExtension::Quadratic, 8, 31, BatchingMethod::Linear, BatchingMethod::Linear)
}

/// A trace of `2^log_n` rows with pseudo-random factors.
pub fn trace(log_n: usize, seed: u64) -> TraceTable<BaseElement> {
    let n = 1usize << log_n;
    let mut rng = sigil_air::chips::SplitMix64(seed);
    let mut acc = vec![BaseElement::ZERO; n];
    let a: Vec<BaseElement> = (0..n).map(|_| BaseElement::new(rng.next_u64() >> 1)).collect();
    let b: Vec<BaseElement> = (0..n).map(|_| BaseElement::new(rng.next_u64() >> 1)).collect();
    for i in 1..n {
        acc[i] = acc[i - 1] + a[i - 1] * b[i - 1];
    }
    TraceTable::init(vec![acc, a, b])
}

/// Proves a trace.
pub fn prove(trace: TraceTable<BaseElement>) -> Proof {
    MacProver { options: options() }.prove(trace).expect("winterfell proves the MAC chain")
}

/// Verifies a proof.
pub fn verify(proof: Proof, last_acc: BaseElement) -> bool {
    let min = winterfell::AcceptableOptions::MinConjecturedSecurity(95);
    winterfell::verify::<MacAir, Hash, DefaultRandomCoin<Hash>, MerkleTree<Hash>>(
        proof,
        MacPublic { last_acc },
        &min,
    )
    .is_ok()
}
