export {
  ONEDNN_BACKEND_NAME,
  onednnAvailability,
  onednnDefaultedEnv,
  registerOnednnBackend,
  OnednnBackend,
} from './backend.js';
export type { OnednnAvailability } from './backend.js';
export { BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD } from './batch-norm-train.js';
export { MOMENTUM_UPDATE } from './momentum-update.js';
