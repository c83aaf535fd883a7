export { ApiError, createApiClient } from './api-client.js';
export type { ApiClient, ApiClientOptions, RetryPolicy } from './api-client.js';
export { newIdempotencyKey } from './idempotency-key.js';
export { readSse } from './sse.js';
export type { SseMessage } from './sse.js';
