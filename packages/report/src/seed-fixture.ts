import type { EpochRecord } from '@mnist/protocol';
import type { RunMetrics } from './types.js';

/**
 * The seed study's published tables (../shared/seed), as runs. Used by tests and the
 * sample script; the seed did not publish timings, so seconds/imagesPerSec are placeholders.
 */
type Row = [trainLoss: number, trainAccPct: number, testLoss: number, testAccPct: number];

const toRecords = (rows: Row[]): EpochRecord[] =>
  rows.map(([trainLoss, trainAcc, testLoss, testAcc], i) => ({
    epoch: i + 1,
    trainLoss,
    trainAcc: trainAcc / 100,
    testLoss,
    testAcc: testAcc / 100,
    seconds: 0,
    imagesPerSec: 0,
    backend: 'pytorch (seed)',
  }));

/** Section 3: LeNet5 vs CustomMLP. */
export const seedLeNet5 = (): RunMetrics => ({
  title: 'LeNet5',
  model: 'lenet5',
  records: toRecords([
    [0.2902, 90.47, 0.0653, 97.93],
    [0.0631, 98.02, 0.0553, 98.26],
    [0.0456, 98.6, 0.0425, 98.61],
    [0.0353, 98.92, 0.0314, 98.96],
    [0.0291, 99.07, 0.0357, 98.84],
    [0.0253, 99.21, 0.0392, 98.78],
    [0.0202, 99.34, 0.0371, 98.8],
    [0.0164, 99.48, 0.0318, 99.02],
    [0.0146, 99.55, 0.0403, 98.76],
    [0.0137, 99.55, 0.0368, 99.03],
  ]),
});

export const seedCustomMLP = (): RunMetrics => ({
  title: 'CustomMLP',
  model: 'mlp',
  records: toRecords([
    [0.4089, 87.33, 0.1556, 95.25],
    [0.137, 95.87, 0.1176, 96.36],
    [0.0997, 96.94, 0.0975, 97.01],
    [0.0775, 97.58, 0.1164, 96.38],
    [0.0643, 97.97, 0.097, 97.09],
    [0.0512, 98.39, 0.098, 97.12],
    [0.046, 98.52, 0.0964, 97.6],
    [0.0384, 98.79, 0.0924, 97.44],
    [0.0339, 98.88, 0.1127, 97.01],
    [0.0304, 99.01, 0.0931, 97.63],
  ]),
});

/** Section 5-1: the regularised LeNet5 (its table's baseline LeNet5 is a second run, not repeated here). */
export const seedRegularizedLeNet5 = (): RunMetrics => ({
  title: 'RegularizedLeNet5',
  model: 'lenet5-reg',
  records: toRecords([
    [0.2872, 91.33, 0.0468, 98.57],
    [0.0763, 97.87, 0.0506, 98.51],
    [0.0568, 98.43, 0.039, 98.78],
    [0.0456, 98.69, 0.0362, 98.91],
    [0.0409, 98.84, 0.0279, 99.06],
    [0.0347, 99.02, 0.0289, 99.08],
    [0.0291, 99.18, 0.0344, 99.0],
    [0.0282, 99.19, 0.0255, 99.23],
    [0.0227, 99.33, 0.0281, 99.17],
    [0.0216, 99.4, 0.0264, 99.21],
  ]),
});

/** The three models of the study, in the order the report shows them. */
export const seedRuns = (): RunMetrics[] => [seedLeNet5(), seedCustomMLP(), seedRegularizedLeNet5()];
