import { ConfigError } from '@mnist/core';

export interface NatsServersAuth {
  /** The servers with any credentials removed (they would otherwise show in logs). */
  servers: string[];
  user?: string;
  pass?: string;
  token?: string;
}

/**
 * NATS_URL may carry credentials, `nats://user:pass@host:4222` or `nats://token@host:4222`
 * (percent-encoded), as the nats CLI and nats-server accept them. The client library does
 * not read them from a URL, so they are split off here and passed as connect options.
 * Several servers must agree on them: one connection uses one identity.
 */
export function splitNatsAuth(servers: string[]): NatsServersAuth {
  let auth: Omit<NatsServersAuth, 'servers'> | undefined;
  let authFrom = '';
  const plain = servers.map((server) => {
    const m = /^([a-z]+:\/\/)([^@/]*)@(.+)$/.exec(server);
    if (!m) return server;
    const [, scheme, userinfo, hostport] = m as unknown as [string, string, string, string];
    const sep = userinfo.indexOf(':');
    const decode = (s: string) => {
      try {
        return decodeURIComponent(s);
      } catch {
        throw new ConfigError([{ variable: 'NATS_URL', message: 'credentials are not valid percent-encoding' }]);
      }
    };
    const found =
      sep < 0
        ? { token: decode(userinfo) }
        : { user: decode(userinfo.slice(0, sep)), pass: decode(userinfo.slice(sep + 1)) };
    const key = JSON.stringify(found);
    if (auth !== undefined && key !== authFrom) {
      throw new ConfigError([
        { variable: 'NATS_URL', message: 'servers carry different credentials; give all of them the same' },
      ]);
    }
    auth = found;
    authFrom = key;
    return `${scheme}${hostport}`;
  });
  return { servers: plain, ...auth };
}
