import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startNatsServer, type NatsServerHandle } from '@mnist/testing';
import { openCluster, type ClusterClient, type OpenClusterOptions } from '../src/cluster-client.js';

/** For tests: a real nats-server -js on a free port and a cluster client on it; dispose stops both. */
export interface TestBroker extends AsyncDisposable {
  server: NatsServerHandle;
  nc: NatsConnection;
  cluster: ClusterClient;
}

export async function startTestBroker(o: OpenClusterOptions = {}): Promise<TestBroker> {
  const server = await startNatsServer();
  const nc = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  const cluster = await openCluster(nc, o);
  return {
    server,
    nc,
    cluster,
    [Symbol.asyncDispose]: async () => {
      await nc.close();
      await server.stop();
    },
  };
}
