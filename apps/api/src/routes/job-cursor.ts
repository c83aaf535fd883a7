import type { JobRecord } from '@mnist/protocol';

/** Where a page of GET /v1/jobs ended: the last job's creation time and id. */
export interface JobCursor {
  createdAt: string;
  id: string;
}

/** The list order: newest first, ties by id (ids are unique, so the order is total and pages never overlap). */
export const newestFirst = (a: JobCursor, b: JobCursor) =>
  b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id);

const b64url = (s: string) => btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

/** Opaque to clients: they send back the `nextCursor` they were given. */
export const encodeCursor = (j: Pick<JobRecord, 'createdAt' | 'id'>) => b64url(`${j.createdAt}|${j.id}`);

/** The cursor, or null when it is not one this API made. */
export function decodeCursor(text: string): JobCursor | null {
  let raw: string;
  try {
    raw = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  } catch {
    return null;
  }
  const m = /^(\d{4}-\d{2}-\d{2}T[\d:.]+Z)\|([A-Za-z0-9_-]{1,64})$/.exec(raw);
  return m ? { createdAt: m[1]!, id: m[2]! } : null;
}
