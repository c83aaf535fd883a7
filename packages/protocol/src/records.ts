import { z } from 'zod';

/** One line of `metrics.jsonl`: the state of a run at the end of an epoch. Accuracies are fractions. */
export const EpochRecordSchema = z.object({
  epoch: z.number().int().min(1),
  trainLoss: z.number(),
  trainAcc: z.number().min(0).max(1),
  testLoss: z.number(),
  testAcc: z.number().min(0).max(1),
  seconds: z.number().min(0),
  imagesPerSec: z.number().min(0),
  backend: z.string().min(1),
});
export type EpochRecord = z.infer<typeof EpochRecordSchema>;

/** Parses a metrics.jsonl text; a bad line is an error naming its line number. */
export function parseMetricsJsonl(text: string, source = 'metrics.jsonl'): EpochRecord[] {
  const records: EpochRecord[] = [];
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      throw new Error(`${source}:${i + 1}: not JSON (${(err as Error).message})`);
    }
    const parsed = EpochRecordSchema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new Error(`${source}:${i + 1}: ${issue?.path.join('.') || 'record'}: ${issue?.message}`);
    }
    records.push(parsed.data);
  });
  return records;
}

export function toMetricsJsonl(records: readonly EpochRecord[]): string {
  return records.map((r) => JSON.stringify(r) + '\n').join('');
}
