/**
 * The one place that talks to mqtt-packet [DESIGN: only src/mqtt/codec.ts imports it].
 *
 * mqtt-packet encodes the rare packets (CONNECT, SUBSCRIBE, UNSUBSCRIBE, DISCONNECT) and parses the
 * variable-length inbound ones (PUBLISH, SUBACK) after Framer and decode.ts have checked them.
 * The hot path (PUBLISH, PUBACK, PINGREQ) is encoded by hand in publish-encoder.ts: see there why.
 */
import { generate, parser as createParser, writeToStream } from 'mqtt-packet';
import type { Packet } from 'mqtt-packet';

// Must happen at module top level, before the first generate(): left on, mqtt-packet builds a
// 65,536-entry number cache (on XS ~30 M computrons and 450,000 slots), and after a Moddable
// preload the property can no longer be set ("set writeNumber: const"). DESIGN.md, facts.
writeToStream.cacheNumbers = false;

export interface Will {
  topic: string;
  payload: string | Uint8Array;
  qos: 0 | 1;
  retain: boolean;
}

export interface ConnectFields {
  clientId: string;
  username?: string;
  password?: string;
  keepaliveSeconds: number;
  cleanSession: boolean;
  will?: Will;
}

export function encodeConnect(fields: ConnectFields): Uint8Array {
  const packet: Record<string, unknown> = {
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 4,
    clean: fields.cleanSession,
    clientId: fields.clientId,
    keepalive: fields.keepaliveSeconds,
  };
  if (fields.username !== undefined) packet.username = fields.username;
  if (fields.password !== undefined) packet.password = fields.password;
  if (fields.will) {
    packet.will = {
      topic: fields.will.topic,
      payload: fields.will.payload,
      qos: fields.will.qos,
      retain: fields.will.retain,
    };
  }
  return generate(packet as unknown as Packet) as Uint8Array;
}

export function encodeSubscribe(id: number, filter: string, qos: 0 | 1): Uint8Array {
  return generate({ cmd: 'subscribe', messageId: id, subscriptions: [{ topic: filter, qos }] } as Packet) as Uint8Array;
}

export function encodeUnsubscribe(id: number, filter: string): Uint8Array {
  return generate({ cmd: 'unsubscribe', messageId: id, unsubscriptions: [filter] } as Packet) as Uint8Array;
}

export function encodeDisconnect(): Uint8Array {
  return generate({ cmd: 'disconnect' } as Packet) as Uint8Array;
}

export interface ParsedPublish {
  topic: string;
  payload: Uint8Array;
  qos: number;
  dup: boolean;
  retain: boolean;
  messageId: number;
}

export interface ParsedSuback {
  messageId: number;
  granted: number[];
}

/**
 * Wraps one mqtt-packet parser. It is fed exactly one whole, pre-checked frame at a time, so each
 * parse() yields exactly one packet or one error synchronously.
 */
export class FrameParser {
  private readonly parser = createParser({ protocolVersion: 4 });
  private packet: unknown = undefined;
  private error: Error | undefined = undefined;

  constructor() {
    this.parser.on('packet', (packet: unknown) => {
      this.packet = packet;
    });
    this.parser.on('error', (error: Error) => {
      this.error = error;
    });
  }

  parsePublish(frame: Uint8Array): ParsedPublish | Error {
    return this.parse(frame) as ParsedPublish | Error;
  }

  parseSuback(frame: Uint8Array): ParsedSuback | Error {
    return this.parse(frame) as ParsedSuback | Error;
  }

  private parse(frame: Uint8Array): unknown {
    this.packet = undefined;
    this.error = undefined;
    // mqtt-packet's bl wants Node Buffers (or the XS shim's); a Uint8Array view shares the bytes.
    this.parser.parse(frame as never);
    const result = this.error ?? this.packet;
    if (result === undefined) return new Error('mqtt-packet produced no packet from a complete frame');
    return result;
  }
}
