import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { main } from './main.js';

async function run(argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: { write: (s: string) => ((stdout += s), true) } as never,
    stderr: { write: (s: string) => ((stderr += s), true) } as never,
  });
  return { code, stdout, stderr };
}

describe('mnist: version, help, did you mean, completion', () => {
  it('--version, help <verb>, and typos of verbs and flags', async () => {
    expect(await run(['--version'])).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^mnist \d+\.\d+\.\d+ \(node v\d+/),
    });
    const help = await run(['help', 'submit']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: mnist submit/);
    expect(await run(['sbumit'])).toMatchObject({
      code: 2,
      stderr: "mnist: unknown command 'sbumit'; did you mean 'submit'?; run 'mnist --help'\n",
    });
    expect(await run(['jobs', '--stat', 'queued'])).toMatchObject({
      code: 2,
      stderr: "mnist: unknown flag '--stat'; did you mean '--state'?\n",
    });
    expect(await run(['deploy'])).toMatchObject({
      code: 2,
      stderr: "mnist: unknown command 'deploy'; run 'mnist --help'\n",
    });
  });

  it('completion bash|zsh: a script bash accepts, with each command and its flags', async () => {
    const r = await run(['completion', 'bash']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^ {4}submit\) opts="[^"]*--name[^"]*--tag[^"]*"/m);
    expect(r.stdout).toMatch(/^ {4}logs\) opts="[^"]*--follow/m);
    expect(spawnSync('bash', ['-n'], { input: r.stdout }).status).toBe(0);
    expect((await run(['completion', 'zsh'])).stdout).toContain('bashcompinit');
    expect(await run(['completion', 'fish'])).toMatchObject({
      code: 2,
      stderr: "mnist: mnist completion takes bash or zsh, got 'fish'\n",
    });
  }, 60_000);
});
