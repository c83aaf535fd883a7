import { between, seededRandom } from './rng.js';

/**
 * What the chaos run does to the fleet. One fault at a time (a NATS cluster of 3 keeps its
 * quorum with one node gone, not two), each over before the next starts. The `-at-` kinds
 * strike at an exact moment: the S3 proxy holds the write that marks it (a checkpoint file,
 * the first root key of a publish) and the writer dies with it in flight, or the API kills
 * itself between a submit's record and its task (MNIST_FAILPOINTS).
 */
export const FAULT_KINDS = [
  'trainer-kill',
  'trainer-stop',
  'nats-kill',
  'nats-restart',
  'nats-freeze',
  's3-outage',
  'api-kill',
  'kill-at-checkpoint',
  'kill-at-publish',
  's3-outage-at-publish',
  'api-kill-at-submit',
  'link-cut',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface Fault {
  /** Start, in ms from the beginning of the run. */
  at: number;
  kind: FaultKind;
  /** Which trainer, NATS node or API (an index, wrapped over what is there). */
  target: number;
  /** How long it lasts: the pause, the outage, the down time before a restart or respawn. */
  ms: number;
}

/** How long each kind lasts, [min, max] ms: a SIGSTOP longer than the trainer TTL gets the job taken over. */
const DURATION: Record<FaultKind, [number, number]> = {
  'trainer-kill': [1_000, 4_000],
  'trainer-stop': [2_000, 10_000],
  'nats-kill': [1_000, 6_000],
  'nats-restart': [1_000, 6_000],
  'nats-freeze': [1_000, 8_000],
  's3-outage': [2_000, 20_000],
  'api-kill': [1_000, 3_000],
  'kill-at-checkpoint': [1_000, 4_000],
  'kill-at-publish': [1_000, 4_000],
  // Past the test fleet's S3_RETRY_MS (3 s): the publish gives up and its task comes back.
  's3-outage-at-publish': [4_000, 10_000],
  'api-kill-at-submit': [1_000, 3_000],
  // Shorter or longer than the trainer TTL (3 s): a trainer's link down, all its connections cut.
  'link-cut': [2_000, 12_000],
};

/**
 * The seeded schedule for a run of `durationMs`: after `warmupMs`, a fault every `gapMs`
 * (a range) after the previous one ended. Kinds go round a shuffled cycle of `kinds`
 * (default all; a fleet without network namespaces has no links to cut), so each comes
 * once in every cycle.
 */
export function makeSchedule(
  seed: number,
  durationMs: number,
  o: { warmupMs?: number; gapMs?: [number, number]; kinds?: readonly FaultKind[] } = {},
): Fault[] {
  const rand = seededRandom(seed);
  const [gapMin, gapMax] = o.gapMs ?? [4_000, 12_000];
  const faults: Fault[] = [];
  let cycle: FaultKind[] = [];
  for (let at = o.warmupMs ?? 10_000; ;) {
    if (cycle.length === 0) cycle = shuffle([...(o.kinds ?? FAULT_KINDS)], rand);
    const kind = cycle.pop()!;
    const ms = between(rand, ...DURATION[kind]);
    if (at + ms > durationMs) break;
    faults.push({ at, kind, target: between(rand, 0, 2), ms });
    at += ms + between(rand, gapMin, gapMax);
  }
  return faults;
}

function shuffle<T>(items: T[], rand: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}
