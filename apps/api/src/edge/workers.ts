/**
 * The few Workers runtime types the edge shell uses, written out so the package needs no
 * @cloudflare/workers-types (whose globals clash with the DOM and Node typings).
 */
export type DurableObjectId = object;

export interface DurableObjectStub {
  fetch(request: Request): Promise<Response>;
}

export interface DurableObjectNamespace {
  idFromName(name: string): DurableObjectId;
  get(id: DurableObjectId): DurableObjectStub;
}

export interface DurableObjectState {
  readonly id: DurableObjectId;
}

export interface ExecutionContext {
  waitUntil(promise: Promise<unknown>): void;
}
