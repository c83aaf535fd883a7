export { ONEDNN_BACKEND_NAME, onednnAvailability, registerOnednnBackend, OnednnBackend } from './backend.js';
export type { OnednnAvailability } from './backend.js';
