import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MeshError } from '../errors.js';
import { GroupCollective } from '../group-collective.js';
import { DataListener } from './data-listener.js';
import { formMesh } from './mesh.js';
import { dataPlaneTls } from './tls.js';

/** A throwaway CA and one certificate it signed for 127.0.0.1 (openssl, as an operator would make them). */
function makeCerts(): { cert: string; key: string; ca: string; otherCa: string } {
  const dir = mkdtempSync(join(tmpdir(), 'data-tls-'));
  const f = (name: string) => join(dir, name);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  for (const ca of ['ca', 'other']) {
    ssl(
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '1',
      '-subj',
      `/CN=${ca}`,
      '-keyout',
      f(`${ca}.key`),
      '-out',
      f(`${ca}.pem`),
    );
  }
  ssl(
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-subj',
    '/CN=trainer',
    '-keyout',
    f('t.key'),
    '-out',
    f('t.csr'),
  );
  writeFileSync(f('ext'), 'subjectAltName=IP:127.0.0.1\n');
  ssl(
    'x509',
    '-req',
    '-in',
    f('t.csr'),
    '-CA',
    f('ca.pem'),
    '-CAkey',
    f('ca.key'),
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    f('ext'),
    '-out',
    f('t.pem'),
  );
  return { cert: f('t.pem'), key: f('t.key'), ca: f('ca.pem'), otherCa: f('other.pem') };
}

const listeners: DataListener[] = [];
afterAll(() => listeners.forEach((l) => l.close()));

describe('TLS on the data plane', () => {
  const files = makeCerts();

  it('a mesh of listeners with certificates from one CA forms and sums over TLS', async () => {
    const tls = dataPlaneTls(files);
    const ls = await Promise.all(
      [0, 1].map(() =>
        DataListener.open({ bind: '127.0.0.1', ports: [0, 0], advertise: '127.0.0.1', tls: tls.server }),
      ),
    );
    listeners.push(...ls);
    const keys = [0, 1].map((rank) => ({ jobId: 'j-tls', attempt: 1, rank, worldSize: 2, secret: 's' }));
    const transports = await Promise.all(
      keys.map((key, r) =>
        formMesh({ key, endpoints: ls.map((l) => l.endpoint), listener: ls[r]!, deadlineMs: 5_000, tls: tls.client }),
      ),
    );
    const ranks = transports.map(
      (transport, rank) =>
        new GroupCollective({ transport, rank, worldSize: 2, timeoutMs: 5_000, slowRoundTimeoutMs: 5_000 }),
    );
    const sums = await Promise.all(
      ranks.map((c) => c.allReduceSum(Float32Array.of(c.rank + 1, 0.5)).then((s) => [...s])),
    );
    expect(sums).toEqual([
      [3, 1],
      [3, 1],
    ]);
    ranks.forEach((c) => c.close());
  });

  it('a peer whose certificate another CA signed cannot join', async () => {
    const good = dataPlaneTls(files);
    // Trusts another CA: rejects the listener's certificate.
    const stranger = dataPlaneTls({ ...files, ca: files.otherCa });
    const [l0, l1] = await Promise.all(
      [0, 1].map(() =>
        DataListener.open({ bind: '127.0.0.1', ports: [0, 0], advertise: '127.0.0.1', tls: good.server }),
      ),
    );
    listeners.push(l0!, l1!);
    const key = { jobId: 'j-tls-bad', attempt: 1, rank: 0, worldSize: 2, secret: 's' };
    const err = await formMesh({
      key,
      endpoints: [l0!.endpoint, l1!.endpoint],
      listener: l0!,
      deadlineMs: 600,
      tls: stranger.client,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MeshError);
  });
});
