import { z } from 'zod';
import type { CollectiveError } from './errors.js';
import type { DecodedChunk, PartHeader } from './wire.js';

/**
 * The lowest layer of the collective: moves the parts of a round between the ranks of one
 * attempt, and nothing else. What to send when (the algorithm) and how long to wait
 * (timeouts, resends, aborts) live above it, so TCP, NATS and the in-memory transport of
 * the unit tests run the same rounds. As DDP keeps process group, reducer and comm hook apart.
 */
export interface CollectiveTransport {
  /** 'tcp', 'nats' or 'memory': logged, and stamped on the stats. */
  readonly kind: string;
  /** Delivers every part, in order, or fails: a reliable transport needs no resend requests. */
  readonly reliable: boolean;
  /**
   * Sends one part to one peer, or to every peer. `values` must stay unchanged until
   * `flushed()` resolves (TCP writes it without a copy). Returns the bytes put on the wire.
   */
  send(to: number | 'all', header: PartHeader, values: Float32Array): number;
  /** A control message to every peer (best effort). */
  control(msg: Control): void;
  /** Resolves once everything sent so far has left this process (the kernel has it). */
  flushed(): Promise<void>;
  /** Where parts, control messages and failures (a peer's socket closed) go. Set once. */
  listen(sink: TransportSink): void;
  close(): void;
}

export interface TransportSink {
  /** A chunk of a part; the bytes are only valid during the call. */
  chunk(c: DecodedChunk, wireBytes: number): void;
  control(msg: Control): void;
  failed(err: CollectiveError): void;
}

/** resend: a peer missed a part (core NATS may drop while reconnecting); abort: stop the group, with the reason. */
export const ControlSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('resend'),
    round: z.number().int().min(0),
    from: z.number().int().min(0),
    to: z.number().int().min(0),
    phase: z.union([z.literal(1), z.literal(2)]),
  }),
  z.object({ type: z.literal('abort'), from: z.number().int().min(0), reason: z.string(), fatal: z.boolean() }),
]);
export type Control = z.infer<typeof ControlSchema>;

const encoder = new TextEncoder();
export const encodeControl = (msg: Control): Uint8Array => encoder.encode(JSON.stringify(msg));
