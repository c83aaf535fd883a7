import { z } from 'zod';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

/**
 * One trainer log line of a job, as kept (without `seq`) and served (`seq` is its place in
 * the log stream: `?since=` and Last-Event-ID take it). `text` is the line for people:
 * the event's fields as `key=value`, on one line.
 */
export const LogRecordSchema = z.object({
  ts: z.string(),
  attempt: z.number().int().min(0),
  rank: z.number().int().min(0),
  trainerId: z.string(),
  level: z.enum(LOG_LEVELS),
  event: z.string(),
  text: z.string(),
});
export const LogLineSchema = LogRecordSchema.extend({ seq: z.number().int().min(1) });
export type LogRecord = z.infer<typeof LogRecordSchema>;
export type LogLine = z.infer<typeof LogLineSchema>;

/** Lines one job keeps (the oldest go first), and the longest text kept of one line. */
export const LOG_LIMITS = { linesPerJob: 10_000, textChars: 2_000 } as const;

/** Fields every job-scoped line carries, said once by the line's own columns instead. */
const SAID_ELSEWHERE = new Set(['jobId', 'attempt', 'rank', 'trainer', 'time', 'level', 'event', 'app']);

const show = (v: unknown): string => {
  if (typeof v === 'string') return /[\s="]/.test(v) || v === '' ? JSON.stringify(v) : v;
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)));
  if (
    v !== null &&
    typeof v === 'object' &&
    'message' in v &&
    typeof (v as { message: unknown }).message === 'string'
  ) {
    return JSON.stringify((v as { message: string }).message);
  }
  return JSON.stringify(v) ?? String(v);
};

/** `epoch.done epoch=3 testAcc=0.981 seconds=12.3`: a log record's fields on one readable line. */
export function renderLogText(event: string, fields: Record<string, unknown>): string {
  const parts = Object.entries(fields)
    .filter(([k, v]) => !SAID_ELSEWHERE.has(k) && v !== undefined)
    .map(([k, v]) => `${k}=${show(v)}`);
  const text = [event, ...parts].join(' ').replace(/[\r\n]+/g, ' ');
  return text.length > LOG_LIMITS.textChars ? `${text.slice(0, LOG_LIMITS.textChars - 1)}…` : text;
}
