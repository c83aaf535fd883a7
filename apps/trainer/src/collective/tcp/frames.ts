import { CollectiveProtocolError } from '../errors.js';
import { HEADER_BYTES, encodeHeader, type PartHeader } from '../wire.js';

/**
 * Frames on a data-plane connection: u32 length (of what follows), u8 type, then the body.
 * hello/welcome are JSON and open a connection; a part is a collective chunk header and raw
 * little-endian floats; control is JSON (an abort with its reason).
 */
export const FRAME = { hello: 1, welcome: 2, part: 3, control: 4 } as const;
export type FrameType = (typeof FRAME)[keyof typeof FRAME];
export const FRAME_PREFIX = 5;
/** Before the welcome a stranger may send only this much. */
export const MAX_HANDSHAKE_BYTES = 4096;
/** A part of a vector of 64M floats; anything longer is a bug or an attack. */
export const MAX_FRAME_BYTES = 256 * 1024 * 1024;

const encoder = new TextEncoder();

export function jsonFrame(type: FrameType, body: unknown): Buffer {
  const json = encoder.encode(JSON.stringify(body));
  const frame = Buffer.allocUnsafe(FRAME_PREFIX + json.length);
  frame.writeUInt32LE(json.length + 1, 0);
  frame.writeUInt8(type, 4);
  frame.set(json, FRAME_PREFIX);
  return frame;
}

/** The frame prefix and chunk header of a whole part; the floats follow as a view, not a copy. */
export function partPrefix(h: PartHeader, floats: number): Buffer {
  const prefix = Buffer.allocUnsafe(FRAME_PREFIX + HEADER_BYTES);
  prefix.writeUInt32LE(1 + HEADER_BYTES + floats * 4, 0);
  prefix.writeUInt8(FRAME.part, 4);
  encodeHeader(prefix.subarray(FRAME_PREFIX), { ...h, chunk: 0, chunks: 1, total: floats, offset: 0 });
  return prefix;
}

/**
 * Cuts a byte stream into frames. One buffer per connection, grown to the largest frame and
 * reused: a steady run of same-sized rounds allocates nothing. `onFrame`'s body is a view
 * into that buffer, valid only during the call.
 */
export class FrameReader {
  private buf = Buffer.alloc(64 * 1024);
  private have = 0;
  /** Set between the handshake and the transport taking over: bytes that arrive wait here. */
  private held: Buffer[] | undefined;

  constructor(
    private onFrame: (type: number, body: Buffer) => void,
    private maxFrameBytes: number = MAX_HANDSHAKE_BYTES,
  ) {}

  /** After the handshake frame: later bytes (a peer may send at once) wait for `attach`. */
  hold(): void {
    this.held = [];
  }

  /** The transport takes over: raises the frame limit and reads what arrived meanwhile. */
  attach(onFrame: (type: number, body: Buffer) => void, maxFrameBytes = MAX_FRAME_BYTES): void {
    this.onFrame = onFrame;
    this.maxFrameBytes = maxFrameBytes;
    const held = this.held ?? [];
    this.held = undefined;
    for (const data of held) this.push(data);
  }

  push(data: Buffer): void {
    let at = 0;
    while (at < data.length) {
      if (this.held) {
        this.held.push(Buffer.from(data.subarray(at)));
        return;
      }
      const need = this.need();
      if (need > this.buf.length) this.grow(need);
      const n = Math.min(data.length - at, need - this.have);
      data.copy(this.buf, this.have, at, at + n);
      this.have += n;
      at += n;
      if (this.have === need) this.emitIfComplete();
    }
  }

  /** Bytes the current frame needs in all: its prefix until the prefix is here, then the whole frame. */
  private need(): number {
    if (this.have < FRAME_PREFIX) return FRAME_PREFIX;
    const length = this.buf.readUInt32LE(0);
    if (length < 1 || length > this.maxFrameBytes)
      throw new CollectiveProtocolError(`frame of ${length} bytes (at most ${this.maxFrameBytes} here)`);
    return 4 + length;
  }

  private emitIfComplete(): void {
    const length = this.buf.readUInt32LE(0);
    if (this.have !== 4 + length) return;
    this.have = 0;
    this.onFrame(this.buf.readUInt8(4), this.buf.subarray(FRAME_PREFIX, 4 + length));
  }

  private grow(size: number): void {
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.have);
    this.buf = next;
  }
}
