import { describe, expect, it } from 'vitest';
import { writeReport, type ReportSink } from './index.js';
import { seedCustomMLP, seedLeNet5 } from './seed-fixture.js';

describe('writeReport', () => {
  it('writes report.md, curves.svg and curves.png that the report links', async () => {
    const files = new Map<string, Uint8Array | string>();
    const sink: ReportSink = { put: async (key, body) => void files.set(key, body) };
    await writeReport(sink, { runs: [seedLeNet5(), seedCustomMLP()], title: 'Study' });
    expect([...files.keys()].sort()).toEqual(['curves.png', 'curves.svg', 'overlay.png', 'overlay.svg', 'report.md']);
    expect(files.get('report.md')).toContain('](curves.png)');
    expect(files.get('report.md')).toContain('](overlay.png)');
    expect(
      Buffer.from(files.get('overlay.png') as Uint8Array)
        .subarray(1, 4)
        .toString(),
    ).toBe('PNG');
    expect(files.get('report.md')).toContain('| LeNet5 | 1 | 0.2902 | 90.47% | 0.0653 | 97.93% |');
    expect(
      Buffer.from(files.get('curves.png') as Uint8Array)
        .subarray(1, 4)
        .toString(),
    ).toBe('PNG');
    expect(files.get('curves.svg')).toContain('<svg xmlns');
  });
});
