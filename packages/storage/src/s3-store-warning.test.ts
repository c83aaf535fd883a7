import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const STORE = fileURLToPath(new URL('./s3-store.ts', import.meta.url));

describe('S3Store on Node 20', () => {
  it("makes a client without the SDK's node >= 22 warning on stderr", () => {
    const script = `const { S3Store } = await import(${JSON.stringify(STORE)});
await S3Store.connect({
  region: 'us-east-1',
  bucket: 'b',
  endpoint: 'http://127.0.0.1:9',
  forcePathStyle: true,
  credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
});
console.log('made');`;
    const env = { ...process.env };
    delete env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      env,
    });
    expect(r.stdout.trim()).toBe('made');
    expect(r.stderr).not.toMatch(/NodeVersionSupportWarning|node >=/);
  });
});
