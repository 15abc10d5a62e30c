/**
 * The codec on mqtt-packet: the one file that imports it [DESIGN: only one src/mqtt file does].
 * Every target uses it, the ESP32 too: there mqtt-packet and its shims (targets/xs-shims) are
 * preloaded into flash with the rest, which costs flash (plentiful) and no RAM after load. What runs
 * per message stays off it: the framer and decode.ts check every frame before it gets here, and
 * PUBLISH, PUBACK and PINGREQ are hand-encoded (publish-encoder.ts).
 */
import { generate, parser as createParser, writeToStream } from 'mqtt-packet';
import type { Packet } from 'mqtt-packet';
import type { ConnectFields, MqttCodec, PacketParser, ParsedPublish, ParsedSuback } from './codec-types';
import { deepFreeze } from '../platform/freeze';

// Must happen at module top level, before the first generate(): left on, mqtt-packet builds a
// 65,536-entry number cache (on XS ~30 M computrons and 450,000 slots), and after a Moddable
// preload the property can no longer be set ("set writeNumber: const"). DESIGN.md, facts.
writeToStream.cacheNumbers = false;

function encodeConnect(fields: ConnectFields): Uint8Array {
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
  if (fields.will) packet.will = { topic: fields.will.topic, payload: fields.will.payload, qos: fields.will.qos, retain: fields.will.retain };
  return generate(packet as unknown as Packet) as Uint8Array;
}

/** The mqtt-packet parser, with where its listeners leave the result of one parse(). */
interface ResultParser {
  parse(bytes: never): number;
  on(event: string, listener: (this: ResultParser, value: never) => void): unknown;
  tbxsPacket: unknown;
  tbxsError: Error | undefined;
  // mqtt-packet 9's own state and PUBLISH body parser (see parsePublish).
  packet: { cmd: string | null; qos: number; length: number; topic: string | null; payload: Uint8Array | null; messageId?: number };
  _list: { append(bytes: never): unknown; consume(n: number): unknown };
  _pos: number;
  _parsePublish?: () => void;
}

// Module functions, not closures: an EventEmitter calls a listener with `this` set to the
// emitter, and these stay in flash once preloaded, where two closures per parser cost about 22
// heap slots on XS (measured on xsnap).
function keepPacket(this: ResultParser, packet: unknown): void {
  this.tbxsPacket = packet;
}

function keepError(this: ResultParser, error: Error): void {
  this.tbxsError = error;
}

/**
 * Wraps one mqtt-packet parser. It is fed exactly one whole, pre-checked frame at a time, so each
 * parse yields exactly one packet or one error synchronously.
 */
class MqttPacketParser implements PacketParser {
  private readonly parser_ = createParser({ protocolVersion: 4 }) as unknown as ResultParser;

  constructor() {
    this.parser_.tbxsPacket = undefined;
    this.parser_.tbxsError = undefined;
    this.parser_.on('packet', keepPacket);
    this.parser_.on('error', keepError);
  }

  /**
   * mqtt-packet's own PUBLISH body parser (_parsePublish: topic, packet id, payload) on the frame,
   * without its framing: the Framer has cut the frame and decode.ts has checked its fixed header,
   * which parse() would read again through four states, a Packet and a 'packet' event. On XS
   * that framing cost 883 computrons a frame (bench:xs, piece rpcParse: 2,500 -> 1,617).
   * parse() is the way when a future mqtt-packet has no _parsePublish.
   */
  parsePublish(frame: Uint8Array, bodyStart: number): ParsedPublish | Error {
    const parser = this.parser_;
    if (parser._parsePublish === undefined) return this.parse_(frame) as ParsedPublish | Error;
    const packet = parser.packet;
    packet.cmd = 'publish';
    packet.qos = (frame[0] >> 1) & 3;
    // Read from the body's start to the frame's end: _pos and length in the frame's coordinates.
    packet.length = frame.length;
    parser._pos = bodyStart;
    parser.tbxsError = undefined;
    parser._list.append(frame as never);
    parser._parsePublish();
    parser._list.consume(frame.length);
    const topic = packet.topic as string;
    const payload = packet.payload as Uint8Array;
    // As _newPacket leaves it for parse(), and the parser holds no payload between messages.
    packet.topic = packet.payload = null;
    packet.length = -1;
    parser._pos = 0;
    return parser.tbxsError ?? { topic, payload, messageId: packet.messageId ?? 0 };
  }

  parseSuback(frame: Uint8Array): ParsedSuback | Error {
    return this.parse_(frame) as ParsedSuback | Error;
  }

  private parse_(frame: Uint8Array): unknown {
    const parser = this.parser_;
    parser.tbxsPacket = undefined;
    parser.tbxsError = undefined;
    // mqtt-packet's bl wants Node Buffers (or the XS shim's); a Uint8Array view shares the bytes.
    parser.parse(frame as never);
    const result = parser.tbxsError ?? parser.tbxsPacket;
    parser.tbxsPacket = undefined; // the parser holds no payload between messages
    if (result === undefined) return new Error('mqtt-packet produced no packet from a complete frame');
    return result;
  }
}

export const mqttPacketCodec: MqttCodec = deepFreeze({
  encodeConnect,
  encodeSubscribe: (id, filter, qos) => generate({ cmd: 'subscribe', messageId: id, subscriptions: [{ topic: filter, qos }] } as Packet) as Uint8Array,
  encodeUnsubscribe: (id, filter) => generate({ cmd: 'unsubscribe', messageId: id, unsubscriptions: [filter] } as Packet) as Uint8Array,
  encodeDisconnect: () => generate({ cmd: 'disconnect' } as Packet) as Uint8Array,
  createParser: () => new MqttPacketParser(),
});
