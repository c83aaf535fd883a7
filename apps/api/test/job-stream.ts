import { expect } from 'vitest';
import type { SseMessage } from '@mnist/client';
import type { EpochRecord, JobEvent } from '@mnist/protocol';

export const eventOf = (m: SseMessage) => JSON.parse(m.data) as JobEvent;

/**
 * Checks a succeeded job's whole event stream (either API shell): statuses from queued
 * through running to succeeded, one epoch event per epoch in order; returns the epochs' records.
 */
export function expectSucceededStream(messages: SseMessage[], epochs: number): EpochRecord[] {
  const statuses = messages.filter((m) => m.event === 'status').map((m) => (eventOf(m) as { state: string }).state);
  expect(statuses[0]).toBe('queued');
  expect(statuses).toContain('running');
  expect(statuses.at(-1)).toBe('succeeded');
  const records = messages
    .filter((m) => m.event === 'epoch')
    .map((m) => (eventOf(m) as { record: EpochRecord }).record);
  expect(records.map((r) => r.epoch)).toEqual(Array.from({ length: epochs }, (_, i) => i + 1));
  return records;
}
