export { MODEL_NAMES, DATASET_NAMES, BACKEND_CHOICES, isBackendChoice } from './models.js';
export type { ModelName, DatasetName, BackendChoice } from './models.js';
export { EpochRecordSchema, parseMetricsJsonl, toMetricsJsonl } from './records.js';
export type { EpochRecord } from './records.js';
export {
  JobSpecSchema,
  OptimizerSchema,
  InvalidJobSpecError,
  parseJobSpec,
  specIssues,
  TRAIN_SET_SIZE,
  TEST_SET_SIZE,
  SyncSchema,
  SYNC_OUTER,
  COLLECTIVE_CHOICES,
  TRANSPORT_CHOICES,
  LR_SCALING,
  ScalingSchema,
  globalBatchSize,
  isElastic,
  JobNameSchema,
  JobTagsSchema,
  JobNoteSchema,
  TAG_KEY,
  MAX_TAGS,
  MAX_REPLICAS,
} from './job-spec.js';
export type {
  JobSpec,
  JobSpecInput,
  OptimizerSpec,
  SpecIssue,
  SyncSpec,
  LocalSyncSpec,
  CollectiveChoice,
  TransportChoice,
  ScalingSpec,
} from './job-spec.js';
export {
  artifactKeys,
  attemptPrefix,
  checkpointEpoch,
  jobArtifactCandidates,
  jobMetricsKeys,
  jobPrefix,
} from './layout.js';
export {
  NATS_NAMES,
  JOB_STATES,
  FINAL_STATES,
  isFinalState,
  neededTrainers,
  parkedReason,
  JobIdSchema,
  JobRecordSchema,
  TaskMessageSchema,
  TRAINER_STATES,
  TrainerInfoSchema,
  JobEventSchema,
  TrainerIdSchema,
  CLUSTER_ARTIFACTS,
  FinalEvalSchema,
} from './cluster.js';
export type { JobState, JobRecord, TaskMessage, TrainerInfo, TrainerState, JobEvent, FinalEval } from './cluster.js';
export {
  JOB_TRANSITIONS,
  availableTrainers,
  cancel,
  claim,
  fail,
  newJobRecord,
  ownedBy,
  ownedByGroup,
  park,
  recordEpoch,
  requeue,
  resize,
  succeed,
  unchangedSince,
  unpark,
  unplaceableReason,
} from './job-transitions.js';
export type { ClaimArgs, Guard, JobTransition, TransitionName } from './job-transitions.js';
export {
  SweepIdSchema,
  SweepRequestSchema,
  InvalidSweepError,
  MAX_SWEEP_JOBS,
  MAX_SWEEP_AXIS,
  SWEEP_STATES,
  expandSweep,
  sweepSize,
  sweepState,
  summarizeSweep,
} from './sweep.js';
export type { SweepRequest, SweepRequestInput, SweepState, SweepSummary } from './sweep.js';
export type { ErrorBody, ErrorIssue } from './http.js';
export { LOG_LEVELS, LOG_LIMITS, LogLineSchema, LogRecordSchema, renderLogText } from './logs.js';
export type { LogLine, LogRecord } from './logs.js';
export { mayGrow, ranksToGiveBack, trainersWanted } from './elastic.js';
