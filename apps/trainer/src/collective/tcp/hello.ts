import { z } from 'zod';
import { WIRE_VERSION } from '../wire.js';

/** The first frame on a data connection: who dials whom, for which attempt, and the attempt's secret. */
export const HelloSchema = z.object({
  wire: z.number().int(),
  jobId: z.string().min(1).max(200),
  attempt: z.number().int().min(1),
  from: z.number().int().min(0),
  to: z.number().int().min(0),
  worldSize: z.number().int().min(2),
  secret: z.string().min(1).max(200),
});
export type Hello = z.infer<typeof HelloSchema>;

/** The answer: accepted, or why not, and whether dialing again may help (the rank is not open yet). */
export const WelcomeSchema = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true) }),
  z.object({ ok: z.literal(false), reason: z.string(), retry: z.boolean() }),
]);
export type Welcome = z.infer<typeof WelcomeSchema>;

/** One rank of one attempt, as a listener expects dialers to name it. */
export interface RankKey {
  jobId: string;
  attempt: number;
  rank: number;
  worldSize: number;
  secret: string;
}

export const rankKey = (jobId: string, attempt: number, rank: number) => `${jobId}/${attempt}/${rank}`;

export function helloFor(k: RankKey, to: number): Hello {
  return {
    wire: WIRE_VERSION,
    jobId: k.jobId,
    attempt: k.attempt,
    from: k.rank,
    to,
    worldSize: k.worldSize,
    secret: k.secret,
  };
}
