import { ConfigError, createLogger } from '@mnist/core';
import { parseTrainerEnv } from './config.js';
import { startTrainer, type Trainer } from './trainer.js';

/**
 * `npm run trainer`: one trainer process, configured by environment (see README).
 * SIGTERM/SIGINT drain it (hand back or finish the job) and exit 0; a second signal
 * exits at once.
 */
async function main(): Promise<number> {
  let config;
  try {
    config = parseTrainerEnv(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`trainer: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const log = createLogger({ app: 'trainer' }, { level: config.logLevel });
  let trainer: Trainer | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (signal: string) => {
    if (stopping) {
      log.warn('trainer.forced_exit', { signal });
      process.exit(1);
    }
    log.info('trainer.signal', { signal });
    stopping = trainer ? trainer.drain() : Promise.resolve();
    stopping.then(
      () => process.exit(0),
      (err: unknown) => {
        log.error('trainer.drain_failed', { error: err });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('unhandledRejection', (err) => {
    log.error('trainer.unhandled_rejection', { error: err });
    process.exit(1);
  });
  // Exit code 70 (EX_SOFTWARE): the trainer cannot go on; a supervisor (compose, systemd) restarts it.
  trainer = await startTrainer(config, log, () => process.exit(70));
  if (stopping) await trainer.drain().then(() => process.exit(0));
  return -1; // keeps running until a signal
}

main().then(
  (code) => code >= 0 && process.exit(code),
  (err: unknown) => {
    process.stderr.write(`trainer: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
