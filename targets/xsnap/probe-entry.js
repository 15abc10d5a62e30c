/**
 * Probe bundle for the xsnap worker: mqtt-packet (with targets/xs-shims) and two hand encoders,
 * exposed as globalThis.tbxsProbe. Built by rollup.config.mjs into dist/xsnap/probe.js; used by
 * test/xs/xsnap-worker.test.ts and targets/xsnap/bench.ts.
 */
import { generate, parser, writeToStream } from 'mqtt-packet';
import TextEncoder from 'text/encoder';

// Must run at module top level before any generate(): otherwise mqtt-packet builds a 65,536-entry
// number cache on the first call (DESIGN.md: ~30 M computrons, 450,000 slots on XS).
writeToStream.cacheNumbers = false;

const TOPIC = 'v1/devices/me/telemetry';
// 55 bytes: with the 23-byte topic and a packet id, an 84-byte QoS 1 PUBLISH.
const PAYLOAD = '{"temperature":21.5,"humidity":48.2,"ts":1700000000000}';

const CONNECT = {
  cmd: 'connect',
  protocolId: 'MQTT',
  protocolVersion: 4,
  clean: true,
  clientId: 'tbxs-esp32-0001',
  keepalive: 60,
  username: 'A1_TEST_TOKEN',
};

function publishPacket(messageId) {
  return { cmd: 'publish', topic: TOPIC, payload: PAYLOAD, qos: 1, messageId, retain: false, dup: false };
}

function hex(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += (bytes[i] < 16 ? '0' : '') + bytes[i].toString(16);
  return s;
}

let encoder = null;

/** Hand encoder, TextEncoder flavour: QoS 1 PUBLISH, remaining length < 16384. */
function handPublishTE(topic, payload, id) {
  if (!encoder) encoder = new TextEncoder();
  const t = encoder.encode(topic);
  const p = encoder.encode(payload);
  const remaining = 2 + t.length + 2 + p.length;
  const head = remaining < 128 ? 2 : 3;
  const out = new Uint8Array(head + remaining);
  out[0] = 0x32;
  if (remaining < 128) out[1] = remaining;
  else {
    out[1] = (remaining & 0x7f) | 0x80;
    out[2] = remaining >> 7;
  }
  let o = head;
  out[o++] = t.length >> 8;
  out[o++] = t.length & 0xff;
  out.set(t, o);
  o += t.length;
  out[o++] = id >> 8;
  out[o++] = id & 0xff;
  out.set(p, o);
  return out;
}

/**
 * UTF-8 in JavaScript, written into `target` at `offset`; returns the offset after the last byte.
 * Only here, to measure what a JavaScript codec costs on XS (src/platform/utf8.ts uses the native
 * TextEncoder for that reason). Lone surrogates become U+FFFD.
 */
function utf8Write(text, target, offset) {
  let o = offset;
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) {
      target[o++] = c;
      continue;
    }
    if (c < 0x800) {
      target[o++] = 0xc0 | (c >> 6);
      target[o++] = 0x80 | (c & 0x3f);
      continue;
    }
    const next = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
    if (c >= 0xd800 && c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
      i++;
      target[o++] = 0xf0 | (c >> 18);
      target[o++] = 0x80 | ((c >> 12) & 0x3f);
      target[o++] = 0x80 | ((c >> 6) & 0x3f);
      target[o++] = 0x80 | (c & 0x3f);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
    target[o++] = 0xe0 | (c >> 12);
    target[o++] = 0x80 | ((c >> 6) & 0x3f);
    target[o++] = 0x80 | (c & 0x3f);
  }
  return o;
}

/** Bytes `text` takes in UTF-8 (lone surrogates as U+FFFD, 3 bytes): the JavaScript way, for comparison. */
function utf8Length(text) {
  let length = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) length += 1;
    else if (c < 0x800) length += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      length += 4;
      i++;
    } else length += 3;
  }
  return length;
}

/** Hand encoder, pure JavaScript UTF-8 (utf8Length and utf8Write above). */
function handPublishJs(topic, payload, id) {
  const tl = utf8Length(topic);
  const pl = utf8Length(payload);
  const remaining = 2 + tl + 2 + pl;
  const head = remaining < 128 ? 2 : 3;
  const out = new Uint8Array(head + remaining);
  out[0] = 0x32;
  if (remaining < 128) out[1] = remaining;
  else {
    out[1] = (remaining & 0x7f) | 0x80;
    out[2] = remaining >> 7;
  }
  let o = head;
  out[o++] = tl >> 8;
  out[o++] = tl & 0xff;
  o = utf8Write(topic, out, o);
  out[o++] = id >> 8;
  out[o++] = id & 0xff;
  utf8Write(payload, out, o);
  return out;
}

function parseAll(bytes) {
  const packets = [];
  const errors = [];
  const p = parser({ protocolVersion: 4 });
  p.on('packet', (packet) => packets.push(packet));
  p.on('error', (error) => errors.push(String(error && error.message)));
  p.parse(bytes);
  return { packets, errors };
}

function plain(packet) {
  const out = {};
  for (const key of Object.keys(packet)) {
    const value = packet[key];
    out[key] = value instanceof Uint8Array ? { hex: hex(value) } : value;
  }
  return out;
}

/** Generates CONNECT and PUBLISH, parses them back (both at once: two packets in one chunk). */
function packets() {
  const connect = generate(CONNECT);
  const publish = generate(publishPacket(42));
  const both = new Uint8Array(connect.length + publish.length);
  both.set(connect, 0);
  both.set(publish, connect.length);
  const parsed = parseAll(both);
  return {
    connect: hex(connect),
    publish: hex(publish),
    handTE: hex(handPublishTE(TOPIC, PAYLOAD, 42)),
    handJs: hex(handPublishJs(TOPIC, PAYLOAD, 42)),
    parsed: parsed.packets.map(plain),
    errors: parsed.errors,
  };
}

// Each loop returns its last result, so rollup cannot drop the calls as dead code.
const bench = {
  noop(n) {
    let last = null;
    for (let i = 0; i < n; i++) last = (i & 0xffff) | 1;
    return last;
  },
  mqttPacket(n) {
    let last = null;
    for (let i = 0; i < n; i++) last = generate(publishPacket((i & 0xffff) | 1));
    return last.length;
  },
  handTE(n) {
    let last = null;
    for (let i = 0; i < n; i++) last = handPublishTE(TOPIC, PAYLOAD, (i & 0xffff) | 1);
    return last.length;
  },
  handJs(n) {
    let last = null;
    for (let i = 0; i < n; i++) last = handPublishJs(TOPIC, PAYLOAD, (i & 0xffff) | 1);
    return last.length;
  },
  // publishPacket() builds the object mqtt-packet needs: its share of mqttPacket.
  packetObject(n) {
    let last = null;
    for (let i = 0; i < n; i++) last = publishPacket((i & 0xffff) | 1);
    return last.qos;
  },
  // One parse of the 84-byte PUBLISH (a fresh parser each time, as codec.ts does not).
  parsePublish(n) {
    const bytes = generate(publishPacket(42));
    const p = parser({ protocolVersion: 4 });
    let last = null;
    p.on('packet', (packet) => {
      last = packet;
    });
    for (let i = 0; i < n; i++) p.parse(bytes);
    return last.length;
  },
};

function toArrayBuffer(value) {
  const bytes = new TextEncoder().encode(JSON.stringify(value));
  return bytes.buffer.byteLength === bytes.length ? bytes.buffer : bytes.slice().buffer;
}

globalThis.tbxsProbe = {
  packets,
  bench,
  /** JSON of packets() as an ArrayBuffer: the `e` reply. */
  packetsReply: () => toArrayBuffer(packets()),
};
