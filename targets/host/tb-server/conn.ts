/**
 * The byte stream between a TCP socket and aedes. It enforces the packet size limit before aedes buffers
 * anything (ThingsBoard closes the connection on a packet over `max_payload_size`), and sets the
 * CONNACK session-present flag to !cleanSession as ThingsBoard does (aedes keeps no session for us).
 */
import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';

/** Follows MQTT fixed headers across chunks; reports the first packet larger than `max` bytes. */
export class FrameSizeGuard {
  private state: 'type' | 'length' | 'body' = 'type';
  private length = 0;
  private multiplier = 1;
  private lengthBytes = 0;
  private remaining = 0;

  constructor(private readonly max: number) {}

  /** Returns an error message, or null while every packet fits. */
  feed(buf: Uint8Array): string | null {
    let i = 0;
    while (i < buf.length) {
      if (this.state === 'body') {
        const n = Math.min(this.remaining, buf.length - i);
        this.remaining -= n;
        i += n;
        if (this.remaining === 0) this.state = 'type';
        continue;
      }
      const b = buf[i++]!;
      if (this.state === 'type') {
        this.state = 'length';
        this.length = 0;
        this.multiplier = 1;
        this.lengthBytes = 0;
        continue;
      }
      this.length += (b & 0x7f) * this.multiplier;
      this.multiplier *= 128;
      this.lengthBytes++;
      if (b & 0x80) {
        if (this.lengthBytes >= 4) return 'malformed remaining length';
        continue;
      }
      const total = 1 + this.lengthBytes + this.length;
      if (total > this.max) return `packet of ${total} bytes exceeds the ${this.max} byte limit`;
      this.remaining = this.length;
      this.state = this.length > 0 ? 'body' : 'type';
    }
    return null;
  }
}

export class GuardedConn extends Duplex {
  /** Set once the device is authenticated with cleanSession = false. */
  sessionPresent = false;
  readonly remoteAddress: string | undefined;
  private readonly guard: FrameSizeGuard;
  private head: Buffer[] | null = [];
  private headLength = 0;

  constructor(
    private readonly socket: Socket,
    maxPacketBytes: number,
    private readonly onViolation: (reason: string) => void,
  ) {
    super();
    this.remoteAddress = socket.remoteAddress;
    this.guard = new FrameSizeGuard(maxPacketBytes);
    socket.on('data', (chunk: Buffer) => {
      const err = this.guard.feed(chunk);
      if (err) {
        this.onViolation(err);
        socket.destroy();
        return;
      }
      if (!this.push(chunk)) socket.pause();
    });
    socket.on('end', () => this.push(null));
    socket.on('error', (e) => this.destroy(e));
    socket.on('close', () => this.destroy());
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.head) {
      // The first packet out is the CONNACK (0x20 0x02 flags rc): hold its 4 bytes to set the flag.
      this.head.push(chunk);
      this.headLength += chunk.length;
      if (this.headLength < 4) return cb();
      const all = Buffer.concat(this.head);
      this.head = null;
      if (all[0] === 0x20 && all[1] === 0x02 && all[3] === 0 && this.sessionPresent) all[2] = 1;
      chunk = all;
    }
    if (this.socket.destroyed) return cb();
    this.socket.write(chunk, () => cb());
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.socket.end();
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.socket.destroy();
    cb(err);
  }
}
