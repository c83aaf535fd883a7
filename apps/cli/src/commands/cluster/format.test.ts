import { describe, expect, it } from 'vitest';
import { parseJobSpec, type JobRecord } from '@mnist/protocol';
import {
  ago,
  describeJob,
  duration,
  jobsTable,
  replicasLabel,
  resizeLine,
  textTable,
  trainersTable,
} from './format.js';

const NOW = Date.parse('2030-05-01T12:00:00Z');
const job: JobRecord = {
  id: 'j-abc',
  spec: parseJobSpec({ model: 'lenet5', epochs: 3, replicas: 2, trainLimit: 1000 }),
  state: 'succeeded',
  createdAt: '2030-05-01T11:59:00Z',
  updatedAt: '2030-05-01T11:59:30Z',
  startedAt: '2030-05-01T11:59:01Z',
  finishedAt: '2030-05-01T11:59:31Z',
  attempt: 1,
  trainers: ['t2', 't1'],
  group: 0,
  epoch: 3,
  backend: 'cpu',
};

describe('cluster output', () => {
  it('pads table columns', () => {
    expect(
      textTable(
        ['A', 'BB'],
        [
          ['xxx', 'y'],
          ['', 'zz'],
        ],
      ),
    ).toBe('A    BB\nxxx  y\n     zz');
  });

  it('renders jobs, trainers and one job', () => {
    expect(jobsTable([{ ...job, finalTestAcc: 0.9812, bestTestAcc: 0.9825, durationSec: 75 }], NOW)).toBe(
      'ID     NAME  MODEL   STATE      EPOCH  REPLICAS  SYNC  FINAL ACC  BEST ACC  TOOK        CREATED    MESSAGE\n' +
        'j-abc  -     lenet5  succeeded  3/3    2         step  98.12%     98.25%    1 min 15 s  1 min ago',
    );
    expect(
      trainersTable(
        [
          {
            id: 't1',
            host: 'h',
            pid: 1,
            backend: 'cpu',
            state: 'busy',
            jobId: 'j-abc',
            rank: 1,
            startedAt: '',
            lastSeen: '2030-05-01T11:59:59Z',
          },
        ],
        NOW,
      ),
    ).toBe('ID  HOST  BACKEND  STATE  JOB    RANK  LAST SEEN\nt1  h     cpu      busy   j-abc  1     1 s ago');
    const text = describeJob(job);
    expect(text).toMatch(/^j-abc {2}lenet5 {2}succeeded\n/);
    expect(text).toContain('epoch 3/3 on t2, t1 (cpu)');
    expect(text).toContain('replicas 2, sync step; mnist, train 1000');
    expect(text).toContain('(30.0 s)');
    expect(ago('2030-04-01T00:00:00Z', NOW)).toBe('2030-04-01');
    expect([duration(4.25), duration(185), duration(7620)]).toEqual(['4.3 s', '3 min 05 s', '2 h 07 min']);
  });

  it('shows a replica range and each resize', () => {
    expect(replicasLabel({ replicas: 3, minReplicas: 1 })).toBe('1:3');
    expect(replicasLabel({ replicas: 2, minReplicas: 2 })).toBe('2');
    const resized = describeJob({ ...job, state: 'running', group: 2, spec: { ...job.spec, minReplicas: 1 } });
    expect(resized).toContain('replicas 1:2,');
    expect(resized).toContain('; resized 2 time(s) in attempt 1');
    const event = { type: 'resize' as const, jobId: 'j-abc', attempt: 1, group: 2, from: 2, to: 1 };
    expect(resizeLine({ ...event, members: ['t1'], epoch: 3, step: 410, why: 'lost a rank: x', at: '' })).toBe(
      '2 -> 1 ranks at epoch 3, step 410 (lost a rank: x); attempt 1, group 2: t1',
    );
  });
});
