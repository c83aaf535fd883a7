import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Collective } from './collective.js';
import type { NamedTensor } from './replica-sync.js';

/**
 * Elastic groups (a replica range): the loop's side of a membership change. The trainer
 * decides who is in the group; the loop only swaps its collective and lets the new group
 * agree on one state before it goes on.
 */
export interface Elastic {
  /**
   * A collective round failed (a peer died or went silent): the collective of the group
   * that goes on, or undefined to give up (the error is then thrown as before).
   */
  afterFailure(err: unknown): Promise<Collective | undefined>;
  /** Every rank, after an epoch (and rank 0's record of it): a new group's collective, or undefined to keep it. */
  atEpochEnd?(epoch: number): Promise<Collective | undefined>;
  /** The new group agreed on its state and goes on from `at`. */
  adopted?(at: Position): void;
  /** This rank joins a running group at this epoch's start: before its first step it takes the group's state. */
  joinAtEpoch?: number;
}

/** Where a rank is: the optimizer steps it took, and the epoch and steps done in it. */
export interface Position {
  globalStep: number;
  epoch: number;
  step: number;
}

/** An epoch's running sums, which a rank that joins or falls behind takes from the leader. */
export interface EpochSums {
  loss: number;
  correct: number;
  images: number;
  globalImages: number;
}

/** The ranks of a new group hold different amounts of state (a bug, mixed versions): resume from a checkpoint. */
export class GroupStateMismatchError extends Error {
  override readonly name = 'GroupStateMismatchError';
}

export interface GroupState {
  model: tfl.LayersModel;
  vars: tf.Variable[];
  optimizer: tf.Optimizer;
  /** The replica sync's own state (local SGD's outer momentum), the caller's: the agreed copy comes back. */
  syncState: NamedTensor[];
}

/** Per rank in the first round: where it is, and how many numbers its state takes. */
const HEADER = 4;
const SUMS = 4;

const sizeOf = (ts: readonly { size: number }[]) => ts.reduce((a, t) => a + t.size, 0);

/**
 * A fresh optimizer makes its slots on its first step; a rank joining a group needs them to
 * receive the group's. Zero gradients create them and change no weight (SGD, momentum, Adam).
 */
async function primeOptimizer({ vars, optimizer }: GroupState): Promise<void> {
  const weights = await optimizer.getWeights();
  tf.dispose(weights.filter((w) => !(w.tensor instanceof tf.Variable)).map((w) => w.tensor));
  if (weights.length > 1) return; // plain SGD has no slots: zero gradients change nothing there either
  const zeros = vars.map((v) => ({ name: v.name, tensor: tf.zerosLike(v) }));
  optimizer.applyGradients(zeros);
  tf.dispose(zeros.map((z) => z.tensor));
}

/**
 * The leader: the furthest in steps; among those the earliest in epochs (its sums are that epoch's);
 * then the lowest rank.
 */
function pickLeader(positions: Position[]): number {
  let best = 0;
  positions.forEach((p, r) => {
    const b = positions[best]!;
    if (p.globalStep > b.globalStep || (p.globalStep === b.globalStep && p.epoch < b.epoch)) best = r;
  });
  return best;
}

function writeFlat(tensors: readonly tf.Tensor[], out: Float32Array, at: number): number {
  for (const t of tensors) {
    out.set(t.dataSync() as Float32Array, at);
    at += t.size;
  }
  return at;
}

/**
 * The new group agrees on one state: every rank says where it is, and the leader (the rank
 * furthest on: in step sync a rank that finished a round its peers did not is one step
 * ahead, never more) hands every other rank its weights, optimizer state and the epoch's
 * running sums, in two all-reduce rounds (the others contribute zeros, so the sum is the
 * leader's bits). Every rank, the leader too, then sets its state from that sum.
 */
export async function syncGroupState(
  s: GroupState,
  collective: Collective,
  at: Position,
  sums: EpochSums,
): Promise<{ at: Position; sums: EpochSums; syncState: NamedTensor[]; leader: number }> {
  await primeOptimizer(s);
  const optimizerWeights = await s.optimizer.getWeights();
  const modelWeights = s.model.getWeights();
  const syncTensors = s.syncState.map((n) => n.tensor);
  const size = sizeOf(modelWeights) + sizeOf(optimizerWeights.map((w) => w.tensor)) + sizeOf(syncTensors) + SUMS;
  const { rank, worldSize } = collective;
  const header = new Float32Array(HEADER * worldSize);
  header.set([at.globalStep, at.epoch, at.step, size], rank * HEADER);
  const heard = (await collective.allReduceSum(header)).slice();
  const positions = Array.from({ length: worldSize }, (_, r) => ({
    globalStep: heard[r * HEADER]!,
    epoch: heard[r * HEADER + 1]!,
    step: heard[r * HEADER + 2]!,
  }));
  const sizes = new Set(Array.from({ length: worldSize }, (_, r) => heard[r * HEADER + 3]));
  const leader = pickLeader(positions);
  const freshScalars = optimizerWeights.filter((w) => !(w.tensor instanceof tf.Variable)).map((w) => w.tensor);
  if (sizes.size !== 1) {
    tf.dispose(freshScalars);
    throw new GroupStateMismatchError(`ranks hold states of ${[...sizes].join(', ')} numbers`);
  }
  const vec = new Float32Array(size);
  if (rank === leader) {
    const end = writeFlat(
      syncTensors,
      vec,
      writeFlat(
        optimizerWeights.map((w) => w.tensor),
        vec,
        writeFlat(modelWeights, vec, 0),
      ),
    );
    vec.set([sums.loss, sums.correct, sums.images, sums.globalImages], end);
  }
  const state = await collective.allReduceSum(vec);
  const adopted = await adoptState(s, state, modelWeights, optimizerWeights);
  // getWeights handed out fresh iteration scalars and the slots that adoptState has replaced.
  tf.dispose(optimizerWeights.map((w) => w.tensor));
  return { at: positions[leader]!, ...adopted, leader };
}

/** Sets the model, the optimizer and the epoch's sums from the leader's vector. */
async function adoptState(
  s: GroupState,
  state: Float32Array,
  modelWeights: tf.Tensor[],
  optimizerWeights: { name: string; tensor: tf.Tensor }[],
): Promise<{ sums: EpochSums; syncState: NamedTensor[] }> {
  let at = 0;
  const take = (t: tf.Tensor) => {
    const copy = tf.tensor(state.slice(at, at + t.size), t.shape);
    at += t.size;
    return copy;
  };
  const weights = modelWeights.map(take);
  s.model.setWeights(weights);
  tf.dispose(weights);
  const slots = optimizerWeights.map((w) => ({ name: w.name, tensor: take(w.tensor) }));
  try {
    // setWeights makes its own variables from these (a copy), so they are ours to free.
    await s.optimizer.setWeights(slots);
  } finally {
    tf.dispose(slots.map((x) => x.tensor));
  }
  const syncState = s.syncState.map((n) => ({ name: n.name, tensor: take(n.tensor) }));
  const [loss, correct, images, globalImages] = state.subarray(at, at + SUMS);
  return { sums: { loss: loss!, correct: correct!, images: images!, globalImages: globalImages! }, syncState };
}
