import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { globalBatchSize, type EpochRecord, type JobSpec } from '@mnist/protocol';
import { setDropoutStep } from '@mnist/models';
import {
  BatchBuffer,
  epochBatches,
  IMAGE_SHAPE,
  gatherBatch,
  stepsPerEpoch,
  type Dataset,
  type PlannedBatch,
} from '@mnist/data';
import type { Collective } from './collective.js';
import { evaluate, evaluateSharded } from './evaluate.js';
import { countCorrect, crossEntropy } from './loss.js';
import { learningRateSchedule, setLearningRate } from './lr-schedule.js';
import { createReplicaSync, type LocalStep, type NamedTensor, type ReplicaSync } from './replica-sync.js';
import { syncGroupState, type Elastic, type EpochSums, type Position } from './regroup.js';

export interface StepProgress {
  epoch: number;
  /** Steps done in this epoch (1-based after the step) and in the epoch in all. */
  step: number;
  steps: number;
  /** Training images this rank has processed this epoch. */
  images: number;
  elapsedSec: number;
  /** Mean training loss so far this epoch. Reads back from the device: call it sparingly. */
  loss(): number;
}

export interface EpochState {
  /** Optimizer steps taken so far. */
  step: number;
  /** State of the replica sync to checkpoint beside the optimizer's (local SGD's outer momentum). */
  syncState: NamedTensor[];
  /** This rank leads the group (rank 0): it writes; the others only keep the record. */
  lead: boolean;
  /**
   * Handed again by a rank that just became the leader: its old leader may have died before
   * recording it. Record it if it is missing; `checkpoint`: the group has taken no step since
   * (the weights are the epoch's), so its checkpoint may be written too.
   */
  replay?: { checkpoint: boolean };
}

export interface LoopOptions {
  spec: JobSpec;
  data: Dataset;
  model: tfl.LayersModel;
  optimizer: tf.Optimizer;
  collective: Collective;
  /** Backend name stamped on every record. */
  backend: string;
  /** First epoch to run (1-based; > 1 when resuming) and optimizer steps already taken. */
  startEpoch: number;
  startStep: number;
  /** Replica-sync state from the checkpoint being resumed. */
  syncState?: NamedTensor[];
  onStep?: (p: StepProgress) => void;
  /**
   * Every rank, after evaluation (all ranks hold the same record); the leader (`state.lead`)
   * writes: sinks, metrics file, checkpoint. Awaited before the next epoch.
   */
  onEpoch?: (record: EpochRecord, state: EpochState) => Promise<void>;
  signal?: AbortSignal;
  evalBatchSize?: number;
  /** A replica range: the group may change at a failed round or an epoch's end (see regroup.ts). */
  elastic?: Elastic;
}

export class TrainingCancelledError extends Error {
  override readonly name = 'TrainingCancelledError';
  constructor(
    readonly epoch: number,
    readonly step: number,
  ) {
    super(`training cancelled at epoch ${epoch}, step ${step}`);
  }
}

const YIELD_EVERY_MS = 10;

/** What every step and epoch of one run share. */
interface Run {
  o: LoopOptions;
  /** The group's collective: `o.collective` until the group changes. */
  collective: Collective;
  vars: tf.Variable[];
  sync: ReplicaSync;
  /** One buffer for every batch: the batch's tensors are disposed before the next gather
   * (some backends keep the array they are given instead of copying it). */
  buffer: BatchBuffer;
  /** Local SGD records each rank's share of the global mean: progress scales it back up. */
  progressScale: number;
  /** Optimizer steps taken so far, over all epochs. */
  globalStep: number;
  lastYield: number;
  /** Weak scaling's learning rate by step (undefined: the spec's, throughout), and the rate set last. */
  lrAt: ((step: number) => number) | undefined;
  lr: number;
  /** The current epoch's running sums, on the device; read back at its end (or when the group changes). */
  sums: DeviceSums;
  /** The last epoch handed to onEpoch: an epoch re-evaluated after a group change is not recorded twice. */
  recorded: number;
  /** Its record: a rank that becomes the leader hands it again (see EpochState.replay). */
  last: EpochRecord | undefined;
}

interface DeviceSums {
  loss: tf.Scalar;
  correct: tf.Scalar;
  images: number;
  globalImages: number;
  startedAt: number;
}

/** An epoch's training sums, read back once at its end. */
interface EpochTotals {
  loss: number;
  correct: number;
  globalImages: number;
  trainSeconds: number;
}

/**
 * The training loop: for each epoch, for each (sharded) batch: forward + backward on this
 * rank's shard, then the replica sync turns the ranks' gradients into the update (every
 * step, or local SGD with periodic averaging: see spec.sync); then all ranks evaluate
 * their share of the test set and rank 0 hands the epoch record to `onEpoch`.
 */
export async function runEpochs(options: LoopOptions): Promise<EpochRecord[]> {
  // Weak scaling: the global batch is batchPerReplica times this group's size.
  const o = {
    ...options,
    spec: { ...options.spec, batchSize: globalBatchSize(options.spec, options.collective.worldSize) },
  };
  const run = startRun(o, options.spec);
  const records: EpochRecord[] = [];
  let at = { epoch: o.startEpoch, step: 0 };
  try {
    if (o.elastic?.joinAtEpoch) at = await adoptGroup(run, run.collective, at, -1);
    while (at.epoch <= o.spec.epochs) {
      try {
        const record = await runEpoch(run, at);
        if (record) records.push(record);
        at = { epoch: at.epoch + 1, step: 0 };
        const next = at.epoch <= o.spec.epochs ? await o.elastic?.atEpochEnd?.(at.epoch - 1) : undefined;
        if (next) at = await adoptGroup(run, next, at);
      } catch (err) {
        at = await recover(run, err, at);
      }
    }
    return records;
  } finally {
    tf.dispose([run.sums.loss, run.sums.correct]);
  }
}

/** A round failed: go on in the group the trainer re-forms, from the furthest rank's state; or give up (throw). */
async function recover(run: Run, err: unknown, at: { epoch: number; step: number }) {
  for (;;) {
    if (!run.o.elastic || err instanceof TrainingCancelledError || run.o.signal?.aborted) throw err;
    const next = await run.o.elastic.afterFailure(err);
    if (!next) throw err;
    try {
      return await adoptGroup(run, next, at);
    } catch (e) {
      err = e; // the new group failed while agreeing: try again with whoever is left
    }
  }
}

/** Switches to a new group's collective and takes the state its leader holds. */
async function adoptGroup(
  run: Run,
  collective: Collective,
  at: { epoch: number; step: number },
  globalStep = run.globalStep,
): Promise<{ epoch: number; step: number }> {
  const { o } = run;
  const sums: EpochSums = {
    loss: run.sums.loss.dataSync()[0]!,
    correct: run.sums.correct.dataSync()[0]!,
    images: run.sums.images,
    globalImages: run.sums.globalImages,
  };
  const here: Position = { globalStep, ...at };
  const syncState = run.sync.state();
  const { model, optimizer } = o;
  const led = run.collective.rank === 0;
  const agreed = await syncGroupState({ model, vars: run.vars, optimizer, syncState }, collective, here, sums).finally(
    () => tf.dispose(syncState.map((n) => n.tensor)),
  );
  run.collective = collective;
  run.sync = createReplicaSync(o.spec.sync, { model, vars: run.vars, optimizer, collective });
  run.sync.restore(agreed.syncState);
  tf.dispose(agreed.syncState.map((n) => n.tensor));
  run.buffer = new BatchBuffer(Math.ceil(o.spec.batchSize / collective.worldSize));
  run.progressScale = o.spec.sync === 'step' ? 1 : collective.worldSize;
  run.globalStep = agreed.at.globalStep;
  tf.dispose([run.sums.loss, run.sums.correct]);
  const { loss, correct, ...counts } = agreed.sums;
  run.sums = { ...counts, loss: tf.scalar(loss), correct: tf.scalar(correct), startedAt: run.sums.startedAt };
  o.elastic?.adopted?.(agreed.at);
  // The leader was lost: it may have died between the last epoch's evaluation and its record.
  if (!led && collective.rank === 0 && run.last) await replayLast(run, run.last, agreed.at);
  return { epoch: agreed.at.epoch, step: agreed.at.step };
}

/** Hands `last` to onEpoch again, with its checkpoint when the group has not stepped since. */
async function replayLast(run: Run, last: EpochRecord, at: Position): Promise<void> {
  const checkpoint = at.step === 0 && at.epoch === last.epoch + 1;
  await handEpoch(run, last, checkpoint, { step: run.globalStep, lead: true, replay: { checkpoint } });
}

/** Hands an epoch to onEpoch, with the replica sync's state when it is to be checkpointed (disposed after). */
async function handEpoch(
  run: Run,
  record: EpochRecord,
  withSyncState: boolean,
  state: Omit<EpochState, 'syncState'>,
): Promise<void> {
  const syncState = withSyncState ? run.sync.state() : [];
  try {
    await run.o.onEpoch?.(record, { ...state, syncState });
  } finally {
    tf.dispose(syncState.map((n) => n.tensor));
  }
}

function startRun(o: LoopOptions, asSubmitted: JobSpec): Run {
  const { spec, model, optimizer, collective } = o;
  const lrAt = learningRateSchedule(
    asSubmitted,
    collective.worldSize,
    stepsPerEpoch(o.data.train.count, spec.batchSize),
  );
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const sync = createReplicaSync(spec.sync, { model, vars, optimizer, collective });
  if (o.syncState) sync.restore(o.syncState);
  return {
    o,
    collective,
    vars,
    sync,
    buffer: new BatchBuffer(Math.ceil(spec.batchSize / collective.worldSize)),
    progressScale: spec.sync === 'step' ? 1 : collective.worldSize,
    globalStep: o.startStep,
    lastYield: performance.now(),
    lrAt,
    lr: spec.optimizer.lr,
    sums: newSums(),
    recorded: o.startEpoch - 1,
    last: undefined,
  };
}

function newSums(): DeviceSums {
  return { loss: tf.scalar(0), correct: tf.scalar(0), images: 0, globalImages: 0, startedAt: performance.now() };
}

/**
 * One epoch from `at.step` (0, or where a changed group goes on): train, sum over the ranks,
 * evaluate; every rank keeps the record, rank 0 writes it (the others return undefined).
 * `at.step` follows the steps done.
 */
async function runEpoch(run: Run, at: { epoch: number; step: number }): Promise<EpochRecord | undefined> {
  const { o } = run;
  const { spec, model, data } = o;
  const { epoch } = at;
  const steps = stepsPerEpoch(data.train.count, spec.batchSize);
  if (at.step === 0) {
    tf.dispose([run.sums.loss, run.sums.correct]);
    run.sums = newSums();
  }

  // train: every batch of this rank's shard.
  const totals = await trainEpoch(run, at, steps);
  const [epochLoss, epochCorrect] = await run.sync.epochTotals(totals.loss, totals.correct);

  // evaluate: each rank its share of the test set; rank 0 records.
  const { collective } = run;
  const test =
    collective.worldSize > 1
      ? await evaluateSharded(model, data.test, collective, o.evalBatchSize)
      : evaluate(model, data.test, o.evalBatchSize);
  // An epoch evaluated again after a group change (a peer was lost in its evaluation) is recorded once.
  if (epoch <= run.recorded) return undefined;
  const record: EpochRecord = {
    epoch,
    trainLoss: epochLoss / steps,
    trainAcc: epochCorrect / totals.globalImages,
    testLoss: test.loss,
    testAcc: test.acc,
    seconds: (performance.now() - run.sums.startedAt) / 1000,
    imagesPerSec: totals.globalImages / totals.trainSeconds,
    backend: o.backend,
  };

  // checkpoint (through onEpoch, the leader) with the replica sync's state beside the optimizer's.
  const lead = collective.rank === 0;
  await handEpoch(run, record, lead, { step: run.globalStep, lead });
  run.recorded = epoch;
  run.last = record;
  return lead ? record : undefined;
}

/** The epoch's training steps from `at.step`. Running sums stay on the device and are read back once, at the end. */
async function trainEpoch(run: Run, at: { epoch: number; step: number }, steps: number): Promise<EpochTotals> {
  const { o, sums } = run;
  const { spec, data } = o;
  const { epoch } = at;
  const { rank, worldSize } = run.collective;
  const batches = epochBatches({
    n: data.train.count,
    batchSize: spec.batchSize,
    seed: spec.seed,
    epoch,
    rank,
    worldSize,
  });
  for (const batch of batches) {
    if (batch.step < at.step) continue; // done before the group changed
    if (o.signal?.aborted) throw new TrainingCancelledError(epoch, batch.step);
    setDropoutStep(o.model, run.globalStep, rank);

    // forward + backward on this rank's shard.
    const local = forwardBackward(run, batch);

    // sync + step: the same update on every rank (at the step's rate, under weak scaling).
    if (run.lrAt && run.lrAt(run.globalStep) !== run.lr)
      setLearningRate(o.optimizer, (run.lr = run.lrAt(run.globalStep)));
    const { loss, correct } = await run.sync.step(local, batch.step + 1 === steps);
    const [nextLoss, nextCorrect] = [tf.add(sums.loss, loss), tf.add(sums.correct, correct)];
    tf.dispose([sums.loss, sums.correct, loss, correct]);
    sums.loss = nextLoss as tf.Scalar;
    sums.correct = nextCorrect as tf.Scalar;
    sums.images += batch.indices.length;
    sums.globalImages += batch.globalCount;
    run.globalStep++;
    at.step = batch.step + 1;

    // log: progress is cheap unless the consumer asks for the loss.
    if (o.onStep) {
      const doneSteps = batch.step + 1;
      const currentLoss = sums.loss;
      o.onStep({
        epoch,
        step: doneSteps,
        steps,
        images: sums.images,
        elapsedSec: (performance.now() - sums.startedAt) / 1000,
        loss: () => (currentLoss.dataSync()[0]! * run.progressScale) / doneSteps,
      });
    }

    await yieldNowAndThen(run);
  }
  // the epoch's sums: one read-back per epoch.
  const loss = sums.loss.dataSync()[0]!;
  const correct = sums.correct.dataSync()[0]!;
  return { loss, correct, globalImages: sums.globalImages, trainSeconds: (performance.now() - sums.startedAt) / 1000 };
}

/** Forward + backward on this rank's part of `batch`: its gradients, loss share and correct count. */
function forwardBackward(run: Run, batch: PlannedBatch): LocalStep | undefined {
  const { o, vars, sync } = run;
  const count = batch.indices.length;
  if (count === 0) return undefined;
  const { x, y } = gatherBatch(o.data.train, batch.indices, run.buffer);
  const xs = tf.tensor4d(x, [count, ...IMAGE_SHAPE]);
  const ys = tf.tensor1d(y, 'int32');
  let correct: tf.Scalar | undefined;
  const denominator = sync.lossDenominator(count, batch.globalCount);
  const { value, grads } = tf.variableGrads(() => {
    const logits = o.model.apply(xs, { training: true }) as tf.Tensor2D;
    correct = tf.keep(countCorrect(logits, ys));
    return crossEntropy(logits, ys, denominator);
  }, vars);
  tf.dispose([xs, ys]);
  // The record's loss is this rank's share of the global batch mean.
  const share = denominator / batch.globalCount;
  const loss = share === 1 ? value : (tf.tidy(() => tf.mul(value, share)) as tf.Scalar);
  if (loss !== value) value.dispose();
  return { grads: vars.map((v) => grads[v.name]!), loss, correct: correct! };
}

/**
 * Steps that do not wait on the network never yield: do it now and then so the process
 * still serves timers and I/O (abort signals, heartbeats, broker acks) while it trains.
 * A turn of the event loop costs ~0.1 ms: take one every YIELD_EVERY_MS, not every step.
 */
async function yieldNowAndThen(run: Run): Promise<void> {
  if (performance.now() - run.lastYield <= YIELD_EVERY_MS) return;
  await new Promise<void>((resolve) => setImmediate(resolve));
  run.lastYield = performance.now();
}
