import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { BatchNorm } from './batch-norm.js';
import { FusedConv2D } from './conv2d.js';

/** A one-layer model around `layer`, its gamma/beta set to non-trivial values. */
function around(layer: tfl.layers.Layer): tfl.Sequential {
  const model = tfl.sequential({ layers: [tfl.layers.inputLayer({ inputShape: [5, 5, 6] }), layer] });
  const [gamma, beta] = [tf.linspace(0.5, 2, 6), tf.linspace(-1, 1, 6)];
  model.setWeights([gamma, beta, ...model.getWeights().slice(2)]);
  tf.dispose([gamma, beta]);
  return model;
}

const values = (ts: tf.Tensor[]) => ts.map((t) => Array.from(t.dataSync()));

describe('BatchNorm (where the backend has no fused kernels: tfjs-layers, to the bit)', () => {
  it('same weights, training output, gradients, moving averages and inference as batchNormalization', () => {
    const ours = around(new BatchNorm({ name: 'bn', axis: -1, momentum: 0.9, epsilon: 1e-5 }));
    const theirs = around(tfl.layers.batchNormalization({ name: 'bn', axis: -1, momentum: 0.9, epsilon: 1e-5 }));
    const names = (m: tfl.Sequential) => m.weights.map((v) => [v.originalName, v.trainable]);
    expect(names(ours)).toEqual(names(theirs));
    expect(names(ours).map(([n]) => n)).toEqual(['bn/gamma', 'bn/beta', 'bn/moving_mean', 'bn/moving_variance']);

    const x = tf.randomNormal([8, 5, 5, 6], 2, 3, 'float32', 7);
    const w = tf.randomNormal([8, 5, 5, 6], 0, 1, 'float32', 8);
    const step = (m: tfl.Sequential) => {
      const vars = m.trainableWeights.map((v) => v.read() as tf.Variable);
      const { value, grads } = tf.variableGrads(
        () => tf.sum(tf.mul(m.apply(x, { training: true }) as tf.Tensor, w)),
        vars,
      );
      return values([value, ...vars.map((v) => grads[v.name]!)]);
    };
    expect(step(ours)).toEqual(step(theirs));
    expect(values(ours.getWeights())).toEqual(values(theirs.getWeights()));
    expect(values([ours.predict(x) as tf.Tensor])).toEqual(values([theirs.predict(x) as tf.Tensor]));
  });

  it("saves as tfjs-layers' BatchNormalization and Conv2D (any tfjs loads it), and loads as ours here", async () => {
    const model = tfl.sequential({
      layers: [
        new FusedConv2D({ name: 'conv', inputShape: [5, 5, 1], filters: 6, kernelSize: 3, padding: 'same' }),
        new BatchNorm({ name: 'bn', axis: -1, momentum: 0.8, epsilon: 1e-4 }),
      ],
    });
    let saved: tf.io.ModelArtifacts | undefined;
    await model.save(
      tf.io.withSaveHandler(
        async (a) => ((saved = a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }),
      ),
    );
    const classes = JSON.stringify(saved!.modelTopology).match(/"class_name":"\w+"/g);
    expect(classes).toEqual(expect.arrayContaining(['"class_name":"Conv2D"', '"class_name":"BatchNormalization"']));
    const loaded = await tfl.loadLayersModel(tf.io.fromMemory(saved!));
    expect(loaded.getLayer('conv')).toBeInstanceOf(FusedConv2D);
    expect(loaded.getLayer('bn')).toBeInstanceOf(BatchNorm);
    expect(loaded.getLayer('bn').getConfig()).toMatchObject({ momentum: 0.8, epsilon: 1e-4 });
    expect(values(loaded.getWeights())).toEqual(values(model.getWeights()));
  });
});
