/**
 * One MQTT connection of the server, any protocol level (3.1 = 3, 3.1.1 = 4, 5): the socket, a
 * mqtt-packet parser and generator that follow the level the CONNECT named, the packet size limit
 * applied before anything is buffered (ThingsBoard closes the connection on a packet over
 * `max_payload_size`), the client's topic aliases and the client's Maximum Packet Size.
 */
import type { Socket } from 'node:net';
import { generate, parser as createParser, type Packet } from 'mqtt-packet';
import { RC } from './mqtt-reason-codes';

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

/**
 * The protocol level byte of a CONNECT at the start of `buf` (fixed header, then the protocol
 * name as a length-prefixed string, then the level), or undefined when `buf` is not one.
 */
export function connectLevel(buf: Uint8Array): number | undefined {
  if (buf.length < 2 || buf[0] !== 0x10) return undefined;
  let i = 1;
  while (i < buf.length && i < 5 && buf[i]! & 0x80) i++;
  i++;
  if (i + 2 > buf.length) return undefined;
  const nameLength = (buf[i]! << 8) | buf[i + 1]!;
  return buf[i + 2 + nameLength];
}

export interface ConnHandlers {
  packet(packet: Packet): void;
  /** A broken rule the connection closes for (size, framing); logged by the frontend. */
  violation(reason: string): void;
  /**
   * Bytes mqtt-packet cannot parse. `level` is the protocol level byte when the first bytes were a
   * CONNECT (so an unsupported level can be refused with CONNACK 1); the frontend closes.
   */
  malformed(reason: string, level: number | undefined): void;
  close(): void;
}

export class MqttConn {
  /** The level of the CONNECT (4 until one arrived, so a refusal before it is in 3.1.1 form). */
  protocolVersion = 4;
  /** The client's Maximum Packet Size (MQTT 5 CONNECT property); 0 = no limit. */
  clientMaxPacket = 0;
  readonly remote: string;
  private readonly parser = createParser();
  private readonly guard: FrameSizeGuard;
  private readonly aliases = new Map<number, string>();
  private sawFirst = false;
  private firstLevel: number | undefined;
  private nextId = 0;
  private ended = false;

  constructor(
    private readonly socket: Socket,
    maxPacketBytes: number,
    private readonly handlers: ConnHandlers,
  ) {
    this.remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    this.guard = new FrameSizeGuard(maxPacketBytes);
    this.parser.on('packet', (p: Packet) => {
      if (!this.ended) handlers.packet(p);
    });
    this.parser.on('error', (e: Error) => this.onParseError(e));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => {});
    socket.on('close', () => this.end());
  }

  get closed(): boolean {
    return this.ended || this.socket.destroyed;
  }

  /**
   * Writes one packet at this connection's level. A packet over the client's Maximum Packet Size
   * is not sent (MQTT-3.1.2-24); returns false then, or when the connection is closed.
   */
  send(packet: Packet): boolean {
    if (this.closed) return false;
    let bytes: Buffer;
    try {
      bytes = generate(packet, { protocolVersion: this.protocolVersion });
    } catch (e) {
      // A packet mqtt-packet refuses to encode is the server's bug: this connection ends, logged,
      // and the server goes on (a throw here would leave a socket callback and end the process).
      this.handlers.violation(`server error: cannot encode ${packet.cmd}: ${e instanceof Error ? e.message : String(e)}`);
      this.close();
      return false;
    }
    if (this.clientMaxPacket > 0 && bytes.length > this.clientMaxPacket) return false;
    this.socket.write(bytes);
    return true;
  }

  /** Packet identifiers for QoS 1 downlink: 1..65535, never 0 (MQTT-2.3.1-1). */
  messageId(): number {
    this.nextId = (this.nextId % 65_535) + 1;
    return this.nextId;
  }

  /**
   * The topic of an inbound PUBLISH with its Topic Alias applied (MQTT 5, 3.3.2.3.4): a topic with
   * an alias sets it, an empty topic uses it. Returns an error text for an alias out of range or
   * unknown (the caller disconnects).
   */
  resolveTopic(topic: string, alias: number | undefined, aliasMax: number): { topic: string } | { error: string; reasonCode: number } {
    if (alias === undefined) {
      return topic === '' ? { error: 'PUBLISH without a topic or a topic alias', reasonCode: RC.protocolError } : { topic };
    }
    if (alias === 0 || alias > aliasMax) return { error: `topic alias ${alias} outside 1..${aliasMax}`, reasonCode: RC.topicAliasInvalid }; // MQTT-3.3.2-8, -9
    if (topic !== '') {
      this.aliases.set(alias, topic);
      return { topic };
    }
    const known = this.aliases.get(alias);
    return known === undefined ? { error: `topic alias ${alias} used before it was set`, reasonCode: RC.protocolError } : { topic: known };
  }

  /**
   * Closes the connection. At level 5 a DISCONNECT with the reason code goes first (the server may
   * send one, MQTT 5 3.14); earlier levels have no server DISCONNECT. What was written is flushed
   * before the FIN (a refusal's CONNACK must arrive); `now` drops the socket at once (shutdown).
   */
  close(reasonCode?: number, now = false): void {
    if (this.closed) return;
    if (reasonCode !== undefined && this.protocolVersion === 5) this.send({ cmd: 'disconnect', reasonCode } as Packet);
    if (this.closed) return;
    if (now) {
      this.socket.destroy();
    } else {
      this.socket.end();
      // A client that never reads or never closes its side must not hold the socket.
      setTimeout(() => this.socket.destroy(), 1_000).unref();
    }
    // The session ends now, not when the socket has finished closing.
    this.end();
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.handlers.close();
  }

  private onData(chunk: Buffer): void {
    if (this.ended) return;
    if (!this.sawFirst) {
      this.sawFirst = true;
      this.firstLevel = connectLevel(chunk);
      if (this.firstLevel === 3 || this.firstLevel === 4 || this.firstLevel === 5) this.protocolVersion = this.firstLevel;
    }
    const tooBig = this.guard.feed(chunk);
    if (tooBig) {
      this.handlers.violation(tooBig);
      this.close(RC.packetTooLarge);
      return;
    }
    this.parser.parse(chunk);
  }

  private onParseError(e: Error): void {
    if (this.ended) return;
    this.handlers.malformed(e.message, this.firstLevel);
  }
}
