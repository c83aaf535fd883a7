import * as tf from '@tensorflow/tfjs-core';
import type { OptimizerSpec } from '@mnist/protocol';

/**
 * The optimizer of a spec. tfjs's momentum update (v = m*v + g; w -= lr*v) is PyTorch's
 * SGD with momentum and no dampening; its Adam matches torch.optim.Adam's defaults.
 */
export function createOptimizer(spec: OptimizerSpec): tf.Optimizer {
  switch (spec.type) {
    case 'sgd':
      return spec.momentum > 0 ? tf.train.momentum(spec.lr, spec.momentum) : tf.train.sgd(spec.lr);
    case 'adam':
      return tf.train.adam(spec.lr, spec.beta1, spec.beta2, spec.epsilon);
  }
}

/**
 * Frees an optimizer's tensors. tfjs 4.22's MomentumOptimizer.dispose forgets the
 * learning-rate scalar its SGD base class keeps: one tensor per run would leak.
 */
export function disposeOptimizer(optimizer: tf.Optimizer): void {
  optimizer.dispose();
  if (optimizer instanceof tf.MomentumOptimizer) (optimizer as unknown as { c?: tf.Tensor }).c?.dispose();
}
