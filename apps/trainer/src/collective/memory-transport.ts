import { CollectivePeerLostError } from './errors.js';
import type { CollectiveTransport, Control, TransportSink } from './transport.js';
import { decodeChunk, encodeChunks, type PartHeader } from './wire.js';

export interface MemoryNetworkOptions {
  /** false: parts may be lost (`drop`), and the layer above must ask for resends, as over NATS. */
  reliable?: boolean;
  /** Floats per chunk (several chunks per part exercise reassembly). */
  chunkFloats?: number;
  /** Decides per chunk whether it is lost (only on an unreliable network). */
  drop?: (from: number, to: number, h: PartHeader) => boolean;
  /** Deliver each message after a random delay of up to this many ms: reordering across senders. */
  jitterMs?: number;
}

/**
 * The ranks of a group inside one process, for unit tests of the layers above the transport:
 * loss, reordering, a dead peer (its connections close, as with TCP) and aborts, without a broker.
 */
export class MemoryNetwork {
  private readonly sinks = new Map<number, TransportSink>();
  private readonly dead = new Set<number>();

  constructor(
    readonly worldSize: number,
    private readonly o: MemoryNetworkOptions = {},
  ) {}

  transport(rank: number): CollectiveTransport {
    const net = this;
    return {
      kind: 'memory',
      reliable: this.o.reliable ?? true,
      send(to: number | 'all', header: PartHeader, values: Float32Array): number {
        let bytes = 0;
        for (const peer of net.targets(rank, to)) {
          for (const chunk of encodeChunks(header, values, net.o.chunkFloats ?? 1 << 20)) {
            bytes += chunk.length;
            if (net.o.reliable === false && net.o.drop?.(rank, peer, header)) continue;
            net.deliver(rank, peer, (s) => s.chunk(decodeChunk(chunk), chunk.length));
          }
        }
        return bytes;
      },
      control(msg: Control): void {
        for (const peer of net.targets(rank, 'all')) net.deliver(rank, peer, (s) => s.control(msg));
      },
      flushed: () => Promise.resolve(),
      listen(sink: TransportSink): void {
        net.sinks.set(rank, sink);
      },
      close(): void {
        net.sinks.delete(rank);
      },
    };
  }

  /** The rank's process dies: its peers' connections to it close. */
  kill(rank: number): void {
    this.dead.add(rank);
    this.sinks.delete(rank);
    for (const [peer, sink] of this.sinks)
      if (peer !== rank) sink.failed(new CollectivePeerLostError(rank, 'connection closed'));
  }

  private targets(from: number, to: number | 'all'): number[] {
    if (this.dead.has(from)) return [];
    const all = Array.from({ length: this.worldSize }, (_, r) => r).filter((r) => r !== from);
    return to === 'all' ? all : [to];
  }

  private deliver(from: number, to: number, act: (s: TransportSink) => void): void {
    const run = () => {
      const sink = this.sinks.get(to);
      if (sink && !this.dead.has(from)) act(sink);
    };
    if (this.o.jitterMs) setTimeout(run, Math.random() * this.o.jitterMs);
    else setImmediate(run);
  }
}
