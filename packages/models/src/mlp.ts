import * as tfl from '@tensorflow/tfjs-layers';
import { torchStyleInit } from './init.js';

/** CustomMLP: 784-70-55-28-10 with ReLU after each hidden layer; no convolutions, about LeNet-5's size. */
export function buildMlp({ seed }: { seed: number }): tfl.Sequential {
  const model = tfl.sequential({ name: 'mlp' });
  model.add(tfl.layers.flatten({ name: 'flatten', inputShape: [28, 28, 1] }));
  const widths = [70, 55, 28];
  let fanIn = 784;
  widths.forEach((units, i) => {
    model.add(
      tfl.layers.dense({ name: `FC${i + 1}`, units, activation: 'relu', ...torchStyleInit(seed, i + 1, fanIn) }),
    );
    fanIn = units;
  });
  model.add(tfl.layers.dense({ name: 'OUTPUT', units: 10, ...torchStyleInit(seed, widths.length + 1, fanIn) }));
  return model;
}
