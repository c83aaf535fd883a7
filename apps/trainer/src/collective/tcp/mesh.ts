import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls, type ConnectionOptions } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { silentLogger, type Logger } from '@mnist/core';
import { decodeJson } from '../../group/messages.js';
import { MeshError } from '../errors.js';
import type { DataEndpoint, DataListener } from './data-listener.js';
import { FRAME, FrameReader, jsonFrame } from './frames.js';
import { helloFor, WelcomeSchema, type RankKey } from './hello.js';
import { TcpTransport, type PeerConnection } from './tcp-transport.js';

export interface MeshOptions {
  key: RankKey;
  /** Every rank's data endpoint, in rank order (this rank's own included). */
  endpoints: readonly DataEndpoint[];
  listener: DataListener;
  /** The whole mesh must form within this long. */
  deadlineMs: number;
  /** TLS client options (the CA that signed the peers' certificates), when the listeners use TLS. */
  tls?: ConnectionOptions;
  log?: Logger;
}

/** Dialing again after a refusal that may pass (the peer's rank is not open yet) or a refused connection. */
const REDIAL_MS = 50;

class Refused extends Error {
  constructor(
    message: string,
    readonly retry: boolean,
  ) {
    super(message);
  }
}

/**
 * Forms this rank's part of the full mesh: it dials every higher rank and waits for every
 * lower rank to dial it (so each pair has exactly one connection), all within the deadline.
 * Throws MeshError naming the ranks that could not be reached and why; nothing stays open then.
 */
export async function formMesh(o: MeshOptions): Promise<TcpTransport> {
  const { key, endpoints, listener } = o;
  const log = o.log ?? silentLogger;
  const peers = new Map<number, PeerConnection>();
  const deadline = Date.now() + o.deadlineMs;
  const stopped = new AbortController();
  let acceptedAll: () => void = () => undefined;
  const lowerRanks = key.rank;
  const accepted = lowerRanks === 0 ? Promise.resolve() : new Promise<void>((resolve) => (acceptedAll = resolve));
  let acceptedCount = 0;
  const stopExpecting = listener.expect(key, ({ from, socket, reader }) => {
    if (stopped.signal.aborted) return socket.destroy();
    peers.set(from, { socket, reader });
    if (++acceptedCount === lowerRanks) acceptedAll();
  });
  const failures: string[] = [];
  try {
    const dials = [];
    for (let to = key.rank + 1; to < key.worldSize; to++) {
      dials.push(
        dialUntil(endpoints[to]!, key, to, deadline, o.tls, stopped.signal).then(
          (c) => void peers.set(to, c),
          (err: Error) =>
            void failures.push(`rank ${to} at ${endpoints[to]!.host}:${endpoints[to]!.port}: ${err.message}`),
        ),
      );
    }
    const waitLower = Promise.race([
      accepted,
      sleep(Math.max(0, deadline - Date.now()), undefined, { signal: stopped.signal, ref: false }).then(() => 'late'),
    ]);
    const [lower] = await Promise.all([waitLower.catch(() => 'late'), Promise.all(dials)]);
    if (lower === 'late') {
      const missing = Array.from({ length: key.rank }, (_, r) => r).filter((r) => !peers.has(r));
      const at = `${endpoints[key.rank]?.host}:${endpoints[key.rank]?.port}`;
      failures.push(`rank${missing.length > 1 ? 's' : ''} ${missing.join(', ')} did not connect to ${at}`);
    }
    if (failures.length > 0)
      throw new MeshError(`direct connections did not form within ${o.deadlineMs} ms: ${failures.join('; ')}`);
    log.info('data_plane.connected', {
      peers: [...peers.keys()].sort((a, b) => a - b),
      ms: o.deadlineMs - (deadline - Date.now()),
    });
    return new TcpTransport(key.rank, peers, log);
  } catch (err) {
    for (const { socket } of peers.values()) socket.destroy();
    throw err;
  } finally {
    stopped.abort();
    stopExpecting();
  }
}

async function dialUntil(
  e: DataEndpoint,
  key: RankKey,
  to: number,
  deadline: number,
  tls: ConnectionOptions | undefined,
  stop: AbortSignal,
): Promise<PeerConnection> {
  for (;;) {
    try {
      return await dialOnce(e, key, to, Math.max(1, deadline - Date.now()), tls);
    } catch (err) {
      const retry = err instanceof Refused ? err.retry : true; // unreachable yet: the peer may still be starting
      if (!retry || Date.now() + REDIAL_MS >= deadline || stop.aborted) throw err;
      await sleep(REDIAL_MS);
    }
  }
}

/** One connection attempt: connect, say hello, read the welcome. */
function dialOnce(
  e: DataEndpoint,
  key: RankKey,
  to: number,
  timeoutMs: number,
  tls: ConnectionOptions | undefined,
): Promise<PeerConnection> {
  return new Promise((resolve, reject) => {
    const socket: Socket = tls
      ? connectTls({ ...tls, host: e.host, port: e.port })
      : connectTcp({ host: e.host, port: e.port });
    socket.setNoDelay(true);
    const timer = setTimeout(() => fail(new Error(`no welcome within ${timeoutMs} ms`)), timeoutMs);
    const fail = (err: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    const reader = new FrameReader((type, body) => {
      clearTimeout(timer);
      reader.hold();
      const welcome = type === FRAME.welcome ? decodeJson(WelcomeSchema, body) : undefined;
      if (!welcome) return fail(new Refused('answered without a welcome', false));
      if (!welcome.ok) return fail(new Refused(`refused: ${welcome.reason}`, welcome.retry));
      // Paused until the transport reads it: parts may follow the welcome at once.
      // An error before the transport takes over destroys the socket; the transport sees it closed.
      socket.off('data', onData);
      socket.pause();
      resolve({ socket, reader });
    });
    const onData = (data: Buffer) => {
      try {
        reader.push(data);
      } catch (err) {
        fail(err as Error);
      }
    };
    socket.on('data', onData);
    socket.on('error', fail);
    socket.once(tls ? 'secureConnect' : 'connect', () => socket.write(jsonFrame(FRAME.hello, helloFor(key, to))));
  });
}
