import { describe, expect, it } from 'vitest';
import { createLogger, teeLogger, type LogFields } from './log.js';

describe('teeLogger', () => {
  it('writes through and hands the tap each line from its level up, with the child fields merged', () => {
    const written: string[] = [];
    const tapped: Array<[string, string, LogFields]> = [];
    const log = teeLogger(
      createLogger({ app: 't' }, { level: 'debug', write: (l) => written.push(l) }),
      (level, event, fields) => tapped.push([level, event, fields]),
    );
    const job = log.child({ jobId: 'j-1' }).child({ rank: 1 });
    job.debug('step', { n: 1 });
    job.info('epoch.done', { epoch: 2 });
    log.warn('idle');
    expect(written).toHaveLength(3);
    expect(JSON.parse(written[1]!)).toMatchObject({ app: 't', jobId: 'j-1', rank: 1, event: 'epoch.done', epoch: 2 });
    expect(tapped).toEqual([
      ['info', 'epoch.done', { jobId: 'j-1', rank: 1, epoch: 2 }],
      ['warn', 'idle', {}],
    ]);
  });

  it('a tap that throws loses its line, not the caller', () => {
    const log = teeLogger(createLogger({}, { write: () => undefined }), () => {
      throw new Error('sink down');
    });
    expect(() => log.error('x')).not.toThrow();
  });
});
