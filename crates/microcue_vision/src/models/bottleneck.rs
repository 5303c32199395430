//! The landmark model's residual bottleneck block as one fused, row-streaming operator.
//!
//! Most of MediaPipe's face-landmark network is the same block repeated at 128x128, 64x64,
//! 32x32 and 16x16:
//!
//! ```text
//! x ─┬─ 1x1 conv C -> C/2 + bias ─ PRelu ─ 3x3 depthwise + bias ─ 1x1 conv C/2 -> C + bias ─┐
//!    └──────────────────────────────────────────────────────────────────────────────── add ─ PRelu
//! ```
//!
//! tract runs it as five or six nodes. At the large resolutions they are memory-bound: every
//! 1x1 convolution packs its whole NCHW input for the matrix kernel, and each node reads and
//! writes a full tensor (1 MB for 16 channels at 128x128). [`ResidualBottleneck`] computes the
//! block one image row at a time instead: the reduced row `y + 1`, the depthwise row `y` from a
//! three-row ring, then the expanded row `y` with the bias, the residual and the PRelu applied
//! before it is stored, in place over `x`. The intermediates (a few kilobytes) stay in the L1
//! cache, nothing is packed, and the input is read once and written once.
//!
//! The arithmetic is written with [`pulp`]'s safe SIMD abstraction, dispatched at run time (AVX2
//! with FMA on x86-64 where present, else SSE or scalar code). Values differ from tract's plan
//! only by float rounding (fused multiply-adds in another order): the unit test below checks the
//! block against a layer-by-layer f64 evaluation (1e-4), and the landmark golden test against
//! TFLite moved from 1.98e-4 to 2.14e-4 crop px (tolerance 1e-3).

use std::cell::RefCell;
use std::hash::{Hash, Hasher};

use pulp::{Simd, WithSimd};
use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ops::binary::TypedBinOp;
use tract_onnx::tract_core::ops::cast::Cast;
use tract_onnx::tract_core::ops::cnn::{Conv, KernelFormat, PaddingSpec};
use tract_onnx::tract_core::ops::math::Add;
use tract_onnx::tract_core::ops::nn::DataFormat;

use super::tract_ops::ChannelPrelu;

/// Output channels computed together by the 1x1 kernels (their channel counts must be a
/// multiple of it).
const BLOCK_CHANNELS: usize = 4;

/// f32 weights with bitwise equality and hashing (tract ops must be `Hash + Eq`).
#[derive(Debug, Clone)]
struct Weights(Arc<[f32]>);

impl Weights {
    fn new(values: Vec<f32>) -> Self {
        Weights(values.into())
    }
}

impl PartialEq for Weights {
    fn eq(&self, other: &Self) -> bool {
        self.0.len() == other.0.len()
            && self
                .0
                .iter()
                .zip(other.0.iter())
                .all(|(a, b)| a.to_bits() == b.to_bits())
    }
}

impl Eq for Weights {}

impl Hash for Weights {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.len().hash(state);
        for value in self.0.iter() {
            value.to_bits().hash(state);
        }
    }
}

/// A 1x1 convolution with bias followed by a per-channel PRelu, its weights packed for the
/// kernel: for each block of [`BLOCK_CHANNELS`] output channels, for each input channel, the
/// block's weights side by side.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Pointwise {
    inputs: usize,
    outputs: usize,
    packed: Weights,
    bias: Weights,
    slope: Weights,
}

impl Pointwise {
    /// From OIHW weights `[outputs][inputs]` (1x1).
    fn new(
        weights: &[f32],
        inputs: usize,
        outputs: usize,
        bias: Vec<f32>,
        slope: Vec<f32>,
    ) -> Self {
        let mut packed = Vec::with_capacity(weights.len());
        for block in (0..outputs).step_by(BLOCK_CHANNELS) {
            for input in 0..inputs {
                for output in block..block + BLOCK_CHANNELS {
                    packed.push(weights[output * inputs + input]);
                }
            }
        }
        Pointwise {
            inputs,
            outputs,
            packed: Weights::new(packed),
            bias: Weights::new(bias),
            slope: Weights::new(slope),
        }
    }
}

/// `prelu(x + expand(depthwise(reduce(x))))` on NCHW f32 data with one image: the BlazeFace
/// residual bottleneck (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResidualBottleneck {
    channels: usize,
    mid: usize,
    /// 1x1 `channels -> mid`, bias, PRelu.
    reduce: Pointwise,
    /// 3x3 depthwise weights `[mid][9]` (row-major taps).
    depthwise: Weights,
    depthwise_bias: Weights,
    /// 1x1 `mid -> channels`, bias; the residual is added before its PRelu.
    expand: Pointwise,
}

impl Op for ResidualBottleneck {
    fn name(&self) -> StaticName {
        "ResidualBottleneck".into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        Ok(vec![format!(
            "{} -> {} -> {}",
            self.channels, self.mid, self.channels
        )])
    }

    op_as_typed_op!();
}

thread_local! {
    /// Per-thread scratch for the row ring and the depthwise row, grown once and reused.
    static SCRATCH: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

impl EvalOp for ResidualBottleneck {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        let shape = input.shape();
        ensure!(
            shape.len() == 4 && shape[0] == 1 && shape[1] == self.channels,
            "ResidualBottleneck: input shape {shape:?}, expected [1, {}, H, W]",
            self.channels
        );
        let (height, width) = (shape[2], shape[3]);
        // In place when tract hands over the only reference (it does in this graph).
        let mut tensor = input.into_tensor();
        {
            let mut view = tensor.try_as_plain_ram_mut()?;
            let data = view.as_slice_mut::<f32>()?;
            ensure!(
                data.len() == self.channels * height * width,
                "ResidualBottleneck: bad input size"
            );
            SCRATCH.with_borrow_mut(|scratch| {
                pulp::Arch::new().dispatch(Block {
                    op: self,
                    data,
                    height,
                    width,
                    scratch,
                })
            });
        }
        Ok(tvec!(tensor.into_tvalue()))
    }
}

impl TypedOp for ResidualBottleneck {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        Ok(tvec!(inputs[0].datum_type.fact(inputs[0].shape.clone())))
    }

    as_op!();
}

/// One evaluation of the block, dispatched to the best SIMD level.
struct Block<'a> {
    op: &'a ResidualBottleneck,
    data: &'a mut [f32],
    height: usize,
    width: usize,
    scratch: &'a mut Vec<f32>,
}

impl WithSimd for Block<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        if !self.width.is_multiple_of(S::F32_LANES) {
            // Rows that are not a whole number of vectors: plain scalar code.
            return pulp::Scalar::new().vectorize(self);
        }
        run_block(simd, self);
    }
}

/// The first `count` whole vectors of `values`: one bounds check here, so that the kernels'
/// loops index vectors whose count the compiler knows (not one check per vector).
#[inline(always)]
fn as_vectors<S: Simd>(values: &[f32], count: usize) -> &[S::f32s] {
    &S::as_simd_f32s(values).0[..count]
}

#[inline(always)]
fn as_vectors_mut<S: Simd>(values: &mut [f32], count: usize) -> &mut [S::f32s] {
    &mut S::as_mut_simd_f32s(values).0[..count]
}

#[inline(always)]
fn prelu<S: Simd>(simd: S, value: S::f32s, slope: S::f32s) -> S::f32s {
    let zero = simd.splat_f32s(0.0);
    // max(x, 0) + slope * min(x, 0): x where x >= 0, slope * x where x < 0, exactly.
    simd.mul_add_e_f32s(
        slope,
        simd.min_f32s(value, zero),
        simd.max_f32s(value, zero),
    )
}

/// Where a 1x1 kernel reads or writes channel rows: row `c` starts at `base + c * stride`.
#[derive(Clone, Copy)]
struct Rows {
    base: usize,
    stride: usize,
}

#[inline(always)]
fn run_block<S: Simd>(simd: S, block: Block<'_>) {
    let Block {
        op,
        data,
        height,
        width,
        scratch,
    } = block;
    let lanes = S::F32_LANES;
    let vectors = width / lanes;
    let mid = op.mid;
    let plane = height * width;
    // Each reduced row is stored with one zero on either side (the depthwise padding).
    let padded = width + 2;
    let ring_len = 3 * mid * padded;
    let needed = ring_len + padded + mid * width;
    if scratch.len() < needed {
        scratch.resize(needed, 0.0);
    }
    let (ring, rest) = scratch.split_at_mut(ring_len);
    let (zeros, rest) = rest.split_at_mut(padded);
    let depthwise_row = &mut rest[..mid * width];
    ring.fill(0.0);
    zeros.fill(0.0);
    let slot = |row: usize| (row % 3) * mid * padded;

    // Reduced row 0 first; then, for each row y, reduced row y + 1 (before row y of `data` is
    // overwritten, and rows > y are still the input), depthwise row y, expanded row y.
    pointwise(
        simd,
        &op.reduce,
        data,
        Rows {
            base: 0,
            stride: plane,
        },
        &mut ring[slot(0)..slot(0) + mid * padded],
        Rows {
            base: 1,
            stride: padded,
        },
        false,
        vectors,
    );
    for y in 0..height {
        if y + 1 < height {
            let at = slot(y + 1);
            pointwise(
                simd,
                &op.reduce,
                data,
                Rows {
                    base: (y + 1) * width,
                    stride: plane,
                },
                &mut ring[at..at + mid * padded],
                Rows {
                    base: 1,
                    stride: padded,
                },
                false,
                vectors,
            );
        }
        depthwise(
            simd,
            op,
            ring,
            zeros,
            y,
            height,
            depthwise_row,
            width,
            vectors,
        );
        pointwise(
            simd,
            &op.expand,
            depthwise_row,
            Rows {
                base: 0,
                stride: width,
            },
            data,
            Rows {
                base: y * width,
                stride: plane,
            },
            true,
            vectors,
        );
    }
}

/// Row `y` of the 3x3 depthwise convolution (stride 1, zero padding 1) of the reduced rows in
/// the ring, into `out` (`[mid][width]`).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn depthwise<S: Simd>(
    simd: S,
    op: &ResidualBottleneck,
    ring: &[f32],
    zeros: &[f32],
    y: usize,
    height: usize,
    out: &mut [f32],
    width: usize,
    vectors: usize,
) {
    let mid = op.mid;
    let padded = width + 2;
    let taps = &op.depthwise.0;
    let biases = &op.depthwise_bias.0;
    for channel in 0..mid {
        let row = |r: Option<usize>| match r {
            Some(r) if r < height => {
                let at = (r % 3) * mid * padded + channel * padded;
                &ring[at..at + padded]
            }
            _ => zeros,
        };
        let rows = [row(y.checked_sub(1)), row(Some(y)), row(Some(y + 1))];
        // Plain loops, not `std::array::from_fn`: closures that are not inlined lose the SIMD
        // target features and call every intrinsic out of line (measured 3x slower).
        let mut k = [simd.splat_f32s(0.0); 9];
        for (tap, &value) in k.iter_mut().zip(&taps[channel * 9..channel * 9 + 9]) {
            *tap = simd.splat_f32s(value);
        }
        let bias = simd.splat_f32s(biases[channel]);
        // Each source row seen from columns 0, 1 and 2: the three taps of a row.
        let mut shifted: [[&[S::f32s]; 3]; 3] = [[&[]; 3]; 3];
        for (taps_of_row, source) in shifted.iter_mut().zip(&rows) {
            for (dx, view) in taps_of_row.iter_mut().enumerate() {
                *view = as_vectors::<S>(&source[dx..], vectors);
            }
        }
        let out_row = as_vectors_mut::<S>(&mut out[channel * width..], vectors);
        for (v, out_vector) in out_row.iter_mut().enumerate() {
            let mut acc = bias;
            for (dy, taps_of_row) in shifted.iter().enumerate() {
                for (dx, view) in taps_of_row.iter().enumerate() {
                    acc = simd.mul_add_e_f32s(k[dy * 3 + dx], view[v], acc);
                }
            }
            *out_vector = acc;
        }
    }
}

/// One image row of a 1x1 convolution + bias (+ the destination's current values when
/// `residual`) + PRelu, from the channel rows `src`/`from` into `dst`/`to`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn pointwise<S: Simd>(
    simd: S,
    conv: &Pointwise,
    src: &[f32],
    from: Rows,
    dst: &mut [f32],
    to: Rows,
    residual: bool,
    vectors: usize,
) {
    for block in (0..conv.outputs).step_by(BLOCK_CHANNELS) {
        let weights = &conv.packed.0[block * conv.inputs..(block + BLOCK_CHANNELS) * conv.inputs];
        let mut v = 0;
        while v + 2 <= vectors {
            tile::<S, 2>(simd, conv, weights, block, v, src, from, dst, to, residual);
            v += 2;
        }
        if v < vectors {
            tile::<S, 1>(simd, conv, weights, block, v, src, from, dst, to, residual);
        }
    }
}

/// [`BLOCK_CHANNELS`] output channels x `N` vectors of one row.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn tile<S: Simd, const N: usize>(
    simd: S,
    conv: &Pointwise,
    weights: &[f32],
    block: usize,
    v: usize,
    src: &[f32],
    from: Rows,
    dst: &mut [f32],
    to: Rows,
    residual: bool,
) {
    let lanes = S::F32_LANES;
    let offset = v * lanes;
    // Plain loops throughout (see `depthwise`).
    let mut acc = [[simd.splat_f32s(0.0); N]; BLOCK_CHANNELS];
    for (k, row) in acc.iter_mut().enumerate() {
        let bias = simd.splat_f32s(conv.bias.0[block + k]);
        if residual {
            let at = to.base + (block + k) * to.stride + offset;
            for (a, &old) in row.iter_mut().zip(as_vectors::<S>(&dst[at..], N)) {
                *a = simd.add_f32s(bias, old);
            }
        } else {
            *row = [bias; N];
        }
    }
    for (input, w) in weights.chunks_exact(BLOCK_CHANNELS).enumerate() {
        let at = from.base + input * from.stride + offset;
        let x = as_vectors::<S>(&src[at..], N);
        for (k, row) in acc.iter_mut().enumerate() {
            let wk = simd.splat_f32s(w[k]);
            for (a, &xj) in row.iter_mut().zip(x) {
                *a = simd.mul_add_e_f32s(wk, xj, *a);
            }
        }
    }
    for (k, row) in acc.iter().enumerate() {
        let slope = simd.splat_f32s(conv.slope.0[block + k]);
        let at = to.base + (block + k) * to.stride + offset;
        for (out, &a) in as_vectors_mut::<S>(&mut dst[at..], N).iter_mut().zip(row) {
            *out = prelu(simd, a, slope);
        }
    }
}

/// The constant behind `outlet` as f32 values, looking through a `Cast` of a constant (the
/// ONNX import keeps some biases as a cast of an f16 constant until decluttering).
fn const_f32(model: &TypedModel, outlet: OutletId) -> Option<Vec<f32>> {
    let fact = model.outlet_fact(outlet).ok()?;
    let tensor = match &fact.konst {
        Some(tensor) => tensor.clone(),
        None => {
            let node = model.node(outlet.node);
            node.op_as::<Cast>()?;
            let source = model.outlet_fact(*node.inputs.first()?).ok()?;
            source.konst.clone()?
        }
    };
    let tensor = tensor.cast_to::<f32>().ok()?;
    let view = tensor.try_as_plain_ram().ok()?;
    Some(view.as_slice::<f32>().ok()?.to_vec())
}

/// A convolution node's weights and bias if it is an NCHW f32 convolution with a square
/// `kernel`, stride 1, no dilation, `group` groups and "same" padding, with constant weights.
fn conv_weights(
    model: &TypedModel,
    node: &TypedNode,
    kernel: usize,
    group: usize,
) -> Option<(Vec<f32>, Vec<f32>)> {
    let conv = node.op_as::<Conv>()?;
    let spec = &conv.pool_spec;
    let ones =
        |values: &Option<TVec<usize>>| values.as_ref().is_none_or(|v| v.iter().all(|&d| d == 1));
    let pad = kernel / 2;
    let same_padding = match &spec.padding {
        PaddingSpec::Valid => pad == 0,
        PaddingSpec::Explicit(before, after) => {
            before.iter().chain(after.iter()).all(|&p| p == pad)
        }
        PaddingSpec::SameUpper | PaddingSpec::SameLower => true,
        PaddingSpec::ExplicitOnnxPool(..) => false,
    };
    if conv.q_params.is_some()
        || conv.group != group
        || conv.kernel_fmt != KernelFormat::OIHW
        || spec.data_format != DataFormat::NCHW
        || spec.kernel_shape.as_slice() != [kernel, kernel]
        || !ones(&spec.strides)
        || !ones(&spec.dilations)
        || !same_padding
        || node.inputs.len() != 3
        || node.outputs[0].successors.len() != 1
    {
        return None;
    }
    let weights = const_f32(model, node.inputs[1])?;
    let bias = const_f32(model, node.inputs[2])?;
    let expected = spec.output_channels * spec.input_channels / group * kernel * kernel;
    (weights.len() == expected && bias.len() == spec.output_channels).then_some((weights, bias))
}

/// Per-channel slopes of a [`ChannelPrelu`] with `channels` channels (broadcasting a scalar).
fn slopes(prelu: &ChannelPrelu, channels: usize) -> Option<Vec<f32>> {
    let view = prelu.slope.try_as_plain_ram().ok()?;
    let values = view.as_slice::<f32>().ok()?;
    match values.len() {
        1 => Some(vec![values[0]; channels]),
        n if n == channels => Some(values.to_vec()),
        _ => None,
    }
}

/// The bottleneck ending at the PRelu `end`, if the graph before it is exactly that block.
fn match_block(model: &TypedModel, end: &TypedNode) -> Option<(OutletId, ResidualBottleneck)> {
    let out_prelu = end.op_as::<ChannelPrelu>()?;
    let add = model.node(end.inputs.first()?.node);
    let is_add = add.op_as::<TypedBinOp>().is_some_and(|op| op.0.is::<Add>());
    if !is_add || add.inputs.len() != 2 || add.outputs[0].successors.len() != 1 {
        return None;
    }
    for (residual, branch) in [
        (add.inputs[0], add.inputs[1]),
        (add.inputs[1], add.inputs[0]),
    ] {
        let fact = model.outlet_fact(residual).ok()?;
        let shape = fact.shape.as_concrete()?;
        if fact.datum_type != f32::datum_type() || shape.len() != 4 || shape[0] != 1 {
            continue;
        }
        let channels = shape[1];
        let expand_node = model.node(branch.node);
        let Some(conv) = expand_node.op_as::<Conv>() else {
            continue;
        };
        let mid = conv.pool_spec.input_channels;
        // Rows of whole AVX vectors only: the 4x4 and 2x2 stages stay with tract (there the
        // fused block would run its scalar path and gain nothing).
        if !channels.is_multiple_of(BLOCK_CHANNELS)
            || !mid.is_multiple_of(BLOCK_CHANNELS)
            || !shape[3].is_multiple_of(8)
        {
            continue;
        }
        let Some((expand, expand_bias)) = conv_weights(model, expand_node, 1, 1) else {
            continue;
        };
        let depthwise_node = model.node(expand_node.inputs[0].node);
        let Some((depthwise, depthwise_bias)) = conv_weights(model, depthwise_node, 3, mid) else {
            continue;
        };
        let prelu_node = model.node(depthwise_node.inputs[0].node);
        let Some(reduce_prelu) = prelu_node.op_as::<ChannelPrelu>() else {
            continue;
        };
        if prelu_node.outputs[0].successors.len() != 1 {
            continue;
        }
        let reduce_node = model.node(prelu_node.inputs[0].node);
        if reduce_node.inputs.first() != Some(&residual) {
            continue;
        }
        let Some((reduce, reduce_bias)) = conv_weights(model, reduce_node, 1, 1) else {
            continue;
        };
        if reduce.len() != mid * channels
            || expand.len() != channels * mid
            || depthwise.len() != mid * 9
        {
            continue;
        }
        let op = ResidualBottleneck {
            channels,
            mid,
            reduce: Pointwise::new(
                &reduce,
                channels,
                mid,
                reduce_bias,
                slopes(reduce_prelu, mid)?,
            ),
            depthwise: Weights::new(depthwise),
            depthwise_bias: Weights::new(depthwise_bias),
            expand: Pointwise::new(
                &expand,
                mid,
                channels,
                expand_bias,
                slopes(out_prelu, channels)?,
            ),
        };
        return Some((residual, op));
    }
    None
}

/// Replaces every residual bottleneck block (see the module documentation) by one
/// [`ResidualBottleneck`]. Run on the typed model before decluttering (while the convolutions
/// are still `Conv` nodes). Returns the number of blocks fused.
pub fn fuse_residual_bottlenecks(model: &mut TypedModel) -> TractResult<usize> {
    let mut fused = 0;
    for node_id in model.eval_order()? {
        let end = model.node(node_id);
        let Some((input, op)) = match_block(model, end) else {
            continue;
        };
        let name = end.name.clone();
        let mut patch = TypedModelPatch::default();
        let tapped = patch.tap_model(model, input)?;
        let output = patch.wire_node(&name, op, &[tapped])?;
        patch.shunt_outside(model, node_id.into(), output[0])?;
        patch.apply(model)?;
        fused += 1;
    }
    Ok(fused)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The block computed the obvious way, in f64.
    fn reference(
        op: &ResidualBottleneck,
        raw: &RawWeights,
        x: &[f32],
        h: usize,
        w: usize,
    ) -> Vec<f32> {
        let (c, m) = (op.channels, op.mid);
        let prelu = |v: f64, s: f32| if v >= 0.0 { v } else { v * s as f64 };
        let mut reduced = vec![0.0f64; m * h * w];
        for o in 0..m {
            for p in 0..h * w {
                let mut sum = raw.reduce_bias[o] as f64;
                for i in 0..c {
                    sum += raw.reduce[o * c + i] as f64 * x[i * h * w + p] as f64;
                }
                reduced[o * h * w + p] = prelu(sum, raw.reduce_slope[o]);
            }
        }
        let mut depth = vec![0.0f64; m * h * w];
        for o in 0..m {
            for y in 0..h {
                for xx in 0..w {
                    let mut sum = raw.depthwise_bias[o] as f64;
                    for dy in 0..3 {
                        for dx in 0..3 {
                            let (sy, sx) =
                                (y as isize + dy as isize - 1, xx as isize + dx as isize - 1);
                            if sy >= 0 && sx >= 0 && (sy as usize) < h && (sx as usize) < w {
                                sum += raw.depthwise[o * 9 + dy * 3 + dx] as f64
                                    * reduced[o * h * w + sy as usize * w + sx as usize];
                            }
                        }
                    }
                    depth[o * h * w + y * w + xx] = sum;
                }
            }
        }
        let mut out = vec![0.0f32; c * h * w];
        for o in 0..c {
            for p in 0..h * w {
                let mut sum = raw.expand_bias[o] as f64 + x[o * h * w + p] as f64;
                for i in 0..m {
                    sum += raw.expand[o * m + i] as f64 * depth[i * h * w + p];
                }
                out[o * h * w + p] = prelu(sum, raw.out_slope[o]) as f32;
            }
        }
        out
    }

    struct RawWeights {
        reduce: Vec<f32>,
        reduce_bias: Vec<f32>,
        reduce_slope: Vec<f32>,
        depthwise: Vec<f32>,
        depthwise_bias: Vec<f32>,
        expand: Vec<f32>,
        expand_bias: Vec<f32>,
        out_slope: Vec<f32>,
    }

    fn values(n: usize, seed: u32) -> Vec<f32> {
        // A small deterministic sequence in [-1, 1).
        let mut state = seed.wrapping_mul(2654435761).wrapping_add(1);
        (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                (state % 2000) as f32 / 1000.0 - 1.0
            })
            .collect()
    }

    fn block(c: usize, m: usize) -> (ResidualBottleneck, RawWeights) {
        let raw = RawWeights {
            reduce: values(m * c, 1),
            reduce_bias: values(m, 2),
            reduce_slope: values(m, 3),
            depthwise: values(m * 9, 4),
            depthwise_bias: values(m, 5),
            expand: values(c * m, 6),
            expand_bias: values(c, 7),
            out_slope: values(c, 8),
        };
        let op = ResidualBottleneck {
            channels: c,
            mid: m,
            reduce: Pointwise::new(
                &raw.reduce,
                c,
                m,
                raw.reduce_bias.clone(),
                raw.reduce_slope.clone(),
            ),
            depthwise: Weights::new(raw.depthwise.clone()),
            depthwise_bias: Weights::new(raw.depthwise_bias.clone()),
            expand: Pointwise::new(
                &raw.expand,
                m,
                c,
                raw.expand_bias.clone(),
                raw.out_slope.clone(),
            ),
        };
        (op, raw)
    }

    fn run(op: &ResidualBottleneck, x: &[f32], h: usize, w: usize) -> Vec<f32> {
        let input = Tensor::from_shape(&[1, op.channels, h, w], x).expect("tensor");
        let output = op
            .eval_out_of_plan(tvec!(input.into_tvalue()))
            .expect("eval")
            .expect("evaluates out of plan");
        let view = output[0].try_as_plain_ram().expect("plain");
        view.as_slice::<f32>().expect("f32").to_vec()
    }

    #[test]
    fn fused_block_matches_the_layer_by_layer_definition() {
        // Widths of 16 and 24 use whole vectors (two-vector tiles and a one-vector tail); 12
        // is not a whole number of AVX vectors and takes the scalar path; heights 1 and 2 have
        // rows whose neighbours are all padding.
        for (c, m, h, w) in [(8, 4, 5, 16), (16, 8, 3, 24), (8, 8, 2, 12), (4, 4, 1, 8)] {
            let (op, raw) = block(c, m);
            let x = values(c * h * w, 9);
            let expected = reference(&op, &raw, &x, h, w);
            let got = run(&op, &x, h, w);
            let worst = expected
                .iter()
                .zip(&got)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(worst < 1e-4, "{c}x{h}x{w}: differs by {worst}");
            // Run twice with the scratch already grown: the same result.
            assert_eq!(run(&op, &x, h, w), got);
        }
    }
}
