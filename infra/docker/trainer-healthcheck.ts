// The trainer image's HEALTHCHECK: healthy while this container's trainer is in the cluster's
// registry with a heartbeat younger than TRAINER_TTL_MS, i.e. it is connected to NATS and
// its event loop runs. The trainer is PID 1 in its container (exec-form CMD), so its id is
// `<hostname>-1` unless TRAINER_ID names it. Exit 0 healthy, 1 not (the reason on stderr).
import { Kvm } from '@nats-io/kv';
import { jetstream } from '@nats-io/jetstream';
import { connectNats, TrainerRegistry } from '@mnist/cluster';
import { NATS_NAMES } from '@mnist/protocol';
import { defaultTrainerId, parseTrainerEnv } from '../../apps/trainer/src/config.js';

const config = parseTrainerEnv({
  ...process.env,
  TRAINER_ID: process.env.TRAINER_ID || defaultTrainerId(undefined, 1),
});
const fail = (why: string) => {
  process.stderr.write(`trainer ${config.trainerId}: ${why}\n`);
  process.exitCode = 1;
};
try {
  const nc = await connectNats({ servers: config.cluster.natsServers, name: 'mnist-trainer-healthcheck' });
  try {
    const kv = await new Kvm(jetstream(nc)).open(NATS_NAMES.trainersBucket);
    const info = await new TrainerRegistry(kv, config.trainerTtlMs).get(config.trainerId);
    if (!info) fail(`no heartbeat within ${config.trainerTtlMs} ms`);
  } finally {
    await nc.close();
  }
} catch (err) {
  fail((err as Error).message);
}
