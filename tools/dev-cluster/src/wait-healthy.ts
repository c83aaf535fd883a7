/**
 * Polls an API's /healthz until it answers 200: NATS reachable and the cluster set up
 * (a trainer created it). Throws with the last answer after `timeoutMs`.
 */
export async function waitForHealthy(apiUrl: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const res = await fetch(`${apiUrl}/healthz`, { signal: AbortSignal.timeout(5_000) });
      if (res.ok) return;
      last = `${res.status} ${await res.text()}`;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`${apiUrl} not healthy within ${timeoutMs} ms; last answer: ${last}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
