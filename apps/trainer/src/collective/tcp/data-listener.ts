import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TlsOptions } from 'node:tls';
import { timingSafeEqual } from 'node:crypto';
import { silentLogger, type Logger } from '@mnist/core';
import { decodeJson } from '../../group/messages.js';
import { WIRE_VERSION } from '../wire.js';
import { FRAME, FrameReader, jsonFrame } from './frames.js';
import { HelloSchema, rankKey, type RankKey, type Welcome } from './hello.js';

/** Where a trainer's data listener can be reached, as it advertises it to its peers. */
export interface DataEndpoint {
  host: string;
  port: number;
}

export interface DataListenerOptions {
  /** Interface to listen on (DATA_BIND). */
  bind: string;
  /** Port range to try, in order (DATA_PORT: one port, a range, or 0 for any free port). */
  ports: [number, number];
  /** Host name or address the peers dial (DATA_ADVERTISE). */
  advertise: string;
  /** TLS server options (certificate and key) for untrusted networks. */
  tls?: TlsOptions;
  /** A connection that has not said hello within this long is closed. */
  handshakeTimeoutMs?: number;
  log?: Logger;
}

/** A dialer this rank accepted: its rank, its paused socket and the reader holding what arrived after the hello. */
export interface AcceptedPeer {
  from: number;
  socket: Socket;
  reader: FrameReader;
}

interface Expectation {
  key: RankKey;
  accepted: Set<number>;
  onPeer: (peer: AcceptedPeer) => void;
}

/**
 * A trainer's data-plane listener: one port for the trainer's life, so it can be advertised
 * in offers before any job is known (and mapped once by a container or a firewall). It
 * hands a connection to a rank only after a hello that names an open rank of this trainer,
 * a lower rank of the same attempt and world, this wire version and the attempt's secret;
 * everything else is answered with the reason and closed. The sockets belong to the rank.
 */
export class DataListener {
  private readonly expected = new Map<string, Expectation>();

  private constructor(
    private readonly server: Server,
    readonly endpoint: DataEndpoint,
    private readonly o: DataListenerOptions,
    private readonly log: Logger,
  ) {}

  static async open(o: DataListenerOptions): Promise<DataListener> {
    const log = (o.log ?? silentLogger).child({ component: 'data-listener' });
    const server = o.tls ? createTlsServer(o.tls) : createTcpServer();
    const [lo, hi] = o.ports;
    let lastError: Error | undefined;
    for (let port = lo; port <= hi; port++) {
      try {
        await listen(server, o.bind, port);
        const bound = (server.address() as { port: number }).port;
        const l = new DataListener(server, { host: o.advertise, port: bound }, o, log);
        server.on(o.tls ? 'secureConnection' : 'connection', (s: Socket) => l.onConnection(s));
        server.on('error', (err) => log.warn('data_listener.error', { error: err }));
        return l;
      } catch (err) {
        lastError = err as Error;
      }
    }
    throw new Error(
      `data plane: cannot listen on ${o.bind} port ${lo === hi ? lo : `${lo}-${hi}`}: ${lastError?.message}`,
    );
  }

  /** Lets lower ranks of `key`'s attempt connect to this rank; returns the function that stops it. */
  expect(key: RankKey, onPeer: (peer: AcceptedPeer) => void): () => void {
    const k = rankKey(key.jobId, key.attempt, key.rank);
    const e: Expectation = { key, accepted: new Set(), onPeer };
    this.expected.set(k, e);
    return () => {
      if (this.expected.get(k) === e) this.expected.delete(k);
    };
  }

  /** Stops listening. Connections already handed to ranks stay theirs to close. */
  close(): void {
    this.server.close();
    this.expected.clear();
  }

  private onConnection(socket: Socket): void {
    socket.setNoDelay(true);
    const timer = setTimeout(() => refuse('no hello in time', false), this.o.handshakeTimeoutMs ?? 5_000);
    const refuse = (reason: string, retry: boolean) => {
      clearTimeout(timer);
      const welcome: Welcome = { ok: false, reason, retry };
      if (!retry) this.log.warn('data_plane.refused', { remote: socket.remoteAddress, reason });
      socket.end(jsonFrame(FRAME.welcome, welcome));
    };
    const reader = new FrameReader((type, body) => {
      clearTimeout(timer);
      reader.hold();
      const hello = type === FRAME.hello ? decodeJson(HelloSchema, body) : undefined;
      if (!hello) return refuse('expected a hello frame', false);
      if (hello.wire !== WIRE_VERSION)
        return refuse(`wire version ${hello.wire}, this trainer speaks ${WIRE_VERSION}`, false);
      const e = this.expected.get(rankKey(hello.jobId, hello.attempt, hello.to));
      if (!e)
        return refuse(
          `no rank ${hello.to} of ${hello.jobId} attempt ${hello.attempt} here (not open yet, or ended)`,
          true,
        );
      if (!sameSecret(e.key.secret, hello.secret)) return refuse('wrong secret for this attempt', false);
      if (hello.worldSize !== e.key.worldSize || hello.from >= hello.to || e.accepted.has(hello.from)) {
        return refuse(
          `rank ${hello.from} of ${hello.worldSize} may not dial rank ${hello.to} of ${e.key.worldSize} (again)`,
          false,
        );
      }
      e.accepted.add(hello.from);
      socket.off('data', onData);
      socket.pause();
      socket.write(jsonFrame(FRAME.welcome, { ok: true } satisfies Welcome));
      e.onPeer({ from: hello.from, socket, reader });
    });
    const onData = (data: Buffer) => {
      try {
        reader.push(data);
      } catch (err) {
        refuse((err as Error).message, false);
      }
    };
    socket.on('data', onData);
    socket.on('error', () => clearTimeout(timer));
    socket.on('close', () => clearTimeout(timer));
  }
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen({ host, port }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
