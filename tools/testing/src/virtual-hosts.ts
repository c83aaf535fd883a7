import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

/**
 * Several "hosts" on this machine: one network namespace each, joined to a bridge in the
 * root namespace by a veth pair, so traffic between them crosses real interfaces (and,
 * with `rate`, a token-bucket limit in both directions of each link). Servers listen on
 * the bridge's address (`gateway`); processes run in a host through `exec(i)`. Needs root
 * and iproute2; `unavailableReason()` says why not where they are missing.
 */
export interface VirtualHosts extends AsyncDisposable {
  /** The root namespace's address on the bridge. */
  readonly gateway: string;
  readonly hosts: readonly { netns: string; address: string }[];
  /** The link limit, as tc reads it ('100mbit'), or undefined for the plain veth speed. */
  readonly rate: string | undefined;
  /** argv prefix that runs a command inside host `i`. */
  exec(i: number): string[];
  /** Bytes that crossed host `i`'s link so far, each way (read from its interface's counters). */
  linkBytes(i: number): { in: number; out: number };
  /** Takes host `i`'s link down (a cut cable: every connection through it stalls) or back up. */
  setLink(i: number, up: boolean): void;
  stop(): Promise<void>;
}

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
const tc = (...args: string[]) => execFileSync('tc', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

/** Best effort: without iptables there is no firewall in the way either. */
function iptables(...args: string[]): void {
  try {
    execFileSync('iptables', args, { stdio: 'ignore' });
  } catch {
    /* not installed, or the rule is already gone */
  }
}

/** Why namespaces cannot be made here, or undefined when they can. */
export function virtualHostsUnavailable(): string | undefined {
  if (process.platform !== 'linux') return `network namespaces need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'network namespaces need root (CI runs as root)';
  for (const bin of ['ip', 'tc']) {
    try {
      execFileSync(bin, ['-V'], { stdio: 'ignore' });
    } catch {
      return `'${bin}' is not runnable: install iproute2`;
    }
  }
  return undefined;
}

/** Token-bucket depth: 10 ms at the rate, at least 64 KiB (tbf needs one tick's worth). */
function burstFor(rate: string): string {
  const m = /^(\d+)(k|m|g)bit$/.exec(rate);
  if (!m) throw new Error(`rate '${rate}': use <n>kbit, <n>mbit or <n>gbit`);
  const bits = Number(m[1]) * { k: 1e3, m: 1e6, g: 1e9 }[m[2] as 'k' | 'm' | 'g'];
  return `${Math.max(64 * 1024, Math.ceil(bits / 8 / 100))}b`;
}

export async function createVirtualHosts(o: { hosts: number; rate?: string }): Promise<VirtualHosts> {
  const reason = virtualHostsUnavailable();
  if (reason) throw new Error(reason);
  const id = randomBytes(2).toString('hex');
  const used = ip('-o', '-4', 'addr');
  let subnet = 0;
  do subnet = 1 + (randomBytes(1)[0]! % 250);
  while (used.includes(`10.213.${subnet}.`));
  const bridge = `mnb${id}`;
  const gateway = `10.213.${subnet}.1`;
  const hosts = Array.from({ length: o.hosts }, (_, i) => ({
    netns: `mnist-${id}-${i}`,
    address: `10.213.${subnet}.${10 + i}`,
  }));
  // Host-to-host traffic crosses the bridge, and with br_netfilter loaded (Docker loads it, and
  // sets FORWARD's policy to DROP) bridged frames go through iptables' FORWARD chain: allow
  // this bridge's own traffic while the hosts exist, or hosts reach the gateway but not each other.
  const forward = ['FORWARD', '-i', bridge, '-o', bridge, '-j', 'ACCEPT'];
  const cleanup = () => {
    iptables('-D', ...forward);
    for (const h of hosts) {
      try {
        ip('netns', 'del', h.netns);
      } catch {
        /* not made yet */
      }
    }
    try {
      ip('link', 'del', bridge);
    } catch {
      /* not made yet */
    }
  };
  try {
    ip('link', 'add', bridge, 'type', 'bridge');
    ip('addr', 'add', `${gateway}/24`, 'dev', bridge);
    ip('link', 'set', bridge, 'up');
    iptables('-I', ...forward);
    hosts.forEach((h, i) => {
      const [outside, inside] = [`mn${id}h${i}`, `mn${id}n${i}`];
      ip('netns', 'add', h.netns);
      ip('link', 'add', outside, 'type', 'veth', 'peer', 'name', inside);
      ip('link', 'set', inside, 'netns', h.netns);
      ip('link', 'set', outside, 'master', bridge);
      ip('link', 'set', outside, 'up');
      ip('-n', h.netns, 'link', 'set', 'lo', 'up');
      ip('-n', h.netns, 'addr', 'add', `${h.address}/24`, 'dev', inside);
      ip('-n', h.netns, 'link', 'set', inside, 'up');
      ip('-n', h.netns, 'route', 'add', 'default', 'via', gateway);
      if (o.rate) {
        const limit = ['root', 'tbf', 'rate', o.rate, 'burst', burstFor(o.rate), 'latency', '100ms'];
        tc('qdisc', 'add', 'dev', outside, ...limit); // into the host
        tc('-n', h.netns, 'qdisc', 'add', 'dev', inside, ...limit); // out of the host
      }
    });
  } catch (err) {
    cleanup();
    const e = err as Error & { stderr?: Buffer };
    throw new Error(`could not make network namespaces: ${e.stderr?.toString().trim() || e.message}`);
  }
  const handle: VirtualHosts = {
    gateway,
    hosts,
    rate: o.rate,
    exec: (i) => ['ip', 'netns', 'exec', hosts[i]!.netns],
    linkBytes: (i) => {
      // The bridge side of the veth: what it transmits goes into the host.
      const stat = (name: string) => Number(readFileSync(`/sys/class/net/mn${id}h${i}/statistics/${name}`, 'utf8'));
      return { in: stat('tx_bytes'), out: stat('rx_bytes') };
    },
    setLink: (i, up) => void ip('link', 'set', `mn${id}h${i}`, up ? 'up' : 'down'),
    stop: async () => cleanup(),
    [Symbol.asyncDispose]: async () => cleanup(),
  };
  return handle;
}
