import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { Conv2D as TfjsConv2D } from '@tensorflow/tfjs-layers/dist/layers/convolutional';

/**
 * Convolution + bias + activation as one FusedConv2D kernel in training too, with a
 * registered gradient instead of tfjs's.
 *
 * While gradients are recorded, tfjs-layers' convolution is either unfused (conv, add,
 * relu: three kernels forward, when the activation is not linear) or, when it is linear,
 * tfjs's fused op, whose custom gradient computes every input's gradient eagerly: the
 * first layer's input gradient (a whole backward convolution) is then computed and thrown
 * away on every step. A kernel with a registered gradient is recorded like any other
 * op, so the tape asks only for the gradients it needs.
 */
const FUSED_ACTIVATIONS: Record<string, tf.fused.Activation | undefined> = { linear: 'linear', relu: 'relu' };

tf.registerGradient({
  kernelName: tf.FusedConv2D,
  inputsToSave: ['x', 'filter'],
  outputsToSave: [true],
  gradFunc: (dy, saved, attrs) => {
    const [x, filter, y] = saved as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
    const { strides, pad, dataFormat, dimRoundingMode, activation } = attrs as unknown as tf.FusedConv2DAttrs;
    if (activation !== 'linear' && activation !== 'relu')
      throw new Error(`FusedConv2D gradient: activation ${activation} is not supported`);
    // relu's gradient at y is its gradient at the input (y > 0 exactly where x > 0): the
    // registered Relu gradient, so a backend's faster one (onednn's) serves here too.
    const g =
      activation === 'relu'
        ? (tf.getGradient(tf.Relu)!.gradFunc(dy, [y], {}) as { x: () => tf.Tensor }).x()
        : (dy as tf.Tensor);
    const conv = { strides, pad, dataFormat, dimRoundingMode } as unknown as tf.NamedAttrMap;
    return {
      x: () =>
        tf.engine().runKernel(tf.Conv2DBackpropInput, { dy: g, filter }, { ...conv, inputShape: x.shape }) as tf.Tensor,
      filter: () =>
        tf
          .engine()
          .runKernel(tf.Conv2DBackpropFilter, { x, dy: g }, { ...conv, filterShape: filter.shape }) as tf.Tensor,
      bias: () => tf.sum(g, [0, 1, 2]),
    };
  },
});

// tfjs-layers does not export its layer classes: this is the one conv2d() builds.
const TfjsConv2DClass = tfl.layers.conv2d({ filters: 1, kernelSize: 1 }).constructor as typeof TfjsConv2D;

/**
 * tfjs-layers' Conv2D (same arguments, weights, results and saved topology: it
 * serializes, and registers itself, as `Conv2D`, so checkpoints load in any tfjs, and as
 * this class where @mnist/models is imported), trained as one fused kernel.
 */
export class FusedConv2D extends TfjsConv2DClass {
  static override className = 'Conv2D';

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }): tf.Tensor {
    const activation = FUSED_ACTIVATIONS[this.activation.getClassName()];
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    const plain =
      this.dataFormat === 'channelsLast' &&
      x.rank === 4 &&
      this.dilationRate.every((d) => d === 1) &&
      this.bias != null;
    if (!kwargs.training || activation == null || !plain) return super.call(inputs, kwargs) as tf.Tensor;
    return tf.tidy(
      () =>
        tf.engine().runKernel(tf.FusedConv2D, { x, filter: this.kernel.read(), bias: this.bias.read() }, {
          strides: this.strides,
          pad: this.padding,
          dataFormat: 'NHWC',
          dilations: [1, 1],
          activation,
        } as unknown as tf.NamedAttrMap) as tf.Tensor,
    );
  }
}
tf.serialization.registerClass(FusedConv2D);
