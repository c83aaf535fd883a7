export { selectBackend, isBackendChoice, BACKEND_CHOICES, BackendUnavailableError } from './select.js';
export type { BackendChoice, SelectedBackend, BackendAttempt } from './select.js';
