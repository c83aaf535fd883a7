// Checks infra/docker-compose.yml's secure defaults with the Compose v1 this CI has: it
// refuses to start without its secrets, publishes no broker port, binds the consoles to
// 127.0.0.1 and has no anonymous Grafana. v1 cannot read the file's two v2-only keys (the
// top-level `name` and a secret sourced from the environment), so a copy without them is
// checked; everything else is the shipped file as is.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { run } from './sh.js';

const SECRETS = [
  'NATS_PASSWORD',
  'API_TOKEN',
  'MINIO_ROOT_USER',
  'MINIO_ROOT_PASSWORD',
  'GRAFANA_ADMIN_PASSWORD',
] as const;

/** The lines of one service in `docker-compose config` output (services are at 2 spaces). */
function serviceBlock(config: string, name: string): string {
  const m = new RegExp(`^  ${name}:\\n((?:    .*\\n|\\s*\\n)*)`, 'm').exec(config);
  if (!m) throw new Error(`service ${name} missing from the compose config`);
  return m[1]!;
}

export async function checkShippedCompose(check: (ok: boolean, message: string) => void): Promise<void> {
  const copy = 'infra/.compose-v1-check.yml'; // beside the original: relative paths resolve the same
  const v1 = readFileSync('infra/docker-compose.yml', 'utf8')
    .replace(/^name: .*\n/m, '')
    .replace(/^secrets:\n(?:[ #].*\n|\s*\n)*/m, '')
    .replace(/^ {4}secrets: \[api_token\]\n/m, '');
  writeFileSync(copy, v1);
  try {
    const config = (env: Record<string, string>) => {
      const clean = Object.fromEntries(
        Object.entries(process.env).filter(([k]) => !(SECRETS as readonly string[]).includes(k)),
      );
      return run('docker-compose', ['-f', copy, 'config'], { env: { ...clean, ...env }, replaceEnv: true });
    };
    for (const missing of SECRETS) {
      const env = Object.fromEntries(SECRETS.filter((s) => s !== missing).map((s) => [s, 'x'.repeat(32)]));
      const r = await config(env);
      check(r.code !== 0 && r.stderr.includes(`set ${missing}`), `shipped compose refuses to start without ${missing}`);
    }
    const ok = await config(Object.fromEntries(SECRETS.map((s) => [s, 'x'.repeat(32)])));
    check(ok.code === 0, `shipped compose is valid with its secrets set${ok.code === 0 ? '' : `: ${ok.stderr}`}`);
    check(!/^ {4}ports:/m.test(serviceBlock(ok.stdout, 'nats')), 'shipped compose publishes no NATS port');
    for (const svc of ['minio', 'prometheus', 'grafana']) {
      const block = serviceBlock(ok.stdout, svc);
      const published = [...block.matchAll(/^ {4}- (\S+:\d+:\d+)\S*$/gm)].map((m) => m[1]!);
      check(
        published.length > 0 && published.every((p) => p.startsWith('127.0.0.1:')),
        `shipped compose binds ${svc} to 127.0.0.1 only (${published.join(', ')})`,
      );
    }
    check(
      /GF_AUTH_ANONYMOUS_ENABLED: 'false'|GF_AUTH_ANONYMOUS_ENABLED: "false"|GF_AUTH_ANONYMOUS_ENABLED: false/.test(
        serviceBlock(ok.stdout, 'grafana'),
      ),
      'shipped compose: no anonymous Grafana',
    );
  } finally {
    rmSync(copy, { force: true });
  }
}
