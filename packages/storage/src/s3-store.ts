import type { S3Client } from '@aws-sdk/client-s3';
import { assertSafeKey, joinPrefix, StorageError, type ArtifactStore } from './artifact-store.js';

export interface S3Config {
  bucket: string;
  region: string;
  /** Custom endpoint for S3-compatible servers (MinIO, s3rver); AWS when undefined. */
  endpoint?: string;
  forcePathStyle: boolean;
  /** Attempts per request, with the SDK's exponential backoff between them. */
  maxAttempts?: number;
  /** Explicit credentials; the SDK's default chain (AWS_ACCESS_KEY_ID, ...) when undefined. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

type S3Module = typeof import('@aws-sdk/client-s3');

/**
 * The SDK's switch for its "versions after January 2027 will require node >= 22" warning,
 * which every process printed on Node 20 (our supported floor; see package.json engines).
 * Documented by the SDK; set here, before the first client is made, unless the user set it.
 */
const SDK_NODE_WARNING = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';

/** The SDK is large: load it only when an S3 store is actually made, so local runs never pay for it. */
let sdk: Promise<S3Module> | undefined;
const loadSdk = () => {
  const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env;
  if (env) env[SDK_NODE_WARNING] ??= 'true';
  return (sdk ??= import('@aws-sdk/client-s3'));
};

const isNotFound = (err: unknown) => {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404;
};

function describe(err: unknown): string {
  const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode ? ` (HTTP ${e.$metadata.httpStatusCode})` : '';
  return `${e.name ?? 'Error'}: ${e.message ?? String(err)}${status}`;
}

/** An S3 bucket (or a prefix inside it). Each call is retried by the SDK before it fails. */
export class S3Store implements ArtifactStore {
  readonly location: string;

  private constructor(
    private readonly s3: S3Module,
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly prefix: string,
  ) {
    this.location = `s3://${bucket}/${prefix}`;
  }

  static async connect(config: S3Config, prefix = ''): Promise<S3Store> {
    const s3 = await loadSdk();
    const client = new s3.S3Client({
      region: config.region,
      endpoint: config.endpoint,
      forcePathStyle: config.forcePathStyle,
      maxAttempts: config.maxAttempts ?? 5,
      credentials: config.credentials,
    });
    return new S3Store(s3, client, config.bucket, prefix);
  }

  /** Creates the bucket unless it exists (trainers and the API call this at start-up). */
  async ensureBucket(): Promise<void> {
    try {
      await this.client.send(new this.s3.HeadBucketCommand({ Bucket: this.bucket }));
    } catch (err) {
      if (!isNotFound(err)) throw new StorageError(`s3://${this.bucket}: ${describe(err)}`, { cause: err });
      await this.wrap(`create bucket ${this.bucket}`, async () => {
        try {
          await this.client.send(new this.s3.CreateBucketCommand({ Bucket: this.bucket }));
        } catch (createErr) {
          // Several processes starting at once (N trainers) race to create it: the losers
          // get BucketAlreadyExists/OwnedByYou; the bucket is there if we can see it now.
          const lost = ['BucketAlreadyExists', 'BucketAlreadyOwnedByYou'].includes((createErr as Error).name);
          if (!lost) throw createErr;
          await this.client
            .send(new this.s3.HeadBucketCommand({ Bucket: this.bucket }))
            .catch(() => Promise.reject(createErr));
        }
      });
    }
  }

  private key(key: string): string {
    assertSafeKey(key);
    return this.prefix + key;
  }

  private async wrap<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw new StorageError(`${what}: ${describe(err)}`, { cause: err });
    }
  }

  async put(key: string, body: Uint8Array | string, contentType = 'application/octet-stream'): Promise<void> {
    const Key = this.key(key);
    await this.wrap(`put ${this.location}${key}`, () =>
      this.client.send(
        new this.s3.PutObjectCommand({ Bucket: this.bucket, Key, Body: body, ContentType: contentType }),
      ),
    );
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const Key = this.key(key);
    try {
      const res = await this.client.send(new this.s3.GetObjectCommand({ Bucket: this.bucket, Key }));
      return res.Body ? await res.Body.transformToByteArray() : new Uint8Array();
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw new StorageError(`get ${this.location}${key}: ${describe(err)}`, { cause: err });
    }
  }

  async list(prefix = ''): Promise<string[]> {
    if (prefix !== '') assertSafeKey(prefix);
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const res = await this.wrap(`list ${this.location}${prefix}`, () =>
        this.client.send(
          new this.s3.ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: this.prefix + prefix,
            ContinuationToken: token,
          }),
        ),
      );
      for (const o of res.Contents ?? []) if (o.Key) keys.push(o.Key.slice(this.prefix.length));
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
    return keys.sort();
  }

  async deletePrefix(prefix: string): Promise<void> {
    const keys = await this.list(prefix);
    // DeleteObjects takes at most 1000 keys per request.
    for (let i = 0; i < keys.length; i += 1000) {
      const Objects = keys.slice(i, i + 1000).map((k) => ({ Key: this.prefix + k }));
      await this.wrap(`delete ${this.location}${prefix}`, () =>
        this.client.send(new this.s3.DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects, Quiet: true } })),
      );
    }
  }

  scope(prefix: string): ArtifactStore {
    assertSafeKey(prefix);
    return new S3Store(this.s3, this.client, this.bucket, this.prefix + joinPrefix(prefix, ''));
  }

  /** Closes the HTTP agent so a process can exit promptly. */
  destroy(): void {
    this.client.destroy();
  }
}
