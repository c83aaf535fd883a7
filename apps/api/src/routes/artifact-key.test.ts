import { describe, expect, it } from 'vitest';
import { HttpError } from '../http-error.js';
import { contentTypeOf, safeArtifactKey } from './artifact-key.js';

describe('safeArtifactKey', () => {
  it('accepts the keys a job writes', () => {
    for (const k of [
      'metrics.jsonl',
      'spec.json',
      'report.md',
      'curves.png',
      'checkpoints/epoch-001/model.json',
      'checkpoints/epoch-012/weights.bin',
      'final-eval.json',
    ]) {
      expect(safeArtifactKey(k)).toBe(k);
    }
  });

  it('refuses anything that could leave the job prefix or hide a trick', () => {
    const bad = [
      '',
      '..',
      '.',
      '../spec.json',
      'checkpoints/../../j-other/metrics.jsonl',
      'a/./b',
      '/etc/passwd',
      'a//b',
      'a/',
      '..\\..\\x',
      '%2e%2e/x',
      '%252e%252e',
      'a\0b',
      '.hidden',
      'checkpoints/.',
      'a b',
      'x\ny',
      'jobs/j-1/../j-2',
      'a/'.repeat(20) + 'b',
      'x'.repeat(200),
    ];
    for (const k of bad) {
      expect(() => safeArtifactKey(k), JSON.stringify(k)).toThrow(HttpError);
    }
  });

  it('names content types by extension', () => {
    expect(contentTypeOf('metrics.jsonl')).toBe('application/x-ndjson');
    expect(contentTypeOf('curves.SVG')).toBe('image/svg+xml');
    expect(contentTypeOf('checkpoints/epoch-001/weights.bin')).toBe('application/octet-stream');
  });
});
