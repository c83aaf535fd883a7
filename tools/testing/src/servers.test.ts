import { describe, expect, it } from 'vitest';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNatsCluster, startNatsServer, startS3Server } from './index.js';

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect({ port, host: '127.0.0.1' });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });

/** The first line of the answer to a WebSocket upgrade request (a NATS TCP port answers `INFO {...}`). */
const upgrades = (port: number) =>
  new Promise<string>((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1' });
    s.once('connect', () =>
      s.write(
        'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      ),
    );
    s.once('data', (d: Buffer) => (s.destroy(), resolve(d.toString().split('\r\n')[0]!)));
    s.once('error', reject);
  });

describe('test servers', () => {
  it('nats-server starts, restarts on the same port and stops', async () => {
    const nats = await startNatsServer();
    expect(nats.url).toMatch(/^nats:\/\/127\.0\.0\.1:\d+$/);
    expect(await accepts(nats.port)).toBe(true);
    await nats.restart(50);
    expect(await accepts(nats.port)).toBe(true);
    await nats.stop();
    expect(await accepts(nats.port)).toBe(false);
  });

  it('with websocket: true, nats-server also answers a WebSocket upgrade, after a restart too', async () => {
    await using nats = await startNatsServer({ websocket: true });
    const ws = new URL(nats.wsUrl!);
    expect(ws.protocol).toBe('ws:');
    expect(await upgrades(Number(ws.port))).toMatch(/^HTTP\/1\.1 101/);
    await nats.restart(50);
    expect(await upgrades(Number(ws.port))).toMatch(/^HTTP\/1\.1 101/);
    expect(await upgrades(nats.port)).not.toMatch(/^HTTP\/1\.1 101/);
  });

  it('a 3-node nats cluster starts healthy; a killed node starts again on its port and rejoins', async () => {
    await using nats = await startNatsCluster({ nodes: 3 });
    expect(nats.url.split(',')).toEqual(nats.nodes.map((n) => n.url));
    for (const n of nats.nodes) expect(await accepts(n.port)).toBe(true);
    const jsz = (await (await fetch(`${nats.nodes[0]!.monitorUrl}/jsz`)).json()) as {
      meta_cluster?: { cluster_size?: number };
    };
    expect(jsz.meta_cluster?.cluster_size).toBe(3);
    await nats.node('n2').kill();
    expect(nats.node('n2').running()).toBe(false);
    expect(await accepts(nats.node('n2').port)).toBe(false);
    await nats.node('n2').start();
    await nats.waitForHealthy();
    expect(await accepts(nats.node('n2').port)).toBe(true);
  }, 60_000);

  it('a cluster whose node fails to start reports that failure and leaves no node running', async () => {
    // A nats-server that refuses to be n2 at once; the others start (slower) and note their pid.
    // n2's words reach the pipe after its exit, as they may on a busy machine (a CI run got the message without them).
    const dir = mkdtempSync(join(tmpdir(), 'nats-wrapper-'));
    const bin = join(dir, 'nats-server');
    const pids = join(dir, 'pids');
    writeFileSync(
      bin,
      [
        '#!/bin/sh',
        'case "$*" in *--version*) exec nats-server "$@";; esac',
        `if grep -q 'server_name: n2' "$2"; then (sleep 0.3; echo 'n2 refuses to start' >&2) & exit 3; fi`,
        `echo $$ >> ${pids}`,
        'exec nats-server "$@"',
        '',
      ].join('\n'),
    );
    chmodSync(bin, 0o755);
    try {
      await expect(startNatsCluster({ bin })).rejects.toThrow(/exited \(3\) during start: n2 refuses to start/);
      const started = readFileSync(pids, 'utf8').trim().split('\n').map(Number);
      expect(started).toHaveLength(2);
      for (const pid of started) expect(() => process.kill(pid, 0), `node pid ${pid} still runs`).toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('a missing nats-server binary fails with an install hint', async () => {
    await expect(startNatsServer({ bin: 'no-such-nats-server' })).rejects.toThrow(/Install nats-server/);
  });

  it('s3rver listens on a free port', async () => {
    await using s3 = await startS3Server();
    expect(await accepts(s3.port)).toBe(true);
    expect(s3.env.S3_ENDPOINT).toBe(s3.endpoint);
  });
});
