import { AwsClient } from 'aws4fetch';
import { assertSafeKey, joinPrefix, StorageError, type ArtifactStore } from './artifact-store.js';
import type { S3Config } from './s3-store.js';

/** S3Config with the credentials required: a Worker has no default credential chain. */
export type S3FetchConfig = Omit<S3Config, 'credentials'> & {
  credentials: { accessKeyId: string; secretAccessKey: string };
};

/**
 * An S3 bucket (or a prefix inside it) over `fetch` with SigV4 signing (aws4fetch): no
 * Node built-in and no XML DOM, so it runs on Workers, where the AWS SDK's XML parser fails
 * for want of a DOMParser. Same contract as S3Store; resources (the bucket) are not
 * created here: trainers own them.
 */
export class S3FetchStore implements ArtifactStore {
  readonly location: string;

  private constructor(
    private readonly aws: AwsClient,
    private readonly bucketUrl: string,
    private readonly bucket: string,
    private readonly prefix: string,
  ) {
    this.location = `s3://${bucket}/${prefix}`;
  }

  static create(config: S3FetchConfig, prefix = ''): S3FetchStore {
    const aws = new AwsClient({
      ...config.credentials,
      service: 's3',
      region: config.region,
      retries: Math.max(0, (config.maxAttempts ?? 5) - 1),
    });
    return new S3FetchStore(aws, bucketUrl(config), config.bucket, prefix);
  }

  private url(key: string): string {
    assertSafeKey(key);
    return `${this.bucketUrl}/${(this.prefix + key).split('/').map(encodeURIComponent).join('/')}`;
  }

  private async send(what: string, url: string, init: RequestInit = {}, okStatuses: number[] = []): Promise<Response> {
    let res: Response;
    try {
      res = await this.aws.fetch(url, init);
    } catch (err) {
      throw new StorageError(`${what}: ${(err as Error).message}`, { cause: err });
    }
    if (res.ok || okStatuses.includes(res.status)) return res;
    const text = await res.text().catch(() => '');
    const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? res.statusText;
    throw new StorageError(`${what}: ${code} (HTTP ${res.status})`);
  }

  async put(key: string, body: Uint8Array | string, contentType = 'application/octet-stream'): Promise<void> {
    const res = await this.send(`put ${this.location}${key}`, this.url(key), {
      method: 'PUT',
      body,
      headers: { 'Content-Type': contentType },
    });
    await res.body?.cancel();
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const res = await this.send(`get ${this.location}${key}`, this.url(key), {}, [404]);
    if (res.status === 404) {
      await res.body?.cancel();
      return undefined;
    }
    return new Uint8Array(await res.arrayBuffer());
  }

  async list(prefix = ''): Promise<string[]> {
    if (prefix !== '') assertSafeKey(prefix);
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const q = new URLSearchParams({ 'list-type': '2', prefix: this.prefix + prefix });
      if (token) q.set('continuation-token', token);
      const res = await this.send(`list ${this.location}${prefix}`, `${this.bucketUrl}/?${q}`);
      const page = parseListObjectsV2(await res.text());
      for (const k of page.keys) keys.push(k.slice(this.prefix.length));
      token = page.nextToken;
    } while (token);
    return keys.sort();
  }

  /** One DELETE per key: DeleteObjects needs a Content-MD5, which Web Crypto does not offer. */
  async deletePrefix(prefix: string): Promise<void> {
    for (const key of await this.list(prefix)) {
      const res = await this.send(`delete ${this.location}${key}`, this.url(key), { method: 'DELETE' }, [404]);
      await res.body?.cancel();
    }
  }

  scope(prefix: string): ArtifactStore {
    assertSafeKey(prefix);
    return new S3FetchStore(this.aws, this.bucketUrl, this.bucket, this.prefix + joinPrefix(prefix, ''));
  }
}

/** Path style (`endpoint/bucket`, MinIO, s3rver, R2) or virtual-hosted (`bucket.endpoint`, AWS). */
function bucketUrl(c: S3FetchConfig): string {
  const endpoint = new URL(c.endpoint ?? `https://s3.${c.region}.amazonaws.com`);
  const base = endpoint.origin + endpoint.pathname.replace(/\/+$/, '');
  if (c.forcePathStyle) return `${base}/${encodeURIComponent(c.bucket)}`;
  return `${endpoint.protocol}//${c.bucket}.${endpoint.host}${endpoint.pathname.replace(/\/+$/, '')}`;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** XML text content: the five named entities and numeric character references. */
export function decodeXmlText(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (whole, e: string) => {
    if (e.startsWith('#x')) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(parseInt(e.slice(1), 10));
    return ENTITIES[e] ?? whole;
  });
}

/**
 * The parts of a ListObjectsV2 answer a store needs: each `<Contents><Key>`, and the token
 * of the next page when `<IsTruncated>` is true. S3's answer is flat, generated XML (no
 * CDATA, no nesting of these elements), so element matching is exact for it.
 */
export function parseListObjectsV2(xml: string): { keys: string[]; nextToken?: string } {
  if (!/<ListBucketResult[\s>]/.test(xml)) throw new StorageError(`not a ListObjectsV2 answer: ${xml.slice(0, 120)}`);
  const keys = [...xml.matchAll(/<Contents>[\s\S]*?<\/Contents>/g)].map((m) => {
    const key = /<Key>([\s\S]*?)<\/Key>/.exec(m[0])?.[1];
    if (key === undefined) throw new StorageError('ListObjectsV2: an entry without a Key');
    return decodeXmlText(key);
  });
  const truncated = /<IsTruncated>\s*true\s*<\/IsTruncated>/.test(xml);
  const token = /<NextContinuationToken>([\s\S]*?)<\/NextContinuationToken>/.exec(xml)?.[1];
  if (truncated && token === undefined)
    throw new StorageError('ListObjectsV2: truncated without a NextContinuationToken');
  return truncated ? { keys, nextToken: decodeXmlText(token!) } : { keys };
}
