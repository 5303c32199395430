//! Tract operators written for these models, where tract's generic ones are slow.
//!
//! Measured per node on the landmark model (release, one thread), these two op types took about
//! a fifth of its time in tract's generic form:
//!
//! - [`ChannelPrelu`]: `PRelu` with one slope per channel, one pass over the data, in place when
//!   tract hands the input over. tract's own expansion (`Iff(0 > x, slope * x, x)`) and the
//!   exact `max`/`min` expansion it replaced both take two or three passes.
//! - [`MaxPool2x2`]: 2x2 max pooling with stride 2 and no padding on NCHW data (the BlazeFace
//!   residual blocks' downsampling branch). tract's `OptMaxPool` walks a generic patch geometry
//!   per output value; this reads two rows and writes one.
//!
//! - [`AddChannelPrelu`]: a residual `Add` and the `PRelu` after it (the end of every BlazeFace
//!   block) as one pass over the data instead of two; in place on the input tract hands over.
//!
//! All compute exactly what the ONNX operators define (no value differs), so the golden tests
//! against TFLite hold unchanged.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ops::binary::TypedBinOp;
use tract_onnx::tract_core::ops::cnn::{MaxPool, PaddingSpec};
use tract_onnx::tract_core::ops::math::Add;
use tract_onnx::tract_core::ops::nn::DataFormat;

/// `y = x` where `x >= 0`, else `slope[c] * x`, with the slope varying along one axis.
///
/// `slope` has the rank of `x`, every axis of size 1 but `axis` (of size `x.shape[axis]`).
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
pub struct ChannelPrelu {
    /// The per-channel slopes, broadcastable to the input (rank of the input).
    pub slope: Arc<Tensor>,
}

impl ChannelPrelu {
    /// The op for a constant `slope` broadcastable to an input of `rank` axes, if at most one
    /// of its axes has more than one value (per-channel or scalar slope) and it is f32.
    pub fn from_const(slope: &Tensor, rank: usize) -> Option<Self> {
        if slope.datum_type() != f32::datum_type() || slope.rank() > rank {
            return None;
        }
        if slope.shape().iter().filter(|&&d| d > 1).count() > 1 {
            return None;
        }
        let mut slope = slope.clone();
        while slope.rank() < rank {
            slope.insert_axis(0).ok()?;
        }
        Some(ChannelPrelu {
            slope: Arc::new(slope),
        })
    }

    /// (values before the channel axis, channels, values after it) for an input `shape`.
    fn geometry(&self, shape: &[usize]) -> TractResult<(usize, usize, usize)> {
        let slope_shape = self.slope.shape();
        ensure!(
            slope_shape.len() == shape.len(),
            "ChannelPrelu: slope rank {} for input rank {}",
            slope_shape.len(),
            shape.len()
        );
        let axis = slope_shape.iter().position(|&d| d > 1);
        let Some(axis) = axis else {
            return Ok((1, 1, shape.iter().product()));
        };
        ensure!(
            shape[axis] == slope_shape[axis],
            "ChannelPrelu: {} slopes for {} channels",
            slope_shape[axis],
            shape[axis]
        );
        let outer = shape[..axis].iter().product();
        let inner = shape[axis + 1..].iter().product();
        Ok((outer, shape[axis], inner))
    }
}

impl Op for ChannelPrelu {
    fn name(&self) -> StaticName {
        "ChannelPrelu".into()
    }

    op_as_typed_op!();
}

impl EvalOp for ChannelPrelu {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        let (outer, channels, inner) = self.geometry(input.shape())?;
        // In place when tract gave us the only reference (the usual case), else a copy.
        let mut tensor = input.into_tensor();
        let slope_view = self.slope.try_as_plain_ram()?;
        let slopes = slope_view.as_slice::<f32>()?;
        let mut view = tensor.try_as_plain_ram_mut()?;
        let values = view.as_slice_mut::<f32>()?;
        ensure!(
            values.len() == outer * channels * inner,
            "ChannelPrelu: bad input size"
        );
        if inner == 1 {
            for row in values.chunks_exact_mut(channels) {
                for (value, &slope) in row.iter_mut().zip(slopes) {
                    *value = prelu(*value, slope);
                }
            }
        } else {
            for (index, plane) in values.chunks_exact_mut(inner).enumerate() {
                let slope = slopes[index % channels];
                for value in plane {
                    *value = prelu(*value, slope);
                }
            }
        }
        Ok(tvec!(tensor.into_tvalue()))
    }
}

#[inline(always)]
fn prelu(x: f32, slope: f32) -> f32 {
    if x >= 0.0 { x } else { x * slope }
}

impl TypedOp for ChannelPrelu {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        Ok(tvec!(inputs[0].datum_type.fact(inputs[0].shape.clone())))
    }

    fn axes_mapping(
        &self,
        inputs: &[&TypedFact],
        outputs: &[&TypedFact],
    ) -> TractResult<AxesMapping> {
        AxesMapping::natural(inputs, outputs)
    }

    fn change_axes(
        &self,
        model: &TypedModel,
        node: &TypedNode,
        _io: InOut,
        change: &AxisOp,
    ) -> TractResult<Option<AxisChangeConsequence>> {
        let mut slope = (*self.slope).clone();
        if change.change_tensor(&mut slope, true).is_err() {
            return Ok(None);
        }
        let op = ChannelPrelu {
            slope: Arc::new(slope),
        };
        Ok(Some(AxisChangeConsequence::new(
            model,
            node,
            Some(Box::new(op)),
            change,
        )))
    }

    as_op!();
}

/// `y = prelu(a + b)`: an elementwise `Add` of two same-shaped f32 tensors followed by a
/// [`ChannelPrelu`], in one pass (and in place on whichever input tract hands over).
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
pub struct AddChannelPrelu {
    /// The PRelu applied to the sum.
    pub prelu: ChannelPrelu,
}

impl Op for AddChannelPrelu {
    fn name(&self) -> StaticName {
        "AddChannelPrelu".into()
    }

    op_as_typed_op!();
}

impl EvalOp for AddChannelPrelu {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let (a, b) = args_2!(inputs);
        ensure!(
            a.shape() == b.shape(),
            "AddChannelPrelu: shapes {:?} and {:?}",
            a.shape(),
            b.shape()
        );
        let (outer, channels, inner) = self.prelu.geometry(a.shape())?;
        // Write into the input nobody else holds (addition commutes exactly).
        let (target, other) = if b.is_exclusive() || !a.is_exclusive() {
            (b, a)
        } else {
            (a, b)
        };
        let mut tensor = target.into_tensor();
        let other_view = other.try_as_plain_ram()?;
        let addends = other_view.as_slice::<f32>()?;
        let slope_view = self.prelu.slope.try_as_plain_ram()?;
        let slopes = slope_view.as_slice::<f32>()?;
        let mut view = tensor.try_as_plain_ram_mut()?;
        let values = view.as_slice_mut::<f32>()?;
        ensure!(
            values.len() == outer * channels * inner && addends.len() == values.len(),
            "AddChannelPrelu: bad input size"
        );
        for (index, (plane, addend)) in values
            .chunks_exact_mut(inner)
            .zip(addends.chunks_exact(inner))
            .enumerate()
        {
            let slope = slopes[index % channels];
            for (value, &add) in plane.iter_mut().zip(addend) {
                *value = prelu(*value + add, slope);
            }
        }
        Ok(tvec!(tensor.into_tvalue()))
    }
}

// No `axes_mapping` / `change_axes`: letting tract move axes through this node made its
// optimiser re-orient the 1x1 convolutions around it onto a slower matmul kernel (measured:
// `fma_mmm_f32_40x2` from 5 % to 10 % of the frame time), which cost more than the fusion saves.
impl TypedOp for AddChannelPrelu {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        ensure!(
            inputs[0].shape == inputs[1].shape,
            "AddChannelPrelu: shapes differ"
        );
        Ok(tvec!(inputs[0].datum_type.fact(inputs[0].shape.clone())))
    }

    as_op!();
}

/// Fuses every f32 `Add` of two same-shaped tensors whose only consumer is a [`ChannelPrelu`]
/// into an [`AddChannelPrelu`]. Run after decluttering, before `optimize`. Returns the number of
/// pairs fused.
pub fn fuse_add_prelu(model: &mut TypedModel) -> TractResult<usize> {
    let mut fused = 0;
    for node_id in model.eval_order()? {
        let node = model.node(node_id);
        let is_add = node
            .op_as::<TypedBinOp>()
            .is_some_and(|op| op.0.is::<Add>());
        if !is_add || node.inputs.len() != 2 || node.outputs[0].successors.len() != 1 {
            continue;
        }
        let Some(successor) = model.single_succ(node_id)? else {
            continue;
        };
        let Some(prelu) = successor.op_as::<ChannelPrelu>() else {
            continue;
        };
        let (a, b) = (
            model.outlet_fact(node.inputs[0])?,
            model.outlet_fact(node.inputs[1])?,
        );
        if a.datum_type != f32::datum_type()
            || b.datum_type != f32::datum_type()
            || a.shape != b.shape
            || a.shape.as_concrete().is_none()
        {
            continue;
        }
        let op = AddChannelPrelu {
            prelu: prelu.clone(),
        };
        let mut patch = TypedModelPatch::default();
        let inputs = patch.taps(model, &node.inputs)?;
        let output = patch.wire_node(&successor.name, op, &inputs)?;
        patch.shunt_outside(model, successor.id.into(), output[0])?;
        patch.apply(model)?;
        fused += 1;
    }
    Ok(fused)
}

/// 2x2 max pooling, stride 2, no padding, NCHW f32 (odd last rows/columns are dropped, as with
/// ONNX `VALID` padding).
#[derive(Debug, Clone, Hash, PartialEq, Eq, Default)]
pub struct MaxPool2x2;

impl MaxPool2x2 {
    /// Whether tract's `op` is exactly this pooling.
    pub fn matches(op: &MaxPool) -> bool {
        let spec = &op.pool_spec;
        op.with_index_outputs.is_none()
            && spec.data_format == DataFormat::NCHW
            && spec.kernel_shape.as_slice() == [2, 2]
            && spec.strides.as_deref() == Some(&[2, 2][..])
            && spec
                .dilations
                .as_deref()
                .is_none_or(|d| d.iter().all(|&x| x == 1))
            && matches!(spec.padding, PaddingSpec::Valid)
    }
}

impl Op for MaxPool2x2 {
    fn name(&self) -> StaticName {
        "MaxPool2x2".into()
    }

    op_as_typed_op!();
}

impl EvalOp for MaxPool2x2 {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        let shape = input.shape();
        ensure!(shape.len() == 4, "MaxPool2x2: rank {} input", shape.len());
        let (planes, height, width) = (shape[0] * shape[1], shape[2], shape[3]);
        let (out_height, out_width) = (height / 2, width / 2);
        let view = input.try_as_plain_ram()?;
        let values = view.as_slice::<f32>()?;
        let mut output = Vec::with_capacity(planes * out_height * out_width);
        for plane in values.chunks_exact(height * width) {
            for out_row in 0..out_height {
                let top = &plane[2 * out_row * width..][..2 * out_width];
                let bottom = &plane[(2 * out_row + 1) * width..][..2 * out_width];
                output.extend(
                    top.chunks_exact(2)
                        .zip(bottom.chunks_exact(2))
                        .map(|(t, b)| t[0].max(t[1]).max(b[0].max(b[1]))),
                );
            }
        }
        let tensor = Tensor::from_shape(&[shape[0], shape[1], out_height, out_width], &output)?;
        Ok(tvec!(tensor.into_tvalue()))
    }
}

impl TypedOp for MaxPool2x2 {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let shape = &inputs[0].shape;
        ensure!(shape.rank() == 4, "MaxPool2x2: rank {} input", shape.rank());
        let out: TVec<TDim> = tvec![
            shape[0].clone(),
            shape[1].clone(),
            shape[2].clone() / 2,
            shape[3].clone() / 2
        ];
        Ok(tvec!(inputs[0].datum_type.fact(out)))
    }

    as_op!();
}

/// Replaces tract's `MaxPool` nodes that are 2x2/stride 2/valid NCHW with [`MaxPool2x2`].
/// Run after decluttering, before `optimize`. Returns the number of nodes replaced.
pub fn replace_max_pools(model: &mut TypedModel) -> TractResult<usize> {
    let mut replaced = 0;
    for node_id in model.eval_order()? {
        let node = model.node(node_id);
        let Some(op) = node.op_as::<MaxPool>() else {
            continue;
        };
        if !MaxPool2x2::matches(op) {
            continue;
        }
        let input_fact = model.outlet_fact(node.inputs[0])?;
        if input_fact.datum_type != f32::datum_type() || input_fact.shape.as_concrete().is_none() {
            continue;
        }
        let patch = TypedModelPatch::replace_single_op(model, node, &node.inputs, MaxPool2x2)?;
        patch.apply(model)?;
        replaced += 1;
    }
    Ok(replaced)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tract_onnx::tract_core::ops::math::add;

    /// A residual add and a per-channel PRelu become one node, with exactly the same output.
    #[test]
    fn add_then_prelu_fuses_into_one_exact_node() -> TractResult<()> {
        let shape = [1, 2, 2, 3];
        let mut model = TypedModel::default();
        let a = model.add_source("a", f32::fact(shape))?;
        let b = model.add_source("b", f32::fact(shape))?;
        let sum = model.wire_node("add", add(), &[a, b])?;
        let slope = Tensor::from_shape(&[2, 1, 1], &[0.5f32, -0.25])?;
        let prelu = ChannelPrelu::from_const(&slope, 4).expect("per-channel slope");
        let out = model.wire_node("prelu", prelu, &sum)?;
        model.select_output_outlets(&out)?;
        let values: Vec<f32> = (0..12).map(|i| i as f32 - 6.5).collect();
        let others: Vec<f32> = (0..12).map(|i| (i % 5) as f32 * 0.75 - 1.0).collect();
        let inputs = || -> TractResult<TVec<TValue>> {
            Ok(tvec![
                Tensor::from_shape(&shape, &values)?.into_tvalue(),
                Tensor::from_shape(&shape, &others)?.into_tvalue(),
            ])
        };
        let reference = model.clone().into_runnable()?.run(inputs()?)?;
        assert_eq!(fuse_add_prelu(&mut model)?, 1);
        let model = model.into_compact()?;
        let ops: Vec<String> = model
            .nodes()
            .iter()
            .map(|node| node.op().name().to_string())
            .collect();
        assert_eq!(ops, ["Source", "Source", "AddChannelPrelu"]);
        let fused = model.into_runnable()?.run(inputs()?)?;
        assert_eq!(fused[0], reference[0]);
        // Channel 0 (slope 0.5) and channel 1 (slope -0.25) both saw negative sums.
        let view = fused[0].try_as_plain_ram()?;
        let fused = view.as_slice::<f32>()?;
        assert_eq!(fused[0], (values[0] + others[0]) * 0.5);
        assert_eq!(fused[6], (values[6] + others[6]) * -0.25);
        assert_eq!(fused[11], values[11] + others[11]);
        Ok(())
    }
}
