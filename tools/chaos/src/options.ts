import { parseArgs } from 'node:util';
import { z } from 'zod';

export const HELP = `Usage: npm run chaos -- [--minutes M] [--seed S] [--settle-seconds N] [--logs DIR]

A seeded chaos run on this machine: a 3-node NATS cluster (R3), s3rver behind a fault
proxy, two APIs and 3 trainers (each on a network namespace of its own when run as root);
a steady stream of small jobs and sweeps (1-3 replicas, some elastic, step sync or local SGD, every
transport) through the APIs while a seeded schedule kills and pauses trainers, cuts their
links, kills, restarts and freezes NATS nodes, cuts S3 and kills the APIs, one fault at a
time, some at exact moments (a checkpoint write, a publish, between a submit's record and
its task). Then every fault is undone, the jobs get --settle-seconds to finish, and a
checker reads back records, events and S3 and checks the invariants (tools/chaos/README.md).
Prints one JSON summary; exits 1 on any violation.

  --minutes M          length of the faulty phase (default 10)
  --seed S             schedule and workload seed (default 1)
  --settle-seconds N   time for the last jobs after the faults (default 180)
  --logs DIR           keep every trainer's and API's log lines there (trainers.log, api-<i>.log)`;

const Options = z.object({
  minutes: z.coerce
    .number()
    .positive('must be a positive number of minutes')
    .max(24 * 60),
  seed: z.coerce.number().int('must be a whole number').min(0),
  settleSeconds: z.coerce.number().int().min(0).max(3_600),
  logs: z.string().min(1).optional(),
  help: z.boolean(),
});
export type ChaosOptions = z.output<typeof Options>;

/** Parses argv; unknown flags and bad values are one-line errors. */
export function parseOptions(argv: string[]): ChaosOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      minutes: { type: 'string', default: '10' },
      seed: { type: 'string', default: '1' },
      'settle-seconds': { type: 'string', default: '180' },
      logs: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const parsed = Options.safeParse({
    minutes: values.minutes,
    seed: values.seed,
    settleSeconds: values['settle-seconds'],
    logs: values.logs,
    help: values.help,
  });
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    throw new Error(`--${String(i.path[0]).replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}: ${i.message}`);
  }
  return parsed.data;
}
