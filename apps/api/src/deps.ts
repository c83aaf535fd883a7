import type { Admission, FollowOptions, SequencedEvent } from '@mnist/cluster';
import type { JobRecord, JobSpec, LogLine, TrainerInfo } from '@mnist/protocol';

export interface ApiSubmitOptions {
  /** The client's Idempotency-Key: the same key returns the same job. */
  idempotencyKey?: string;
  /** Asked only before a new job is written: throws to refuse it (429), or parks it. */
  admit?: () => Promise<Admission>;
}

/**
 * What the routes need from the cluster: cluster-deps.ts builds it from a ClusterClient
 * and its watched ClusterView; tests can hand in an in-memory one.
 * Type-only imports: app.ts stays free of Node-only code.
 */
export interface ApiCluster {
  submit(spec: JobSpec, o?: ApiSubmitOptions): Promise<JobRecord>;
  jobs: {
    get(id: string): Promise<JobRecord | undefined>;
    /** Newest first (creation time, then id). From a watched view: no broker round trip. */
    list(): Promise<JobRecord[]>;
    /** Throws JobNotFoundError (404) or JobFinishedError (409). */
    cancel(id: string, message?: string): Promise<JobRecord>;
  };
  /** Live trainers, by id (from the watched view). */
  trainers: { list(): Promise<TrainerInfo[]> };
  events: {
    /** A job's events after `afterSeq`, in stream order, then live (EventLog.follow). */
    follow(jobId: string, o?: FollowOptions): AsyncIterable<SequencedEvent>;
    /** The newest event of a job, or undefined when it has none (or it is not a JobEvent). */
    last(jobId: string): Promise<SequencedEvent | undefined>;
    /** The stream sequence of a job's newest event, 0 when it has none. */
    lastSeq(jobId: string): Promise<number>;
  };
  /** Each job's trainer log lines (JobLogs of @mnist/cluster): the newest few, and live. */
  logs: {
    tail(jobId: string, o: { afterSeq?: number; limit: number }): Promise<LogLine[]>;
    follow(jobId: string, o?: { afterSeq?: number; signal?: AbortSignal }): AsyncIterable<LogLine>;
  };
}

/** The read side of an ArtifactStore (@mnist/storage) at the bucket root. */
export interface ArtifactReader {
  get(key: string): Promise<Uint8Array | undefined>;
  /** Keys under a prefix, relative to the root, sorted. */
  list(prefix?: string): Promise<string[]>;
}

export interface RequestObservation {
  method: string;
  /** The matched route pattern (`/v1/jobs/:id`), never the raw path. */
  route: string;
  status: number;
  seconds: number;
}

/** Prometheus side (prom-client is Node-only, so node.ts plugs it in). */
export interface ApiMetrics {
  observe(o: RequestObservation): void;
  render(): Promise<{ contentType: string; body: string }>;
}

export interface HealthReport {
  ok: boolean;
  checks: Record<string, string>;
}

/** A static file of the dashboard, loaded by the runtime adapter (node.ts reads public/). */
export interface Asset {
  contentType: string;
  body: string;
}

export interface ApiDeps {
  cluster: ApiCluster;
  artifacts: ArtifactReader;
  metrics?: ApiMetrics;
  health?: () => Promise<HealthReport>;
  /** Dashboard files by URL path: '/', '/dashboard.js', '/dashboard.css'. */
  assets?: Readonly<Record<string, Asset>>;
  /**
   * Errors of the cluster's transport that mean "unavailable, try again" (503): the
   * broker's timeouts and closed connections (`isBrokerUnavailable` from
   * @mnist/cluster/nats-errors). Passed in, so app.ts does not load the NATS client.
   */
  isUnavailable?: (err: unknown) => boolean;
}
