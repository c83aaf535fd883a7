import * as tfl from '@tensorflow/tfjs-layers';

/**
 * PyTorch's default initialisation for Conv2d and Linear (kaiming_uniform with a=sqrt(5)
 * for weights, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for biases), so that the study starts
 * where the seed's PyTorch study started. Seeds are derived per layer from the model seed.
 */
export function torchStyleInit(seed: number, layerIndex: number, fanIn: number) {
  const bound = 1 / Math.sqrt(fanIn);
  const base = (seed * 7919 + layerIndex * 104729) % 2 ** 31;
  return {
    kernelInitializer: tfl.initializers.varianceScaling({
      scale: 1 / 3,
      mode: 'fanIn',
      distribution: 'uniform',
      seed: base,
    }),
    biasInitializer: tfl.initializers.randomUniform({ minval: -bound, maxval: bound, seed: base + 1 }),
  };
}
