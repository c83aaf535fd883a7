/**
 * A stand-in for an object that is not there yet: every method call, at any depth
 * (`cluster.jobs.get(id)`), goes to the real object once `ready` has resolved, and throws
 * `notReady()` before (inside the routes' async handlers that is a rejection, answered 503).
 * Generic, so a new method of the real object needs no forwarding written by hand.
 */
export function pending<T extends object>(ready: Promise<T>, notReady: () => Error): { value: T; isReady(): boolean } {
  let real: T | undefined;
  ready.then(
    (v) => (real = v),
    () => undefined, // the caller handles a failed start; calls keep throwing notReady()
  );
  const call = (path: readonly PropertyKey[], args: unknown[]): unknown => {
    if (real === undefined) throw notReady();
    let owner: unknown;
    let member: unknown = real;
    for (const key of path) {
      owner = member;
      member = (member as Record<PropertyKey, unknown>)[key];
    }
    if (typeof member !== 'function') throw new TypeError(`${path.map(String).join('.')} is not a function`);
    return (member as (...a: unknown[]) => unknown).apply(owner, args);
  };
  const at = (path: readonly PropertyKey[]): unknown =>
    new Proxy(() => undefined, {
      // Not a thenable: `await value` or returning it from an async function must not call through.
      get: (_target, key) => (key === 'then' ? undefined : at([...path, key])),
      apply: (_target, _this, args: unknown[]) => call(path, args),
    });
  return { value: at([]) as T, isReady: () => real !== undefined };
}
