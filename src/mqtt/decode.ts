import { isValidUtf8 } from '../platform/utf8';
import type { PacketParser } from './codec-types';
import { malformed, MqttError } from './errors';

export type Inbound =
  | { type: 'connack'; sessionPresent: boolean; returnCode: number }
  | { type: 'publish'; topic: string; payload: Uint8Array; qos: 0 | 1; dup: boolean; retain: boolean; id: number }
  | { type: 'puback'; id: number }
  | { type: 'suback'; id: number; granted: number[] }
  | { type: 'unsuback'; id: number }
  /** QoS 2 acknowledgements: this client never starts a QoS 2 flow (see the session). */
  | { type: 'pubrec' | 'pubrel' | 'pubcomp'; id: number }
  | { type: 'pingresp' };

const CONNACK = 2;
const PUBLISH = 3;
const PUBACK = 4;
const PUBREC = 5;
const PUBREL = 6;
const PUBCOMP = 7;
const SUBACK = 9;
const UNSUBACK = 11;
const PINGRESP = 13;

const TYPE_NAMES: readonly string[] = Object.freeze([
  'reserved(0)',
  'CONNECT',
  'CONNACK',
  'PUBLISH',
  'PUBACK',
  'PUBREC',
  'PUBREL',
  'PUBCOMP',
  'SUBSCRIBE',
  'SUBACK',
  'UNSUBSCRIBE',
  'UNSUBACK',
  'PINGREQ',
  'PINGRESP',
  'DISCONNECT',
  'reserved(15)',
]);

const CONTROL_CHARACTERS = /[\u0001-\u001f\u007f-\u009f]/;
/** Whatever a topic check below looks for: U+0000, control characters, wildcards, U+FFFD. */
const SUSPECT_IN_TOPIC = /[\u0000-\u001f\u007f-\u009f#+\uFFFD]/;

/**
 * Checks one whole frame (from Framer) against what a server may send to a client that uses QoS 0
 * and 1 only, and decodes it. Anything else is an MqttError: 'malformed' for bytes that break the
 * spec, 'protocol' for a well-formed packet the server must not send. The caller then closes the
 * connection [MQTT-4.8.0-1].
 */
export function decodeFrame(frame: Uint8Array, parser: PacketParser): Inbound | MqttError {
  const type = frame[0] >> 4;
  const flags = frame[0] & 0x0f;
  const bodyStart = bodyOffset(frame);
  const bodyLength = frame.length - bodyStart;
  const name = TYPE_NAMES[type];

  if (type !== PUBLISH && flags !== (type === PUBREL ? 2 : 0)) {
    // Reserved flag bits are 0, PUBREL's 0010 [MQTT-2.2.2-1]; a wrong value closes [MQTT-2.2.2-2].
    if (type === CONNACK || (type >= PUBACK && type <= PUBCOMP) || type === SUBACK || type === UNSUBACK || type === PINGRESP) {
      return malformed(name + ' with reserved header flags ' + flags);
    }
  }

  switch (type) {
    case CONNACK: {
      if (bodyLength !== 2) return malformed('CONNACK remaining length ' + bodyLength + ', expected 2');
      const ackFlags = frame[bodyStart];
      if (ackFlags > 1) return malformed('CONNACK acknowledge flags ' + ackFlags + ' use reserved bits [MQTT-3.2.2-1]');
      const returnCode = frame[bodyStart + 1];
      if (returnCode > 5) return malformed('CONNACK return code ' + returnCode + ' is not defined in MQTT 3.1.1');
      // A refused connection must not claim a session [MQTT-3.2.2-4].
      if (returnCode !== 0 && ackFlags !== 0) return malformed('refused CONNACK with session present set');
      return { type: 'connack', sessionPresent: ackFlags === 1, returnCode };
    }
    case PUBACK:
    case UNSUBACK: {
      if (bodyLength !== 2) return malformed(name + ' remaining length ' + bodyLength + ', expected 2');
      const id = (frame[bodyStart] << 8) | frame[bodyStart + 1];
      if (id === 0) return malformed(name + ' with packet id 0 [MQTT-2.3.1-1]');
      return type === PUBACK ? { type: 'puback', id } : { type: 'unsuback', id };
    }
    case PUBREC:
    case PUBREL:
    case PUBCOMP: {
      // Well-formed, they are the session's to judge (it has no QoS 2 state); malformed, they close.
      if (bodyLength !== 2) return malformed(name + ' remaining length ' + bodyLength + ', expected 2');
      const id = (frame[bodyStart] << 8) | frame[bodyStart + 1];
      if (id === 0) return malformed(name + ' with packet id 0 [MQTT-2.3.1-1]');
      return { type: type === PUBREC ? 'pubrec' : type === PUBREL ? 'pubrel' : 'pubcomp', id };
    }
    case PINGRESP:
      if (bodyLength !== 0) return malformed('PINGRESP remaining length ' + bodyLength + ', expected 0');
      return { type: 'pingresp' };
    case SUBACK:
      return decodeSuback(frame, bodyStart, bodyLength, parser);
    case PUBLISH:
      return decodePublish(frame, flags, bodyStart, bodyLength, parser);
    case 0:
    case 15:
      return malformed('packet type ' + type + ' is reserved in MQTT 3.1.1');
    default:
      // CONNECT, SUBSCRIBE, UNSUBSCRIBE, PINGREQ, DISCONNECT go client to server only.
      return new MqttError('protocol', 'the server sent ' + name + ', which it must not send to this client');
  }
}

function decodeSuback(frame: Uint8Array, bodyStart: number, bodyLength: number, parser: PacketParser): Inbound | MqttError {
  if (bodyLength < 3) return malformed('SUBACK remaining length ' + bodyLength + ', expected at least 3');
  const id = (frame[bodyStart] << 8) | frame[bodyStart + 1];
  if (id === 0) return malformed('SUBACK with packet id 0 [MQTT-2.3.1-1]');
  for (let i = bodyStart + 2; i < frame.length; i++) {
    const code = frame[i];
    if (code > 2 && code !== 0x80) return malformed('SUBACK return code ' + code + ' is not allowed [MQTT-3.9.3-2]');
  }
  const parsed = parser.parseSuback(frame, bodyStart);
  if (parsed instanceof Error) return malformed('SUBACK: ' + parsed.message);
  return { type: 'suback', id: parsed.messageId, granted: parsed.granted };
}

function decodePublish(
  frame: Uint8Array,
  flags: number,
  bodyStart: number,
  bodyLength: number,
  parser: PacketParser,
): Inbound | MqttError {
  const qos = (flags >> 1) & 3;
  const dup = (flags & 0x08) !== 0;
  if (qos === 3) return malformed('PUBLISH with both QoS bits set [MQTT-3.3.1-4]');
  if (qos === 2) return new MqttError('protocol', 'PUBLISH with QoS 2; this client subscribes with QoS 0 or 1 only');
  if (qos === 0 && dup) return malformed('QoS 0 PUBLISH with DUP set [MQTT-3.3.1-2]');
  if (bodyLength < 2) return malformed('PUBLISH too short for a topic length');
  const topicLength = (frame[bodyStart] << 8) | frame[bodyStart + 1];
  const topicEnd = bodyStart + 2 + topicLength;
  const headerEnd = topicEnd + (qos > 0 ? 2 : 0);
  if (headerEnd > frame.length) return malformed('PUBLISH topic or packet id runs past the packet end');
  if (topicLength === 0) return malformed('PUBLISH with an empty topic name [MQTT-4.7.3-1]');
  let id = 0;
  if (qos > 0) {
    id = (frame[topicEnd] << 8) | frame[topicEnd + 1];
    if (id === 0) return malformed('QoS 1 PUBLISH with packet id 0 [MQTT-2.3.1-1]');
  }
  const parsed = parser.parsePublish(frame, bodyStart);
  if (parsed instanceof Error) return malformed('PUBLISH: ' + parsed.message);
  // The topic's text checks run on the decoded string with native indexOf: a JavaScript loop over
  // the bytes cost about 39 computrons a byte on XS (1,201 for a 31-byte RPC topic, measured on
  // xsnap). A topic of as many UTF-16 units as bytes, none of them U+FFFD, is plain ASCII (every
  // other byte is part of a multi-byte character or replaced by U+FFFD); any other gets the byte
  // check.
  const topic = parsed.topic;
  // One native test passes the common, plain topic; anything it flags gets each check by name.
  if (topic.length !== topicLength || SUSPECT_IN_TOPIC.test(topic)) {
    const problem = topicProblem(frame, topic, topicLength, bodyStart + 2, topicEnd);
    if (problem) return problem;
  }
  return {
    type: 'publish',
    topic,
    payload: parsed.payload,
    qos: qos as 0 | 1,
    dup,
    retain: (flags & 1) !== 0,
    id,
  };
}

/** What is wrong with a PUBLISH topic name (its bytes at [start, end) of the frame), if anything. */
function topicProblem(frame: Uint8Array, topic: string, topicLength: number, start: number, end: number): MqttError | undefined {
  if ((topic.length !== topicLength || topic.indexOf('\uFFFD') >= 0) && !isValidUtf8(frame, start, end, true)) {
    return malformed('PUBLISH topic name is not valid UTF-8 [MQTT-1.5.3-1]');
  }
  if (topic.indexOf('\u0000') >= 0) return malformed('PUBLISH topic name contains U+0000 [MQTT-1.5.3-2]');
  // Control characters SHOULD NOT be in a topic and a receiver MAY close [MQTT-1.5.3]: this one
  // does (a server that sends them is broken or not ThingsBoard).
  if (CONTROL_CHARACTERS.test(topic)) return new MqttError('protocol', 'PUBLISH topic name contains a control character (U+0001..U+001F or U+007F..U+009F)');
  if (topic.indexOf('#') >= 0 || topic.indexOf('+') >= 0) return malformed('PUBLISH topic name contains a wildcard [MQTT-3.3.2-2]');
  return undefined;
}

/** Where the variable header starts: after the type byte and the Remaining Length [MQTT-2.2.3]. */
export function bodyOffset(frame: Uint8Array): number {
  let i = 1;
  while (frame[i] & 0x80) i++;
  return i + 1;
}
