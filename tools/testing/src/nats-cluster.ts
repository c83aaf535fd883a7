import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { assertNatsBinary, endNats, launchNats } from './nats-process.js';
import type { VirtualHosts } from './virtual-hosts.js';

/** One server of a JetStream cluster. Its store survives stop/kill, as a real disk would. */
export interface NatsClusterNode {
  /** `server_name`: what stream info's `cluster.leader` and `replicas[].name` say. */
  readonly name: string;
  readonly url: string;
  readonly port: number;
  /** The HTTP monitoring endpoint (`/healthz`, `/jsz`, `/connz`, `/subsz`). */
  readonly monitorUrl: string;
  readonly storeDir: string;
  running(): boolean;
  start(): Promise<void>;
  /** SIGTERM: a clean shutdown (it steps down from whatever it leads). */
  stop(): Promise<void>;
  /** SIGKILL: a crash. */
  kill(): Promise<void>;
  /** Sends a signal (SIGSTOP freezes it, SIGCONT thaws it). */
  signal(sig: NodeJS.Signals): void;
}

export interface NatsClusterHandle extends AsyncDisposable {
  readonly nodes: readonly NatsClusterNode[];
  /** Every node's URL, comma-separated: what NATS_URL takes. */
  readonly url: string;
  node(name: string): NatsClusterNode;
  /** Resolves once every running node answers `/healthz` with 200 (JetStream current, meta leader known). */
  waitForHealthy(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export interface NatsClusterOptions {
  /** 3 by default: the smallest cluster that keeps a quorum with one node gone. */
  nodes?: number;
  bin?: string;
  host?: string;
  /**
   * Node i on host i of these (its own network namespace and address, instead of `host`):
   * cutting that host's link partitions the node from the others and from every client.
   */
  hosts?: VirtualHosts;
}

/**
 * Starts a JetStream cluster of `nodes` nats-servers (2.9+) on free ports: a config file
 * per node (`server_name`, client, monitoring and route ports, its own store folder),
 * every node routing to every other. Streams made with `num_replicas: 3` on it survive
 * any one node.
 */
export async function startNatsCluster(o: NatsClusterOptions = {}): Promise<NatsClusterHandle> {
  const count = o.nodes ?? 3;
  const hostOf = (i: number) => o.hosts?.hosts[i]?.address ?? o.host ?? '127.0.0.1';
  const bin = o.bin ?? 'nats-server';
  assertNatsBinary(bin);
  const ports = await Promise.all(
    Array.from({ length: count }, async () => ({
      client: await freePort(),
      route: await freePort(),
      monitor: await freePort(),
    })),
  );
  if (o.hosts && o.hosts.hosts.length < count) throw new Error(`${count} nats nodes need ${count} hosts`);
  const routes = ports.map((p, i) => `nats-route://${hostOf(i)}:${p.route}`);
  const nodes = ports.map((p, i) =>
    clusterNode(
      bin,
      { address: hostOf(i), prefix: o.hosts?.exec(i) ?? [] },
      `n${i + 1}`,
      p,
      routes.filter((_, j) => j !== i),
    ),
  );
  const handle: NatsClusterHandle = {
    nodes,
    url: nodes.map((n) => n.url).join(','),
    node: (name) => {
      const n = nodes.find((x) => x.name === name);
      if (!n) throw new Error(`no node '${name}' (have ${nodes.map((x) => x.name).join(', ')})`);
      return n;
    },
    waitForHealthy: async (timeoutMs = 30_000) => {
      const deadline = Date.now() + timeoutMs;
      const running = nodes.filter((x) => x.running());
      for (const n of running) {
        const healthy = () =>
          fetch(`${n.monitorUrl}/healthz`).then(
            (r) => r.ok,
            () => false,
          );
        await pollUntil(healthy, deadline, `nats node ${n.name} not healthy after ${timeoutMs} ms`);
      }
      // /healthz can pass before the meta group settles; a stream made then may time out.
      await pollUntil(
        () => metaCurrent(running),
        deadline,
        `nats cluster has no current meta group after ${timeoutMs} ms`,
      );
    },
    stop: async () => {
      await Promise.all(nodes.map((n) => n.stop()));
      for (const n of nodes) rmSync(n.storeDir, { recursive: true, force: true });
    },
    [Symbol.asyncDispose]: () => handle.stop(),
  };
  try {
    // Every start settles before any cleanup: a node still launching would write into a store being removed.
    const failed = (await Promise.allSettled(nodes.map((n) => n.start()))).find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    await handle.waitForHealthy();
  } catch (err) {
    // The start's error is the one to report, not a cleanup's.
    await handle.stop().catch(() => undefined);
    throw err;
  }
  return handle;
}

/** Checks every 100 ms until `check` passes; throws `failure` once past `deadline`. */
async function pollUntil(check: () => Promise<boolean>, deadline: number, failure: string): Promise<void> {
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(failure);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Every running node names the same meta leader, and that leader sees every other running node as current. */
async function metaCurrent(running: NatsClusterNode[]): Promise<boolean> {
  interface Meta {
    leader?: string;
    replicas?: { name: string; current: boolean }[];
  }
  if (running.length === 0) return true;
  const metas = await Promise.all(
    running.map((n) =>
      fetch(`${n.monitorUrl}/jsz`)
        .then((r) => r.json() as Promise<{ meta_cluster?: Meta }>)
        .then(
          (j) => j.meta_cluster,
          () => undefined,
        ),
    ),
  );
  const leader = metas[0]?.leader;
  if (!leader || metas.some((m) => m?.leader !== leader)) return false;
  const fromLeader = metas[running.findIndex((n) => n.name === leader)];
  if (!fromLeader) return false; // led by a node that is down: a running one takes over soon
  return running.every((n) => n.name === leader || fromLeader.replicas?.some((r) => r.name === n.name && r.current));
}

function clusterNode(
  bin: string,
  { address: host, prefix }: { address: string; prefix: string[] },
  name: string,
  p: { client: number; route: number; monitor: number },
  routes: string[],
): NatsClusterNode {
  const storeDir = mkdtempSync(join(tmpdir(), `nats-${name}-`));
  const config = join(storeDir, 'server.conf');
  writeFileSync(
    config,
    [
      `server_name: ${name}`,
      `listen: "${host}:${p.client}"`,
      `http: "${host}:${p.monitor}"`,
      `jetstream { store_dir: "${join(storeDir, 'js')}" }`,
      `cluster {`,
      `  name: mnist-test`,
      `  listen: "${host}:${p.route}"`,
      `  routes: [${routes.map((r) => `"${r}"`).join(', ')}]`,
      `}`,
      '',
    ].join('\n'),
  );
  let child: ChildProcess | undefined;
  const end = async (sig: NodeJS.Signals) => {
    const c = child;
    child = undefined;
    await endNats(c, sig);
  };
  return {
    name,
    url: `nats://${host}:${p.client}`,
    port: p.client,
    monitorUrl: `http://${host}:${p.monitor}`,
    storeDir,
    running: () => child !== undefined && child.exitCode === null && child.signalCode === null,
    start: async () => {
      if (child) throw new Error(`nats node ${name} is already running`);
      child = await launchNats(bin, ['-c', config], host, [p.client, p.monitor], prefix);
    },
    stop: () => end('SIGTERM'),
    kill: () => end('SIGKILL'),
    signal: (sig) => {
      if (!child) throw new Error(`nats node ${name} is not running`);
      child.kill(sig);
    },
  };
}
