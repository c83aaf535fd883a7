import type { Socket } from 'node:net';
import { silentLogger, type Logger } from '@mnist/core';
import { decodeJson } from '../../group/messages.js';
import { CollectivePeerLostError, CollectiveProtocolError } from '../errors.js';
import { ControlSchema, type CollectiveTransport, type Control, type TransportSink } from '../transport.js';
import { decodeChunk, type PartHeader } from '../wire.js';
import { FRAME, jsonFrame, partPrefix, type FrameReader } from './frames.js';

export interface PeerConnection {
  socket: Socket;
  reader: FrameReader;
}

/**
 * Parts over direct TCP connections between the ranks (a full mesh: gloo's shape). TCP
 * delivers in order or breaks, so nothing is ever resent: a closed or broken connection
 * fails the round at once (the requeue-and-resume path takes over), and a frozen peer
 * whose socket stays open is still caught by the round's deadline above. A part goes out
 * as a small prefix plus a view of the caller's floats (no copy); `flushed()` waits until
 * the kernel has all of it.
 */
export class TcpTransport implements CollectiveTransport {
  readonly kind = 'tcp';
  readonly reliable = true;
  private sink: TransportSink | undefined;
  private closing = false;
  private readonly log: Logger;

  constructor(
    private readonly rank: number,
    private readonly peers: Map<number, PeerConnection>,
    log?: Logger,
  ) {
    this.log = log ?? silentLogger;
    for (const [peer, { socket, reader }] of peers) {
      reader.attach((type, body) => this.onFrame(peer, type, body));
      socket.on('data', (data: Buffer) => {
        try {
          reader.push(data);
        } catch (err) {
          this.lost(peer, (err as Error).message);
          socket.destroy();
        }
      });
      socket.on('error', (err) => this.lost(peer, err.message));
      socket.on('close', () => this.lost(peer, 'connection closed'));
      socket.resume();
    }
  }

  listen(sink: TransportSink): void {
    this.sink = sink;
    for (const [peer, { socket }] of this.peers)
      if (socket.destroyed) this.lost(peer, 'connection closed before the first round');
  }

  send(to: number | 'all', header: PartHeader, values: Float32Array): number {
    const payload = Buffer.from(values.buffer, values.byteOffset, values.byteLength);
    // The same prefix serves every peer: written buffers are only read.
    const prefix = partPrefix(header, values.length);
    let bytes = 0;
    for (const [peer, { socket }] of this.peers) {
      if (to !== 'all' && to !== peer) continue;
      // One writev: the prefix and the floats leave in the same syscall.
      socket.cork();
      socket.write(prefix);
      socket.write(payload);
      socket.uncork();
      bytes += prefix.length + payload.length;
    }
    return bytes;
  }

  control(msg: Control): void {
    for (const { socket } of this.peers.values()) if (!socket.destroyed) socket.write(jsonFrame(FRAME.control, msg));
  }

  async flushed(): Promise<void> {
    for (const { socket } of this.peers.values()) {
      if (socket.writableLength === 0 || socket.destroyed) continue;
      await new Promise<void>((resolve) => {
        const done = () => {
          socket.off('drain', done);
          socket.off('close', done);
          resolve();
        };
        socket.on('drain', done);
        socket.on('close', done);
      });
    }
  }

  /** Ends the connections after what was written (an abort's reason included) has gone out. */
  close(): void {
    this.closing = true;
    for (const { socket } of this.peers.values()) socket.end();
    // A peer that never reads must not keep the socket open.
    setTimeout(() => {
      for (const { socket } of this.peers.values()) socket.destroy();
    }, 5_000).unref();
  }

  private onFrame(peer: number, type: number, body: Buffer): void {
    if (type === FRAME.part) {
      let chunk;
      try {
        chunk = decodeChunk(body);
      } catch (err) {
        return this.sink?.failed(new CollectiveProtocolError(`rank ${peer}: ${(err as Error).message}`));
      }
      if (chunk.rank !== peer)
        return this.sink?.failed(
          new CollectiveProtocolError(`the connection of rank ${peer} carried a part of rank ${chunk.rank}`),
        );
      this.sink?.chunk(chunk, body.length + 5);
    } else if (type === FRAME.control) {
      const msg = decodeJson(ControlSchema, body);
      if (msg) this.sink?.control(msg);
      else this.log.warn('collective.bad_control_message', { from: peer });
    } else {
      this.sink?.failed(new CollectiveProtocolError(`rank ${peer} sent frame type ${type} mid-job`));
    }
  }

  private lost(peer: number, detail: string): void {
    if (this.closing) return;
    this.sink?.failed(new CollectivePeerLostError(peer, detail));
  }
}
