//! Two tract operators written for these models, where tract's generic ones are slow.
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
//! Both compute exactly what the ONNX operators define (no value differs), so the golden tests
//! against TFLite hold unchanged.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ops::cnn::{MaxPool, PaddingSpec};
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
