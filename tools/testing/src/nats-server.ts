import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { assertNatsBinary, endNats, launchNats } from './nats-process.js';

export { NatsServerMissingError } from './nats-process.js';

export interface NatsServerHandle extends AsyncDisposable {
  readonly url: string;
  readonly port: number;
  /** `ws://host:port` of the WebSocket listener (edge clients), with `websocket: true` only. */
  readonly wsUrl?: string;
  /** JetStream store folder; it survives `restart()` so streams and KV persist like a real broker's disk. */
  readonly storeDir: string;
  /** Sends a signal to the running server (fault tests freeze it with SIGSTOP, thaw it with SIGCONT). */
  signal(sig: NodeJS.Signals): void;
  stop(): Promise<void>;
  /** Stops the server (SIGTERM) and starts it again on the same port and store. */
  restart(downMs?: number): Promise<void>;
}

export interface NatsServerOptions {
  bin?: string;
  port?: number;
  /** The address to listen on (default loopback; a bridge address serves network namespaces). */
  host?: string;
  /**
   * Also listen for WebSocket clients (NATS over `ws://`, as Workers connect) on a second
   * free port. Plain text: nats-server refuses a websocket block without TLS unless
   * `no_tls` says so (2.9 accepts it); production puts TLS on this listener.
   */
  websocket?: boolean;
  /**
   * Keep JetStream here, and leave it on stop (a dev cluster that survives restarts); default: a
   * temporary folder, removed on stop.
   */
  storeDir?: string;
}

/** Starts `nats-server -js` on a free port with a temporary JetStream store. */
export async function startNatsServer(opts: NatsServerOptions = {}): Promise<NatsServerHandle> {
  const host = opts.host ?? '127.0.0.1';
  const bin = opts.bin ?? 'nats-server';
  assertNatsBinary(bin);
  const port = opts.port ?? (await freePort());
  const wsPort = opts.websocket ? await freePort() : undefined;
  const keepStore = opts.storeDir !== undefined;
  const storeDir = opts.storeDir ?? mkdtempSync(join(tmpdir(), 'nats-js-'));
  if (keepStore) mkdirSync(storeDir, { recursive: true });
  const args = ['-a', host, '-p', String(port), '-js', '-sd', storeDir];
  if (wsPort !== undefined) {
    // The websocket listener has no command-line flags: it needs a config file.
    const config = join(storeDir, 'websocket.conf');
    writeFileSync(config, `websocket {\n  host: "${host}"\n  port: ${wsPort}\n  no_tls: true\n}\n`);
    args.push('-c', config);
  }
  let child: ChildProcess | undefined;

  const launch = async () => {
    child = await launchNats(bin, args, host, wsPort === undefined ? [port] : [port, wsPort]);
  };

  const stopChild = async () => {
    const c = child;
    child = undefined;
    await endNats(c);
  };

  await launch();
  const handle: NatsServerHandle = {
    url: `nats://${host}:${port}`,
    port,
    ...(wsPort !== undefined && { wsUrl: `ws://${host}:${wsPort}` }),
    storeDir,
    signal: (sig) => {
      if (!child || child.exitCode !== null) throw new Error('nats-server is not running');
      child.kill(sig);
    },
    stop: async () => {
      await stopChild();
      if (!keepStore) rmSync(storeDir, { recursive: true, force: true });
    },
    restart: async (downMs = 0) => {
      await stopChild();
      if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
      await launch();
    },
    [Symbol.asyncDispose]: () => handle.stop(),
  };
  return handle;
}
