export { freePort, waitForPort } from './ports.js';
export { startNatsServer, NatsServerMissingError } from './nats-server.js';
export type { NatsServerHandle } from './nats-server.js';
export { startS3Server, S3RVER_CREDENTIALS } from './s3-server.js';
export type { S3ServerHandle } from './s3-server.js';
export { createVirtualHosts, virtualHostsUnavailable } from './virtual-hosts.js';
export type { VirtualHosts } from './virtual-hosts.js';
export { startNatsCluster } from './nats-cluster.js';
export type { NatsClusterHandle, NatsClusterNode, NatsClusterOptions } from './nats-cluster.js';
