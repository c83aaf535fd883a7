import type { MessageBus } from '@mnist/cluster';
import type { ConnectionOptions } from 'node:tls';
import { silentLogger, type Logger } from '@mnist/core';
import type { TransportChoice } from '@mnist/protocol';
import type { Collective } from '@mnist/training';
import type { CollectiveAlgorithm } from './algorithm.js';
import { GroupCollective } from './group-collective.js';
import { NatsTransport } from './nats-transport.js';
import type { CollectiveStats } from './stats.js';
import type { DataEndpoint, DataListener } from './tcp/data-listener.js';
import { formMesh } from './tcp/mesh.js';

export interface DataPlaneOptions {
  /** tcp: direct connections or fail; nats: through the broker; auto: tcp when every rank's mesh forms, else nats. */
  choice: TransportChoice;
  /** The cluster's message bus: the fallback transport, and the group's agreement on the transport. */
  bus: MessageBus;
  /** NATS_NAMES.collectivePrefix(jobId, attempt): a fresh namespace per attempt. */
  prefix: string;
  rank: number;
  worldSize: number;
  algorithm: CollectiveAlgorithm | 'auto';
  timeoutMs: number;
  slowRoundTimeoutMs: number;
  signal: AbortSignal;
  /** What the direct connections need; without it (a peer that advertised no endpoint) the group uses NATS. */
  mesh?: {
    listener: DataListener;
    endpoints: readonly DataEndpoint[];
    jobId: string;
    attempt: number;
    secret: string;
    deadlineMs: number;
    tls?: ConnectionOptions;
  };
  log?: Logger;
}

export interface DataPlaneChoice {
  transport: 'tcp' | 'nats';
  /** Set when `auto` fell back to NATS: which rank could not connect, and why. */
  fallbackReason?: string;
}

/**
 * A rank's collective from the moment its group forms. `open` subscribes on NATS before the
 * rank accepts its assignment (so nobody sends into a group that is not listening; aborts
 * work from then on); `connect`, once every rank runs, forms the TCP mesh and, for `auto`,
 * lets the group agree over NATS whether every rank got its connections: all of them use TCP,
 * or all fall back to NATS. NATS stays the control plane either way.
 */
export class DataPlane implements Collective {
  readonly rank: number;
  readonly worldSize: number;
  private active: GroupCollective;

  private constructor(
    private readonly o: DataPlaneOptions,
    private readonly viaNats: GroupCollective,
  ) {
    this.rank = o.rank;
    this.worldSize = o.worldSize;
    this.active = viaNats;
  }

  static async open(o: DataPlaneOptions): Promise<DataPlane> {
    const transport = await NatsTransport.open({
      bus: o.bus,
      prefix: o.prefix,
      rank: o.rank,
      worldSize: o.worldSize,
      log: o.log,
    });
    return new DataPlane(o, new GroupCollective({ ...o, transport }));
  }

  /** Picks the transport for the whole group; throws only when `tcp` was required and did not form. */
  async connect(): Promise<DataPlaneChoice> {
    const { choice, mesh } = this.o;
    const log = this.o.log ?? silentLogger;
    if (choice === 'nats') return { transport: 'nats' };
    if (!mesh) {
      const reason = 'a member advertised no data endpoint';
      if (choice === 'tcp') throw new Error(`transport tcp: ${reason}`);
      return { transport: 'nats', fallbackReason: reason };
    }
    const key = {
      jobId: mesh.jobId,
      attempt: mesh.attempt,
      rank: this.rank,
      worldSize: this.worldSize,
      secret: mesh.secret,
    };
    const formed = await formMesh({
      key,
      endpoints: mesh.endpoints,
      listener: mesh.listener,
      deadlineMs: mesh.deadlineMs,
      tls: mesh.tls,
      log,
    }).then(
      (t) => ({ ok: true as const, t }),
      (err: unknown) => ({ ok: false as const, err }),
    );
    if (choice === 'auto') {
      // One NATS round: the number of ranks whose mesh did not form. Every rank sees the same sum.
      const [failedRanks] = await this.viaNats.allReduceSum(Float32Array.of(formed.ok ? 0 : 1));
      if (failedRanks !== 0) {
        if (formed.ok) formed.t.close();
        const fallbackReason = formed.ok
          ? `${failedRanks} rank(s) could not reach their peers directly`
          : formed.err instanceof Error
            ? formed.err.message
            : String(formed.err);
        log.warn('data_plane.fallback', { transport: 'nats', reason: fallbackReason });
        return { transport: 'nats', fallbackReason };
      }
    }
    // tcp required (or every rank's mesh formed under auto): a mesh that did not form fails the attempt.
    if (!formed.ok) throw formed.err;
    this.active = new GroupCollective({ ...this.o, transport: formed.t });
    this.viaNats.close();
    return { transport: 'tcp' };
  }

  allReduceSum(values: Float32Array): Promise<Float32Array> {
    return this.active.allReduceSum(values);
  }

  expectSlowRounds(rounds: number): void {
    this.active.expectSlowRounds(rounds);
  }

  takeStats(): CollectiveStats {
    return this.active.takeStats();
  }

  abort(reason: string, fatal: boolean): void {
    this.active.abort(reason, fatal);
  }

  /** Closes the transport in use; `connect` already closed the NATS group when it switched to TCP. */
  close(): void {
    this.active.close();
  }
}
