import { readEnv } from './config.js';
import { didYouMean } from './did-you-mean.js';
import { CliError, UsageError } from './errors.js';
import { createOutput, type Streams } from './output.js';
import { CLUSTER_COMMANDS, CLUSTER_HELP } from './commands/cluster/index.js';

export const HELP = `Usage: mnist <command> [flags]

Train and compare MNIST classifiers (LeNet-5, CustomMLP, Regularized LeNet-5)
with TensorFlow.js, on this machine or on a cluster of trainers.

Local (no servers):
  models        list the models, their layers and parameter counts
  train         train one model          (mnist train --model lenet5)
  reproduce     train all three and compare them, as the seed study does

${CLUSTER_HELP}

Other:
  completion    shell completion: eval "$(mnist completion bash)" (or zsh)

Run 'mnist help <command>' (or 'mnist <command> --help') for the flags of a command;
'mnist --version' for the version.

Environment: MNIST_DIR (dataset folder), MNIST_BACKEND (auto|tensorflow|onednn|wasm|cpu),
RUNS_DIR (default ./runs), API_URL and API_TOKEN (cluster verbs).`;

/** Every command name (for 'did you mean' and shell completion). */
export const COMMANDS: readonly string[] = [
  'models',
  'train',
  'reproduce',
  ...Object.keys(CLUSTER_COMMANDS),
  'completion',
  'help',
];

const LOCAL_TRAINING = new Set(['train', 'reproduce']);

/** Runs one CLI invocation and returns its exit code; never throws. */
export async function main(argv: string[], streams: Streams = process): Promise<number> {
  // `mnist help submit` is `mnist submit --help`.
  if (argv[0] === 'help' && argv[1] !== undefined) argv = [argv[1], '--help'];
  const [command, ...args] = argv;
  const json = args.includes('--json');
  const out = createOutput(json, streams);
  // First Ctrl-C: stop (local training: after the current step, keeping what is saved); second: leave at once.
  const abort = new AbortController();
  const onSigint = () => {
    if (abort.signal.aborted) process.exit(130);
    out.info(
      LOCAL_TRAINING.has(command ?? '')
        ? '\ninterrupt: stopping after the current step (Ctrl-C again to quit now)'
        : '\ninterrupt: stopping this command; jobs on the cluster go on (mnist cancel <id> stops one)',
    );
    abort.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
      out.result(HELP);
      return command === undefined ? 2 : 0;
    }
    if (command === '--version' || command === '-V' || command === 'version') {
      out.result(`mnist ${await cliVersion()} (node ${process.version})`);
      return 0;
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
      case 'completion':
        return await (await import('./commands/completion.js')).completionCommand(args, out, flagsOfCommands);
      default: {
        const cluster = Object.hasOwn(CLUSTER_COMMANDS, command) ? CLUSTER_COMMANDS[command] : undefined;
        if (cluster) return await cluster(args, ctx);
        throw new UsageError(`unknown command '${command}'${didYouMean(command, COMMANDS)}; run 'mnist --help'`);
      }
    }
  } catch (err) {
    // By name: importing @mnist/training here would load tfjs for every command.
    if ((err as Error).name === 'TrainingCancelledError') {
      out.info(`stopped during epoch ${(err as { epoch: number }).epoch}`);
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

/** The version in apps/cli/package.json. */
async function cliVersion(): Promise<string> {
  const { readFileSync } = await import('node:fs');
  return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

/** Each command's flags, read from its own --help (so completion never drifts from the parsers' help). */
async function flagsOfCommands(): Promise<Record<string, string[]>> {
  const table: Record<string, string[]> = {};
  for (const c of COMMANDS.filter((c) => c !== 'completion' && c !== 'help')) {
    let text = '';
    const sink = { write: (s: string) => ((text += s), true) } as unknown as NodeJS.WritableStream;
    await main([c, '--help'], { stdout: sink, stderr: sink });
    table[c] = [...new Set(text.match(/--[a-z][a-z-]*/g) ?? [])].sort();
  }
  return table;
}
