import type { BusSubscription, MessageBus } from '@mnist/cluster';
import { silentLogger, type Logger } from '@mnist/core';
import { CollectiveProtocolError } from './errors.js';
import { decodeJson } from '../group/messages.js';
import {
  ControlSchema,
  encodeControl,
  type CollectiveTransport,
  type Control,
  type TransportSink,
} from './transport.js';
import { decodeChunk, encodeChunks, HEADER_BYTES, WireFormatError, type PartHeader } from './wire.js';

export interface NatsTransportOptions {
  /** The cluster's message bus (core NATS), as ClusterClient gives it. */
  bus: MessageBus;
  /** NATS_NAMES.collectivePrefix(jobId, attempt): a fresh namespace per attempt. */
  prefix: string;
  rank: number;
  worldSize: number;
  /** Largest message payload; the server's max_payload (1 MB default) bounds it. */
  maxPayloadBytes?: number;
  log?: Logger;
}

/**
 * Parts through the broker over core NATS: `<prefix>.to.<rank>` for one peer, `<prefix>.all.<rank>`
 * for a part every peer needs (published once: the broker fans out), `<prefix>.ctl` for control.
 * Core NATS may drop messages (a peer reconnecting after a broker restart): not reliable, so
 * the layer above asks for resends. The fallback when ranks cannot reach each other directly.
 */
export class NatsTransport implements CollectiveTransport {
  readonly kind = 'nats';
  readonly reliable = false;
  private readonly subs: BusSubscription[] = [];
  private readonly maxFloats: number;
  private readonly log: Logger;
  private sink: TransportSink | undefined;

  private constructor(private readonly o: NatsTransportOptions) {
    this.maxFloats = Math.floor(((o.maxPayloadBytes ?? o.bus.maxPayload()) - HEADER_BYTES - 1024) / 4);
    this.log = o.log ?? silentLogger;
  }

  /** Subscribes and waits until the server has the subscriptions, so the first round's messages are not missed. */
  static async open(o: NatsTransportOptions): Promise<NatsTransport> {
    const t = new NatsTransport(o);
    const peers = Array.from({ length: o.worldSize }, (_, r) => r).filter((r) => r !== o.rank);
    for (const subject of [t.subject('to', o.rank), ...peers.map((p) => t.subject('all', p))]) {
      t.subs.push(o.bus.subscribe(subject, (msg) => t.onData(msg.data)));
    }
    t.subs.push(
      o.bus.subscribe(`${o.prefix}.ctl`, (msg) => {
        const control = decodeJson(ControlSchema, msg.data);
        if (control) t.sink?.control(control);
        else t.log.warn('collective.bad_control_message');
      }),
    );
    await o.bus.flush();
    return t;
  }

  listen(sink: TransportSink): void {
    this.sink = sink;
  }

  send(to: number | 'all', header: PartHeader, values: Float32Array): number {
    const subject = to === 'all' ? this.subject('all', this.o.rank) : this.subject('to', to);
    let bytes = 0;
    for (const chunk of encodeChunks(header, values, this.maxFloats)) {
      this.o.bus.publish(subject, chunk);
      bytes += chunk.length;
    }
    return bytes;
  }

  control(msg: Control): void {
    try {
      this.o.bus.publish(`${this.o.prefix}.ctl`, encodeControl(msg));
    } catch (err) {
      // A closed connection cannot carry the message; the peers will time out instead.
      this.log.warn('collective.control_publish_failed', { type: msg.type, error: err });
    }
  }

  /** Published messages are copied into the client's buffer at once: nothing to wait for. */
  flushed(): Promise<void> {
    return Promise.resolve();
  }

  close(): void {
    for (const s of this.subs) s.unsubscribe();
    this.subs.length = 0;
  }

  private subject(kind: 'to' | 'all', rank: number): string {
    return `${this.o.prefix}.${kind}.${rank}`;
  }

  private onData(data: Uint8Array): void {
    let chunk;
    try {
      chunk = decodeChunk(data);
    } catch (err) {
      if (err instanceof WireFormatError) return this.sink?.failed(new CollectiveProtocolError(err.message));
      throw err;
    }
    this.sink?.chunk(chunk, data.length);
  }
}
