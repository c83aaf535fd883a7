import { describe, expect, it } from 'vitest';
import { TrainerActivity } from './state.js';

describe('TrainerActivity', () => {
  it('shows reservations as busy and draining over everything', () => {
    let changes = 0;
    const s = new TrainerActivity(() => changes++);
    expect(s.info()).toEqual({ state: 'idle' });
    s.set({ kind: 'reserved', token: 't', coordinator: 'c', jobId: 'j', timer: setTimeout(() => undefined, 0) });
    expect(s.info()).toEqual({ state: 'busy', jobId: 'j' });
    expect(s.isIdle()).toBe(false);
    s.set({ kind: 'busy', jobId: 'j', rank: 1, stop: () => undefined });
    s.startDraining();
    expect(s.info()).toEqual({ state: 'draining', jobId: 'j', rank: 1 });
    expect(changes).toBe(3);
  });

  it('waitUntilIdle resolves when free, and false once draining starts', async () => {
    const s = new TrainerActivity();
    s.set({ kind: 'busy', jobId: 'j', rank: 0, stop: () => undefined });
    const idle = s.waitUntilIdle();
    s.toIdle();
    expect(await idle).toBe(true);
    s.set({ kind: 'busy', jobId: 'j', rank: 0, stop: () => undefined });
    const blocked = s.waitUntilIdle();
    const free = s.waitUntilFree();
    s.startDraining();
    expect(await blocked).toBe(false);
    s.toIdle();
    await free;
    expect(await s.waitUntilIdle()).toBe(false);
  });
});
