/** Why an all-reduce did not complete. `fatal` tells the coordinator not to retry the job. */
export class CollectiveError extends Error {
  override readonly name: string = 'CollectiveError';
  constructor(
    message: string,
    readonly fatal: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Some ranks sent nothing for a round within the timeout: dead, partitioned or stuck. */
export class CollectiveTimeoutError extends CollectiveError {
  override readonly name = 'CollectiveTimeoutError';
  constructor(
    readonly round: number,
    readonly missingRanks: number[],
    readonly timeoutMs: number,
  ) {
    super(
      `all-reduce round ${round}: no contribution from rank${missingRanks.length > 1 ? 's' : ''} ` +
        `${missingRanks.join(', ')} within ${timeoutMs} ms`,
      false,
    );
  }
}

/** The group was stopped: by this rank (cancel, drain, error) or by a peer that told us why. */
export class CollectiveAbortedError extends CollectiveError {
  override readonly name = 'CollectiveAbortedError';
  constructor(
    readonly reason: string,
    /** The rank that aborted; this rank's own when the abort is local. */
    readonly fromRank: number,
    fatal: boolean,
    options?: { cause?: unknown },
  ) {
    super(`group aborted by rank ${fromRank}: ${reason}`, fatal, options);
  }
}

/** Ranks disagree about what they are reducing (a bug or mixed versions): never retried. */
export class CollectiveProtocolError extends CollectiveError {
  override readonly name = 'CollectiveProtocolError';
  constructor(message: string) {
    super(message, true);
  }
}

/** A peer's connection closed or broke mid-job (its process died, its host went away): the round fails at once. */
export class CollectivePeerLostError extends CollectiveError {
  override readonly name = 'CollectivePeerLostError';
  constructor(
    readonly peerRank: number,
    detail: string,
  ) {
    super(`lost rank ${peerRank}: ${detail}`, false);
  }
}

/** The direct connections between the ranks did not form (unreachable address, refused, too slow). */
export class MeshError extends CollectiveError {
  override readonly name = 'MeshError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, false, options);
  }
}
