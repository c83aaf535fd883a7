// Launching real trainer processes: the one-machine cluster and the test harnesses use this.
export { spawnTrainer, FAST_TEST_ENV, TRAINER_MAIN, REPO_ROOT } from './spawn-trainer.js';
export type { LogLine, TrainerProcess, SpawnTrainerOptions } from './spawn-trainer.js';
export { waitForHealthy } from './wait-healthy.js';
