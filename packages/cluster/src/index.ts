export * from './edge.js';
export { connectNats } from './connect.js';
export type { ConnectOptions } from './connect.js';
export { natsBus } from './bus.js';
