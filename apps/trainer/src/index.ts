export { startTrainer } from './trainer.js';
export type { Trainer } from './trainer.js';
export { parseTrainerEnv, TrainerEnv, defaultTrainerId } from './config.js';
export type { TrainerConfig } from './config.js';
export { DataPlane } from './collective/data-plane.js';
export type { DataPlaneOptions, DataPlaneChoice } from './collective/data-plane.js';
export { GroupCollective } from './collective/group-collective.js';
export { NatsTransport } from './collective/nats-transport.js';
export { DataListener } from './collective/tcp/data-listener.js';
export type { DataEndpoint } from './collective/tcp/data-listener.js';
export { formMesh } from './collective/tcp/mesh.js';
export type { CollectiveTransport } from './collective/transport.js';
export {
  CollectiveError,
  CollectiveAbortedError,
  CollectiveTimeoutError,
  CollectiveProtocolError,
  CollectivePeerLostError,
  MeshError,
} from './collective/errors.js';
export { finalEval } from './final-eval.js';
