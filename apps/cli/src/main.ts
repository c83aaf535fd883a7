import { readEnv } from './config.js';
import { CliError, UsageError } from './errors.js';
import { createOutput } from './output.js';
import { CLUSTER_COMMANDS, CLUSTER_HELP } from './commands/cluster/index.js';

export const HELP = `Usage: mnist <command> [flags]

Train and compare MNIST classifiers (LeNet-5, CustomMLP, Regularized LeNet-5)
with TensorFlow.js, on this machine or on a cluster of trainers.

Local (no servers):
  models        list the models, their layers and parameter counts
  train         train one model          (mnist train --model lenet5)
  reproduce     train all three and compare them, as the seed study does

${CLUSTER_HELP}

Run 'mnist <command> --help' for the flags of a command.

Environment: MNIST_DIR (dataset folder), MNIST_BACKEND (auto|tensorflow|onednn|wasm|cpu),
RUNS_DIR (default ./runs), API_URL and API_TOKEN (cluster verbs).`;

/** Runs one CLI invocation and returns its exit code; never throws. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  const json = args.includes('--json');
  const out = createOutput(json);
  // First Ctrl-C: stop at the next step and keep what is saved; second: leave at once.
  const abort = new AbortController();
  const onSigint = () => {
    if (abort.signal.aborted) process.exit(130);
    out.info('\ninterrupt: stopping after the current step (Ctrl-C again to quit now)');
    abort.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
      out.result(HELP);
      return command === undefined ? 2 : 0;
    }
    const env = readEnv();
    const ctx = { env, out, signal: abort.signal };
    switch (command) {
      // Commands load on demand: the training stack (tfjs, backends) costs seconds to import.
      case 'models':
        return await (await import('./commands/models.js')).modelsCommand(args, out);
      case 'train':
        return await (await import('./commands/train.js')).trainCommand(args, ctx);
      case 'reproduce':
        return await (await import('./commands/train.js')).reproduceCommand(args, ctx);
      default: {
        const cluster = Object.hasOwn(CLUSTER_COMMANDS, command) ? CLUSTER_COMMANDS[command] : undefined;
        if (cluster) return await cluster(args, ctx);
        throw new UsageError(`unknown command '${command}'; run 'mnist --help'`);
      }
    }
  } catch (err) {
    // By name: importing @mnist/training here would load tfjs for every command.
    if ((err as Error).name === 'TrainingCancelledError') {
      out.info(`stopped at epoch ${(err as { epoch: number }).epoch}; the last complete checkpoint is kept: resume with --resume <run>`);
      return 130;
    }
    if (err instanceof CliError) {
      out.info(`mnist: ${err.message}`);
      return err.exitCode;
    }
    // Errors from our packages carry clear messages; show the stack only when asked.
    out.info(`mnist: ${(err as Error).message ?? String(err)}`);
    if (process.env.DEBUG) out.info(String((err as Error).stack));
    return 1;
  } finally {
    process.off('SIGINT', onSigint);
  }
}
