import { MqttError } from './errors';

/**
 * Cuts the inbound byte stream into whole MQTT packets before anything parses them.
 *
 * mqtt-packet reads across packet boundaries and has no size cap, so it only ever sees one
 * complete frame from here. A packet over `maxPacketBytes` is refused as soon as its remaining
 * length is known, before any of its body is buffered.
 */
export class Framer {
  private header = 0; // first byte of the packet being read
  private lengthValue = 0;
  private lengthMultiplier = 1;
  private lengthBytes = 0;
  private state: 0 | 1 | 2 = 0; // 0: fixed header byte, 1: remaining length, 2: body
  private frame: Uint8Array | undefined;
  private filled = 0;

  constructor(private readonly maxPacketBytes: number) {}

  /**
   * Feeds bytes. Calls `onFrame` with each complete packet (a fresh array the receiver may keep).
   * Returns an MqttError, and stops, at the first framing error; the caller must then drop the
   * connection and start over with reset().
   */
  push(chunk: Uint8Array, onFrame: (frame: Uint8Array) => void): MqttError | undefined {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.state === 0) {
        this.header = chunk[i++];
        this.lengthValue = 0;
        this.lengthMultiplier = 1;
        this.lengthBytes = 0;
        this.state = 1;
        continue;
      }
      if (this.state === 1) {
        const b = chunk[i++];
        this.lengthValue += (b & 0x7f) * this.lengthMultiplier;
        this.lengthMultiplier *= 128;
        this.lengthBytes++;
        if (b & 0x80) {
          // The remaining length takes at most four bytes [MQTT-2.2.3].
          if (this.lengthBytes === 4) return this.fail(new MqttError('malformed', 'remaining length longer than 4 bytes'));
          continue;
        }
        const total = 1 + this.lengthBytes + this.lengthValue;
        if (total > this.maxPacketBytes) {
          return this.fail(
            new MqttError(
              'packet-too-large',
              'inbound packet of ' + total + ' bytes is over the ' + this.maxPacketBytes + '-byte cap',
            ),
          );
        }
        const frame = new Uint8Array(total);
        frame[0] = this.header;
        let v = this.lengthValue;
        let o = 1;
        do {
          let digit = v % 128;
          v = Math.floor(v / 128);
          if (v > 0) digit |= 0x80;
          frame[o++] = digit;
        } while (v > 0);
        // A non-minimal length encoding (e.g. 0x80 0x00) is re-encoded shorter above; refuse it.
        if (o !== 1 + this.lengthBytes) return this.fail(new MqttError('malformed', 'remaining length not minimally encoded'));
        this.frame = frame;
        this.filled = o;
        this.state = 2;
        if (this.filled === total) this.complete(onFrame);
        continue;
      }
      const frame = this.frame as Uint8Array;
      const take = Math.min(frame.length - this.filled, n - i);
      frame.set(chunk.subarray(i, i + take), this.filled);
      this.filled += take;
      i += take;
      if (this.filled === frame.length) this.complete(onFrame);
    }
    return undefined;
  }

  /** Bytes held for a packet not yet complete: stays below the cap by construction. */
  get buffered(): number {
    return this.state === 2 ? this.filled : 0;
  }

  reset(): void {
    this.state = 0;
    this.frame = undefined;
    this.filled = 0;
  }

  private complete(onFrame: (frame: Uint8Array) => void): void {
    const frame = this.frame as Uint8Array;
    this.reset();
    onFrame(frame);
  }

  private fail(error: MqttError): MqttError {
    this.reset();
    return error;
  }
}
