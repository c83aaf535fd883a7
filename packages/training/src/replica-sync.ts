import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { NamedTensor } from '@mnist/checkpoint';
import type { LocalSyncSpec, SyncSpec } from '@mnist/protocol';
import type { Collective } from './collective.js';

export type { NamedTensor };

/** One rank's step: gradients of its shard, and its loss and correct count. */
export interface LocalStep {
  grads: tf.Tensor[];
  loss: tf.Scalar;
  correct: tf.Scalar;
}

/**
 * How the ranks of a job turn local gradients into one model. The loop calls `step` once
 * per global batch on every rank (with undefined where this rank's shard is empty) and
 * gets back this step's loss (as a share of the global batch mean) and correct count.
 */
export interface ReplicaSync {
  /** Divisor of this rank's summed loss, so that its gradient has the scale the update needs. */
  lossDenominator(count: number, globalCount: number): number;
  step(local: LocalStep | undefined, endOfEpoch: boolean): Promise<{ loss: tf.Scalar; correct: tf.Scalar }>;
  /** The epoch's loss and correct sums over all ranks, from this rank's own. */
  epochTotals(lossSum: number, correctSum: number): Promise<[number, number]>;
  /** Weights to checkpoint beside the optimizer's (outer optimizer state), and to restore them. */
  state(): NamedTensor[];
  restore(named: NamedTensor[]): void;
}

export const OUTER_STATE_PREFIX = 'outer/';

interface Ctx {
  model: tfl.LayersModel;
  vars: tf.Variable[];
  optimizer: tf.Optimizer;
  collective: Collective;
}

export function createReplicaSync(sync: SyncSpec, ctx: Ctx): ReplicaSync {
  return sync === 'step' ? new StepSync(ctx) : new LocalSgdSync(sync, ctx);
}

/** Reads variables into one flat vector (a read-back: a sync point). */
function readFlat(tensors: readonly tf.Tensor[], out: Float32Array, at = 0): number {
  for (const t of tensors) {
    out.set(t.dataSync() as Float32Array, at);
    at += t.size;
  }
  return at;
}

const sizeOf = (ts: readonly { size: number }[]) => ts.reduce((a, t) => a + t.size, 0);

/**
 * Exact data parallelism: every step the ranks' gradients (each scaled by the global batch
 * size) are summed, so all ranks apply the gradient of the global batch mean: N replicas
 * at global batch B follow the one-trainer trajectory. Loss and correct count ride along.
 */
class StepSync implements ReplicaSync {
  private readonly length: number;
  /**
   * The vectors this rank contributes, by step parity: a collective may keep a round's input
   * until the round after next (resends over NATS), and steady steps allocate nothing.
   */
  private readonly flats: [Float32Array, Float32Array];
  private steps = 0;

  constructor(private readonly c: Ctx) {
    this.length = sizeOf(c.vars);
    this.flats = [new Float32Array(this.length + 2), new Float32Array(this.length + 2)];
  }

  lossDenominator(_count: number, globalCount: number): number {
    return globalCount;
  }

  async step(local: LocalStep | undefined, _endOfEpoch: boolean): Promise<{ loss: tf.Scalar; correct: tf.Scalar }> {
    const { vars, optimizer, collective } = this.c;
    if (collective.worldSize === 1) {
      optimizer.applyGradients(vars.map((v, i) => ({ name: v.name, tensor: local!.grads[i]! })));
      tf.dispose(local!.grads);
      return { loss: local!.loss, correct: local!.correct };
    }
    const flat = this.flats[this.steps++ & 1]!;
    if (local) {
      readFlat(local.grads, flat); // a sync point, needed to send the bytes
      flat[this.length] = local.loss.dataSync()[0]!;
      flat[this.length + 1] = local.correct.dataSync()[0]!;
      tf.dispose([...local.grads, local.loss, local.correct]);
    } else {
      flat.fill(0); // an empty shard contributes nothing
    }
    const sum = await collective.allReduceSum(flat);
    let offset = 0;
    const grads = vars.map((v) => {
      // A view, not a copy: the tensors are gone before the collective reuses `sum`.
      const t = tf.tensor(sum.subarray(offset, offset + v.size), v.shape);
      offset += v.size;
      return { name: v.name, tensor: t };
    });
    optimizer.applyGradients(grads);
    tf.dispose(grads.map((g) => g.tensor));
    return { loss: tf.scalar(sum[this.length]!), correct: tf.scalar(sum[this.length + 1]!) };
  }

  async epochTotals(lossSum: number, correctSum: number): Promise<[number, number]> {
    return [lossSum, correctSum]; // already summed over ranks every step
  }

  state(): NamedTensor[] {
    return [];
  }

  restore(): void {}
}

/**
 * Local SGD in the DiLoCo style (Douillard et al. 2023): each rank steps its own optimizer
 * on its shard (loss averaged over its own examples); every `every` steps, and at each
 * epoch's end, the ranks average their parameter change since the last exchange (the outer
 * gradient) and apply it from the shared starting point with the outer optimizer. All
 * arithmetic on the exchanged vector is done in the same order on every rank, so the
 * replicas hold identical bits after each exchange. Non-trainable weights (batch-norm
 * statistics) are averaged; at epoch ends so are the inner optimizer's slots, so that a
 * checkpoint holds the whole state and a resume continues exactly.
 */
class LocalSgdSync implements ReplicaSync {
  private readonly paramCount: number;
  private anchor: Float32Array | undefined;
  private momentum: Float32Array | undefined;
  private sinceExchange = 0;

  constructor(
    private readonly spec: LocalSyncSpec,
    private readonly c: Ctx,
  ) {
    this.paramCount = sizeOf(c.vars);
  }

  lossDenominator(count: number): number {
    return count;
  }

  async step(local: LocalStep | undefined, endOfEpoch: boolean): Promise<{ loss: tf.Scalar; correct: tf.Scalar }> {
    const { vars, optimizer } = this.c;
    this.anchor ??= this.readParams();
    let loss: tf.Scalar;
    let correct: tf.Scalar;
    if (local) {
      optimizer.applyGradients(vars.map((v, i) => ({ name: v.name, tensor: local.grads[i]! })));
      tf.dispose(local.grads);
      ({ loss, correct } = local);
    } else {
      [loss, correct] = [tf.scalar(0), tf.scalar(0)];
    }
    if (++this.sinceExchange >= this.spec.every || endOfEpoch) await this.exchange(endOfEpoch);
    return { loss, correct };
  }

  async epochTotals(lossSum: number, correctSum: number): Promise<[number, number]> {
    if (this.c.collective.worldSize === 1) return [lossSum, correctSum];
    const [l, c] = await this.c.collective.allReduceSum(Float32Array.of(lossSum, correctSum));
    return [l!, c!];
  }

  state(): NamedTensor[] {
    if (this.spec.outer !== 'nesterov') return [];
    // Zeros before the first exchange: the same outer step as none, and one layout for a rank joining a group.
    const m = this.momentum ?? new Float32Array(this.paramCount);
    return [{ name: `${OUTER_STATE_PREFIX}momentum`, tensor: tf.tensor1d(m) }];
  }

  restore(named: NamedTensor[]): void {
    const m = named.find((n) => n.name === `${OUTER_STATE_PREFIX}momentum`);
    if (m) this.momentum = Float32Array.from(m.tensor.dataSync() as Float32Array);
  }

  private readParams(): Float32Array {
    const out = new Float32Array(this.paramCount);
    readFlat(this.c.vars, out);
    return out;
  }

  /** The outer step: average the ranks' changes (and statistics, and at epoch ends the optimizer slots). */
  private async exchange(withOptimizer: boolean): Promise<void> {
    const { model, vars, optimizer, collective } = this.c;
    this.sinceExchange = 0;
    const anchor = this.anchor!;
    const stats = model.nonTrainableWeights.map((w) => w.read());
    // The optimizer's slots are its own variables (getWeights hands them out, plus a fresh
    // iteration count, which is the same on every rank): they are averaged in place.
    const slots: tf.Variable[] = [];
    for (const { tensor } of withOptimizer ? await optimizer.getWeights() : []) {
      if (tensor instanceof tf.Variable) slots.push(tensor);
      else tensor.dispose();
    }
    const P = this.paramCount;
    const vec = new Float32Array(P + sizeOf(stats) + sizeOf(slots));
    readFlat(vars, vec);
    for (let i = 0; i < P; i++) vec[i] = anchor[i]! - vec[i]!;
    readFlat(slots, vec, readFlat(stats, vec, P));
    const N = collective.worldSize;
    const sum = N === 1 ? vec : await collective.allReduceSum(vec);

    // outer step on the mean change: the same arithmetic, in the same order, on every rank.
    if (this.spec.outer === 'nesterov') {
      const m = (this.momentum ??= new Float32Array(P));
      const { outerLr: lr, outerMomentum: mu } = this.spec;
      for (let i = 0; i < P; i++) {
        const d = sum[i]! / N;
        m[i] = mu * m[i]! + d;
        anchor[i] = anchor[i]! - lr * (d + mu * m[i]!);
      }
    } else {
      for (let i = 0; i < P; i++) anchor[i] = anchor[i]! - sum[i]! / N;
    }
    let at = 0;
    for (const v of vars) {
      const value = tf.tensor(anchor.slice(at, at + v.size), v.shape);
      v.assign(value);
      value.dispose();
      at += v.size;
    }
    const assignMean = (v: tf.Variable) => {
      const value = tf.tensor(
        sum.slice(at, at + v.size).map((x) => x / N),
        v.shape,
      );
      at += v.size;
      v.assign(value);
      value.dispose();
    };
    stats.forEach((t) => assignMean(t as tf.Variable));
    slots.forEach(assignMean);
  }
}
