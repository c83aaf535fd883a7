import { request } from 'node:http';

/**
 * One request over node:http, which sends header values byte for byte (fetch's Headers
 * trims their whitespace, so it cannot send `Bearer <token>\t`).
 */
export function rawRequest(base: string, path: string, o: { method?: string; headers?: Record<string, string> } = {}) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const url = new URL(base);
    const req = request(
      { host: url.hostname, port: url.port, path, method: o.method ?? 'GET', headers: o.headers ?? {} },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}
