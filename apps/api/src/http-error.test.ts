import { describe, expect, it } from 'vitest';
import { HTTPException } from 'hono/http-exception';
import {
  ClosedConnectionError,
  ConnectionError,
  NoRespondersError,
  RequestError,
  TimeoutError,
} from '@nats-io/nats-core';
import { JobFinishedError, JobNotFoundError, StorageError } from '@mnist/core';
import { isBrokerUnavailable } from '@mnist/cluster/nats-errors';
import { HttpError, toHttpError } from './http-error.js';

describe('toHttpError', () => {
  it("keeps HttpErrors and maps Hono's own exceptions to the JSON shape", () => {
    const e = HttpError.conflict('x');
    expect(toHttpError(e)).toBe(e);
    expect(toHttpError(new HTTPException(400, { message: 'Malformed JSON in request body' })).body).toEqual({
      error: 'Malformed JSON in request body',
      issues: [],
    });
    expect(toHttpError(new HTTPException(413)).body).toEqual({ error: 'request body too large' });
  });

  it("gives the cluster's errors their status and message", () => {
    expect(toHttpError(new JobNotFoundError('j-1'))).toMatchObject({
      status: 404,
      body: { error: "job 'j-1' not found" },
    });
    expect(toHttpError(new JobFinishedError('j-1', 'failed'))).toMatchObject({
      status: 409,
      body: { error: "job 'j-1' is already failed" },
    });
  });

  it('hides the details of infrastructure failures', () => {
    expect(toHttpError(new StorageError('get s3://bucket/jobs/x: AccessDenied'), 'r-1')).toMatchObject({
      status: 502,
      body: { error: 'artifact store unavailable', requestId: 'r-1' },
    });
    const broker = [
      new TimeoutError(),
      new ConnectionError('detail that must not leak'),
      new ClosedConnectionError(),
      new RequestError('request failed', { cause: new NoRespondersError('$JS.API.INFO') }),
    ];
    for (const err of broker) {
      expect(toHttpError(err, 'r-2', isBrokerUnavailable)).toMatchObject({
        status: 503,
        body: { error: 'cluster unavailable, try again', requestId: 'r-2' },
      });
    }
    const unknown = toHttpError(new TypeError("Cannot read properties of undefined (reading 'x')"), 'r-3');
    expect(unknown.status).toBe(500);
    expect(unknown.body).toEqual({ error: 'internal error', requestId: 'r-3' });
  });

  it('maps by class, not by name: a look-alike is an internal error', () => {
    const lookAlike = Object.assign(new Error("job 'j-1' not found"), { name: 'JobNotFoundError' });
    expect(toHttpError(lookAlike, 'r-4')).toMatchObject({
      status: 500,
      body: { error: 'internal error', requestId: 'r-4' },
    });
  });
});
