export { MemoryArtifacts, MemoryCluster } from './memory-deps.js';
export { promtoolCheck } from './promtool.js';
