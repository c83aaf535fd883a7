/**
 * A gradient chunk on the wire: a fixed little-endian header, then raw float32 values.
 * Raw bytes, not JSON: a LeNet-5 step is 61k floats and must cost a memcpy, not a parse.
 *
 *   u32 round | u16 rank | u16 chunk | u16 chunks | u16 version | u32 total | u32 offset | f32[] values
 */
export const WIRE_VERSION = 1;
export const HEADER_BYTES = 20;

export interface ChunkHeader {
  round: number;
  rank: number;
  chunk: number;
  chunks: number;
  /** Floats in the whole contribution, and where this chunk's values start in it. */
  total: number;
  offset: number;
}

export interface DecodedChunk extends ChunkHeader {
  /** The chunk's float bytes (a view into the message). */
  bytes: Uint8Array;
}

/** Splits one rank's contribution into messages of at most `maxFloats` values each. */
export function encodeChunks(round: number, rank: number, values: Float32Array, maxFloats: number): Uint8Array[] {
  const chunks = Math.max(1, Math.ceil(values.length / maxFloats));
  const out: Uint8Array[] = [];
  for (let chunk = 0; chunk < chunks; chunk++) {
    const offset = chunk * maxFloats;
    const n = Math.min(maxFloats, values.length - offset);
    const msg = new Uint8Array(HEADER_BYTES + n * 4);
    const view = new DataView(msg.buffer);
    view.setUint32(0, round, true);
    view.setUint16(4, rank, true);
    view.setUint16(6, chunk, true);
    view.setUint16(8, chunks, true);
    view.setUint16(10, WIRE_VERSION, true);
    view.setUint32(12, values.length, true);
    view.setUint32(16, offset, true);
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
  const version = view.getUint16(10, true);
  if (version !== WIRE_VERSION) throw new WireFormatError(`chunk wire version ${version}, expected ${WIRE_VERSION}`);
  const h = {
    round: view.getUint32(0, true),
    rank: view.getUint16(4, true),
    chunk: view.getUint16(6, true),
    chunks: view.getUint16(8, true),
    total: view.getUint32(12, true),
    offset: view.getUint32(16, true),
  };
  const bytes = data.subarray(HEADER_BYTES);
  if (bytes.length % 4 !== 0 || h.offset + bytes.length / 4 > h.total || h.chunk >= h.chunks) {
    throw new WireFormatError(`chunk ${h.chunk}/${h.chunks} of rank ${h.rank} round ${h.round} does not fit its contribution`);
  }
  return { ...h, bytes };
}

/** Copies a chunk's floats into the contribution buffer (byte copy: the message need not be aligned). */
export function placeChunk(target: Float32Array, c: DecodedChunk): void {
  new Uint8Array(target.buffer, target.byteOffset + c.offset * 4, c.bytes.length).set(c.bytes);
}

/**
 * The element-wise sum of all contributions, added in rank order. Every rank runs this
 * on the same bytes in the same order, so all get bit-identical sums (float addition is
 * not associative: arrival order would not do).
 */
export function sumInRankOrder(contributions: readonly Float32Array[]): Float32Array {
  const first = contributions[0];
  if (!first) throw new RangeError('no contributions');
  const out = Float32Array.from(first);
  for (let r = 1; r < contributions.length; r++) {
    const c = contributions[r]!;
    for (let i = 0; i < out.length; i++) out[i]! += c[i]!;
  }
  return out;
}
