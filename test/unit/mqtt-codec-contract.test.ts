import { generate } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import type { ConnectFields, MqttCodec } from '../../src/mqtt/codec-types';
import { mqttPacketCodec } from '../../src/mqtt/mqtt-packet-codec';
import { mulberry32 } from '../support/random';
import { parsePacket as parseWithMqttPacket } from '../support/mqtt-parse';

/** mqtt-packet's own generate() is the reference every codec must match byte for byte. */
function referenceConnect(f: ConnectFields): Buffer {
  const p: Record<string, unknown> = { cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: f.cleanSession, clientId: f.clientId, keepalive: f.keepaliveSeconds };
  if (f.username !== undefined) p.username = f.username;
  if (f.password !== undefined) p.password = f.password;
  if (f.will) p.will = { ...f.will };
  return generate(p as never);
}

const connectFixtures: [string, ConnectFields][] = [
  ['token only', { clientId: 'tbxs-1', username: 'A1_TEST_TOKEN', keepaliveSeconds: 60, cleanSession: true }],
  ['basic credentials', { clientId: 'cid', username: 'user', password: 'pw', keepaliveSeconds: 30, cleanSession: true }],
  ['no credentials, empty client id', { clientId: '', keepaliveSeconds: 0, cleanSession: true }],
  ['will QoS 1 retained', { clientId: 'w', username: 'u', keepaliveSeconds: 65535, cleanSession: true, will: { topic: 'v1/devices/me/attributes', payload: '{"online":false}', qos: 1, retain: true } }],
  ['will QoS 0', { clientId: 'w', keepaliveSeconds: 10, cleanSession: false, will: { topic: 'w', payload: '', qos: 0, retain: false } }],
  ['non-ASCII fields', { clientId: 'датчик-1', username: 'tökén', password: '密码', keepaliveSeconds: 60, cleanSession: true }],
  ['long fields (2-byte remaining length)', { clientId: 'c'.repeat(100), username: 'u'.repeat(200), password: 'p'.repeat(300), keepaliveSeconds: 60, cleanSession: true }],
];

function codecContract(name: string, codec: MqttCodec): void {
  describe(name + ' codec contract', () => {
    for (const [what, fields] of connectFixtures) {
      it('CONNECT: ' + what, () => {
        const bytes = codec.encodeConnect(fields);
        expect(Buffer.from(bytes).equals(referenceConnect(fields))).toBe(true);
        const back = parseWithMqttPacket(bytes);
        expect(back).toMatchObject({ cmd: 'connect', protocolVersion: 4, clientId: fields.clientId, keepalive: fields.keepaliveSeconds, clean: fields.cleanSession });
      });
    }

    it('CONNECT: random field combinations', () => {
      const rand = mulberry32(42);
      const text = (max: number) => Array.from({ length: Math.floor(rand() * max) }, () => String.fromCharCode(0x20 + Math.floor(rand() * 0x5e))).join('');
      for (let i = 0; i < 300; i++) {
        const f: ConnectFields = { clientId: text(40), keepaliveSeconds: Math.floor(rand() * 65536), cleanSession: rand() < 0.8 };
        if (rand() < 0.7) f.username = text(300);
        if (f.username !== undefined && rand() < 0.5) f.password = text(50);
        if (rand() < 0.3) f.will = { topic: 'w/' + text(20), payload: text(200), qos: rand() < 0.5 ? 0 : 1, retain: rand() < 0.5 };
        expect(Buffer.from(codec.encodeConnect(f)).equals(referenceConnect(f))).toBe(true);
      }
    });

    it('SUBSCRIBE, UNSUBSCRIBE, DISCONNECT', () => {
      for (const [id, filter, qos] of [[1, 'v1/devices/me/rpc/request/+', 1], [65535, 'a', 0], [300, 'ü/#', 1]] as const) {
        const sub = generate({ cmd: 'subscribe', messageId: id, subscriptions: [{ topic: filter, qos }] } as never);
        expect(Buffer.from(codec.encodeSubscribe(id, filter, qos)).equals(sub)).toBe(true);
        const unsub = generate({ cmd: 'unsubscribe', messageId: id, unsubscriptions: [filter] } as never);
        expect(Buffer.from(codec.encodeUnsubscribe(id, filter)).equals(unsub)).toBe(true);
      }
      expect(Array.from(codec.encodeDisconnect())).toEqual([0xe0, 0]);
    });

    it('parses PUBLISH and SUBACK frames like mqtt-packet', () => {
      const rand = mulberry32(7);
      const parser = codec.createParser();
      for (let i = 0; i < 500; i++) {
        const qos = rand() < 0.5 ? 0 : 1;
        const topic = 'v1/devices/me/rpc/request/' + Math.floor(rand() * 1e6) + (rand() < 0.2 ? '/é' : '');
        const payload = Buffer.from(Array.from({ length: Math.floor(rand() * 400) }, () => Math.floor(rand() * 256)));
        const messageId = 1 + Math.floor(rand() * 65535);
        const frame = generate({ cmd: 'publish', topic, payload, qos, messageId: qos ? messageId : undefined } as never);
        const bodyStart = frame.length - (2 + Buffer.byteLength(topic) + (qos ? 2 : 0) + payload.length);
        const parsed = parser.parsePublish(frame, bodyStart);
        expect(parsed).not.toBeInstanceOf(Error);
        const p = parsed as { topic: string; payload: Uint8Array; messageId: number };
        expect(p.topic).toBe(topic);
        expect(Buffer.from(p.payload).equals(payload)).toBe(true);
        if (qos) expect(p.messageId).toBe(messageId);
      }
      const suback = generate({ cmd: 'suback', messageId: 513, granted: [1, 0, 128] } as never);
      expect(parser.parseSuback(suback, 2)).toMatchObject({ messageId: 513, granted: [1, 0, 128] });
    });
  });
}

codecContract('mqtt-packet', mqttPacketCodec);
