import * as tf from '@tensorflow/tfjs-core';
import type { OptimizerSpec } from '@mnist/protocol';

/**
 * The optimizer of a spec. tfjs's momentum update (v = m*v + g; w -= lr*v) is PyTorch's
 * SGD with momentum and no dampening; its Adam matches torch.optim.Adam's defaults.
 */
export function createOptimizer(spec: OptimizerSpec): tf.Optimizer {
  switch (spec.type) {
    case 'sgd':
      return spec.momentum > 0 ? new FusedMomentumOptimizer(spec.lr, spec.momentum) : tf.train.sgd(spec.lr);
    case 'adam':
      return tf.train.adam(spec.lr, spec.beta1, spec.beta2, spec.epsilon);
  }
}

/**
 * Where the backend implements it, one kernel per variable does tfjs's momentum step
 * (`MomentumUpdate`, see @mnist/tfjs-backend-onednn): the same numbers as tfjs's four
 * kernels, without their per-call cost (a LeNet-5 step calls ~60 kernels for the update
 * alone). Elsewhere, and with Nesterov momentum, this is tfjs's MomentumOptimizer.
 */
export const MOMENTUM_UPDATE = 'MomentumUpdate';

/** MomentumOptimizer's private state in tfjs-core 4.22 (the version this package pins). */
interface MomentumState {
  m: tf.Scalar;
  c: tf.Scalar;
  useNesterov: boolean;
  accumulations: Array<{ originalName: string; variable: tf.Variable } | undefined>;
}

export class FusedMomentumOptimizer extends tf.MomentumOptimizer {
  override applyGradients(variableGradients: Parameters<tf.MomentumOptimizer['applyGradients']>[0]): void {
    const state = this as unknown as MomentumState;
    if (state.useNesterov || tf.getKernel(MOMENTUM_UPDATE, tf.getBackend()) == null) {
      super.applyGradients(variableGradients);
      return;
    }
    const list = Array.isArray(variableGradients)
      ? variableGradients
      : Object.keys(variableGradients).map((name) => ({ name, tensor: variableGradients[name] }));
    const attrs = { c: state.c.dataSync()[0]!, m: state.m.dataSync()[0]! } as unknown as tf.NamedAttrMap;
    list.forEach(({ name, tensor: gradient }, i) => {
      const value = tf.engine().registeredVariables[name]!;
      state.accumulations[i] ??= {
        originalName: `${name}/momentum`,
        variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
      };
      if (gradient == null) return;
      const accumulation = state.accumulations[i]!.variable;
      tf.tidy(() => {
        const [newValue, newAccumulation] = tf
          .engine()
          .runKernel(MOMENTUM_UPDATE, { value, accumulation, gradient }, attrs) as tf.Tensor[];
        accumulation.assign(newAccumulation!);
        value.assign(newValue!);
      });
    });
    this.incrementIterations();
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
