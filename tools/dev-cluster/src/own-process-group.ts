import { spawn } from 'node:child_process';

const INNER = 'MNIST_CLUSTER_INNER';

/**
 * Ctrl-C in a terminal signals the whole foreground process group: nats-server, the API
 * and every trainer would get SIGINT at once, and the servers would vanish while the
 * trainers drain. So the dev cluster re-runs itself in a new process group and forwards
 * one SIGTERM; the inner process then stops its children in order.
 * Returns true in the outer (forwarding) process, which must do nothing else.
 */
export function forwardFromOwnProcessGroup(): boolean {
  if (process.env[INNER] === '1') return false;
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    detached: true,
    stdio: 'inherit',
    env: { ...process.env, [INNER]: '1' },
  });
  const forward = () => child.exitCode === null && child.kill('SIGTERM');
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  child.once('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
  return true;
}
