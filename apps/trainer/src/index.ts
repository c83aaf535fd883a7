export { startTrainer } from './trainer.js';
export type { Trainer } from './trainer.js';
export { parseTrainerEnv, TrainerEnv, defaultTrainerId } from './config.js';
export type { TrainerConfig } from './config.js';
export { NatsCollective } from './collective/nats-collective.js';
export type { NatsCollectiveOptions } from './collective/nats-collective.js';
export { CollectiveError, CollectiveAbortedError, CollectiveTimeoutError, CollectiveProtocolError } from './collective/errors.js';
export { finalEval } from './final-eval.js';
