import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** One request as the proxy saw it. `client` is the SDK's app id (AWS_SDK_UA_APP_ID = trainer id). */
export interface S3Request {
  seq: number;
  client: string;
  method: string;
  /** The object key (bucket stripped), '' for bucket-level requests. */
  key: string;
  /** Keys named in a DeleteObjects body (POST ?delete). */
  deletedKeys: string[];
  /** Whether it changes the bucket: PUT, DELETE, POST ?delete. */
  write: boolean;
  /** When it arrived (ms since the epoch). */
  at: number;
}

export interface HeldRequest {
  request: S3Request;
  /** Lets the request through to the server, as if its sender had only now finished sending it. */
  release(): void;
}

/**
 * A forwarding proxy in front of s3rver that trainers use as their S3 endpoint. It logs
 * who wrote what (so a test can prove that a stale trainer touched nothing of a newer
 * attempt), holds a chosen request until released (a write in flight across a process
 * pause), and fakes outages by resetting connections (what a dead S3 looks like).
 */
export interface S3Proxy {
  readonly endpoint: string;
  readonly requests: S3Request[];
  /** Holds the next request that matches; resolves once it arrived. */
  holdNext(match: (r: S3Request) => boolean): Promise<HeldRequest>;
  /** From the next matching request on, every request is reset for `ms` (Infinity: until `up()`). */
  outageOnNext(match: (r: S3Request) => boolean, ms: number): Promise<S3Request>;
  up(): void;
  stop(): Promise<void>;
}

const appId = (ua: string | string[] | undefined) => /(?:^|\s)app\/([\w.-]+)/.exec(String(ua ?? ''))?.[1] ?? '?';

export async function startS3Proxy(target: { host: string; port: number; bucket: string }): Promise<S3Proxy> {
  const requests: S3Request[] = [];
  const holds: { match: (r: S3Request) => boolean; resolve: (h: HeldRequest) => void }[] = [];
  const outages: { match: (r: S3Request) => boolean; ms: number; resolve: (r: S3Request) => void }[] = [];
  let downUntil = 0;
  const sockets = new Set<Socket>();

  const describe = async (req: IncomingMessage): Promise<{ r: S3Request; body?: Buffer }> => {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = decodeURIComponent(url.pathname).replace(/^\//, '');
    const key = path.startsWith(`${target.bucket}/`) ? path.slice(target.bucket.length + 1) : '';
    const isDelete = req.method === 'POST' && url.searchParams.has('delete');
    let body: Buffer | undefined;
    let deletedKeys: string[] = [];
    if (isDelete) {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      body = Buffer.concat(chunks);
      deletedKeys = [...body.toString().matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1]!);
    }
    const write = req.method === 'PUT' || req.method === 'DELETE' || isDelete;
    const r: S3Request = {
      seq: requests.length,
      client: appId(`${req.headers['user-agent'] ?? ''} ${req.headers['x-amz-user-agent'] ?? ''}`),
      method: req.method ?? '?',
      key,
      deletedKeys,
      write,
      at: Date.now(),
    };
    return { r, body };
  };

  const forward = (req: IncomingMessage, res: ServerResponse, body?: Buffer) => {
    const out = httpRequest(
      { host: target.host, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    out.on('error', () => res.destroy());
    if (body) out.end(body);
    else req.pipe(out);
  };

  const server = createServer((req, res) => {
    (async () => {
      if (Date.now() < downUntil) return req.socket.destroy();
      const { r, body } = await describe(req);
      requests.push(r);
      const outage = outages.findIndex((o) => o.match(r));
      if (outage >= 0) {
        const [o] = outages.splice(outage, 1);
        downUntil = Date.now() + o!.ms;
        o!.resolve(r);
        return req.socket.destroy();
      }
      const hold = holds.findIndex((h) => h.match(r));
      if (hold >= 0) {
        const [h] = holds.splice(hold, 1);
        h!.resolve({ request: r, release: () => forward(req, res, body) });
        return;
      }
      forward(req, res, body);
    })().catch(() => req.socket.destroy()); // a request that cannot be read: drop it, as a failing server would
  });
  server.on('connection', (s) => (sockets.add(s), s.once('close', () => sockets.delete(s))));
  // Keep-alive connections outlive a request: an outage must reset those too.
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve) => server.listen(0, target.host, resolve));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://${target.host}:${port}`,
    requests,
    holdNext: (match) => new Promise((resolve) => holds.push({ match, resolve })),
    outageOnNext: (match, ms) => new Promise((resolve) => outages.push({ match, ms, resolve })),
    up: () => void (downUntil = 0),
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
