import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { cancelledSays } from './run-local.js';

const cancelled = () =>
  Promise.reject(
    Object.assign(new Error('training cancelled at epoch 2, step 5'), { name: 'TrainingCancelledError', epoch: 2 }),
  );

describe('Ctrl-C during a local run', () => {
  it('names the kept checkpoint and the exact resume command, or says there is none', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'run-'));
    await expect(cancelledSays(dir, undefined, cancelled)).rejects.toThrow(
      'stopped during epoch 2; no epoch had finished, so there is no checkpoint to resume from',
    );
    mkdirSync(join(dir, 'checkpoints', 'epoch-001'), { recursive: true });
    writeFileSync(join(dir, 'checkpoints', 'epoch-001', 'model.json'), '{}');
    await expect(cancelledSays(dir, undefined, cancelled)).rejects.toThrow(
      'stopped during epoch 2; the checkpoint of epoch 1 is kept: ' +
        `resume with mnist train --resume ${relative(process.cwd(), dir)}`,
    );
    await expect(cancelledSays(dir, join(dir, '..'), cancelled)).rejects.toThrow(
      /resume with mnist reproduce --resume /,
    );
    await expect(cancelledSays(dir, undefined, async () => 7)).resolves.toBe(7);
  });
});
