/**
 * A collective message on the wire: a fixed little-endian header, then raw float32 values.
 * Raw bytes, not JSON: a LeNet-5 step is 61k floats and must cost a memcpy, not a parse.
 *
 *   u32 round | u16 rank | u16 slice | u16 chunk | u16 chunks | u16 version | u8 phase | u8 0
 *   | u32 total | u32 offset | f64 sentAt | f32[] values
 *
 * `rank` sent it; `slice` says which part of the vector the values belong to (the owner's
 * index in reduce-scatter, ALL_SLICES for a whole vector); `total` is that part's length
 * and `offset` where this chunk starts in it. `sentAt` (ms on the sender's clock) lets the
 * receiver split waiting into the peer's lateness and the time on the wire.
 */
export const WIRE_VERSION = 2;
export const HEADER_BYTES = 32;
export const ALL_SLICES = 0xffff;

/** scatter: a rank's contribution to what a reducer sums; gather: a reducer's finished sum. */
export const PHASE = { scatter: 1, gather: 2 } as const;
export type Phase = (typeof PHASE)[keyof typeof PHASE];

export interface ChunkHeader {
  round: number;
  rank: number;
  slice: number;
  phase: Phase;
  chunk: number;
  chunks: number;
  /** Floats in the whole part, and where this chunk's values start in it. */
  total: number;
  offset: number;
  sentAt: number;
}

export interface DecodedChunk extends ChunkHeader {
  /** The chunk's float bytes (a view into the message). */
  bytes: Uint8Array;
}

export type PartHeader = Omit<ChunkHeader, 'chunk' | 'chunks' | 'total' | 'offset'>;

/** Writes a chunk's 32-byte header at the start of `target`. */
export function encodeHeader(target: Uint8Array, h: ChunkHeader): void {
  const view = new DataView(target.buffer, target.byteOffset, HEADER_BYTES);
  view.setUint32(0, h.round, true);
  view.setUint16(4, h.rank, true);
  view.setUint16(6, h.slice, true);
  view.setUint16(8, h.chunk, true);
  view.setUint16(10, h.chunks, true);
  view.setUint16(12, WIRE_VERSION, true);
  view.setUint8(14, h.phase);
  view.setUint8(15, 0);
  view.setUint32(16, h.total, true);
  view.setUint32(20, h.offset, true);
  view.setFloat64(24, h.sentAt, true);
}

/** Splits one part into messages of at most `maxFloats` values each. */
export function encodeChunks(h: PartHeader, values: Float32Array, maxFloats: number): Uint8Array[] {
  const chunks = Math.max(1, Math.ceil(values.length / maxFloats));
  const out: Uint8Array[] = [];
  for (let chunk = 0; chunk < chunks; chunk++) {
    const offset = chunk * maxFloats;
    const n = Math.min(maxFloats, values.length - offset);
    const msg = new Uint8Array(HEADER_BYTES + n * 4);
    encodeHeader(msg, { ...h, chunk, chunks, total: values.length, offset });
    msg.set(new Uint8Array(values.buffer, values.byteOffset + offset * 4, n * 4), HEADER_BYTES);
    out.push(msg);
  }
  return out;
}

export class WireFormatError extends Error {
  override readonly name = 'WireFormatError';
}

export function decodeChunk(data: Uint8Array): DecodedChunk {
  if (data.length < HEADER_BYTES) throw new WireFormatError(`chunk of ${data.length} bytes is shorter than its header`);
  const view = new DataView(data.buffer, data.byteOffset, HEADER_BYTES);
  const version = view.getUint16(12, true);
  if (version !== WIRE_VERSION) throw new WireFormatError(`chunk wire version ${version}, expected ${WIRE_VERSION}`);
  const phase = view.getUint8(14);
  if (phase !== PHASE.scatter && phase !== PHASE.gather) throw new WireFormatError(`unknown phase ${phase}`);
  const h: ChunkHeader = {
    round: view.getUint32(0, true),
    rank: view.getUint16(4, true),
    slice: view.getUint16(6, true),
    chunk: view.getUint16(8, true),
    chunks: view.getUint16(10, true),
    phase,
    total: view.getUint32(16, true),
    offset: view.getUint32(20, true),
    sentAt: view.getFloat64(24, true),
  };
  const bytes = data.subarray(HEADER_BYTES);
  if (bytes.length % 4 !== 0 || h.offset + bytes.length / 4 > h.total || h.chunk >= h.chunks) {
    throw new WireFormatError(`chunk ${h.chunk}/${h.chunks} of rank ${h.rank} round ${h.round} does not fit its part`);
  }
  return { ...h, bytes };
}

/** Copies a chunk's floats into the part's buffer (byte copy: the message need not be aligned). */
export function placeChunk(target: Float32Array, c: DecodedChunk): void {
  new Uint8Array(target.buffer, target.byteOffset + c.offset * 4, c.bytes.length).set(c.bytes);
}

/**
 * The element-wise sum of all contributions, added in rank order, into `out`. Every
 * reducer runs this on the same bytes in the same order, so all get bit-identical sums
 * (float addition is not associative: arrival order would not do).
 */
export function sumInRankOrder(contributions: readonly Float32Array[], out?: Float32Array): Float32Array {
  const first = contributions[0];
  if (!first) throw new RangeError('no contributions');
  const sum = out ?? new Float32Array(first.length);
  sum.set(first);
  for (let r = 1; r < contributions.length; r++) {
    const c = contributions[r]!;
    for (let i = 0; i < sum.length; i++) sum[i]! += c[i]!;
  }
  return sum;
}
