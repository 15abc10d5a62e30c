/**
 * The codec's engine-sensitive parts on the real XS engine, held against Node:
 * - the hand PUBLISH encoder: the ASCII fast path writes strings straight into the packet with
 *   the native encodeInto, anything else falls back to encode + copy. Both must give Node's bytes
 *   (and mqtt-packet's, test/unit/mqtt-codec.test.ts), whatever XS's encodeInto counts;
 * - decodeFrame (mqtt-packet's parser on the XS shims, the topic checks with XS's strings and
 *   regular expressions): the same verdict as on Node for every frame of
 *   test/unit/mqtt-decode.test.ts's kinds, the protocol edges included.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeFrame } from '../../src/mqtt/decode';
import { mqttPacketCodec } from '../../src/mqtt/mqtt-packet-codec';
import { encodePublish, setPacketId } from '../../src/mqtt/publish-encoder';
import { generate } from 'mqtt-packet';
import { buildXsFirmware } from '../../targets/xsnap/bundle';
import { XsWorker } from '../../targets/xsnap/worker';

const CASES: [string, string, 0 | 1][] = [
  ['v1/devices/me/telemetry', '{"ts":1,"values":{"t":21.5}}', 1],
  ['v1/devices/me/telemetry', '{"t":21.5}', 0],
  ['v1/devices/me/rpc/response/7', '', 1],
  ['v1/devices/me/telemetry', 'x'.repeat(200), 1],
  ['v1/devices/me/telemetry', 'y'.repeat(20_000), 0],
  ['v1/devices/me/telemetry', '{"t":"21.5°C"}', 1],
  ['v1/devices/me/telemetry', '{"name":"датчик","e":"😀"}', 1],
  ['v1/devices/me/telemetry', '😀', 0],
  ['v1/devices/me/telemetry', 'a\u0000b', 1],
  ['温度/ünï', '{"a":1}', 1],
  ['t', 'é', 1],
];

describe('the codec on XS', () => {
  let worker: XsWorker;
  beforeAll(async () => {
    worker = await XsWorker.start({ stdout: 'ignore', name: 'tbxs-encoder' });
    await worker.evaluate(await buildXsFirmware('bench'));
  }, 60_000);
  afterAll(async () => {
    await worker?.close();
  });

  it('writes the bytes Node writes, on the fast path and the fallback', async () => {
    const reply = (await worker.evaluate(`tbxsBench.encodeSamples(${JSON.stringify(JSON.stringify(CASES))})`)).reply;
    const xs = JSON.parse(new TextDecoder().decode(reply)) as string[];
    const node = CASES.map(([topic, payload, qos]) => {
      const e = encodePublish(topic, payload, qos, false);
      if (qos) setPacketId(e.bytes, e.idOffset, 0x1234);
      return Buffer.from(e.bytes).toString('hex') + ':' + e.idOffset;
    });
    expect(xs).toEqual(node);
  });

  it('decodes and refuses frames as Node does', async () => {
    const publish = (topic: string, qos: 0 | 1 = 1) => Array.from(generate({ cmd: 'publish', topic, payload: '{}', qos, messageId: qos ? 5 : undefined } as never));
    const frames: number[][] = [
      publish('v1/devices/me/rpc/request/1'),
      publish('tést/温度/\u{1F600}', 0),
      publish('a/\uFFFD/b'),
      publish('a\u00a0b'),
      publish('a\u0001'),
      publish('a\u001fb'),
      publish('a\u007f'),
      publish('a\u0080'),
      publish('a\u009f'),
      publish('a+'),
      [0x30, 4, 0, 2, 0x61, 0x00],
      [0x30, 4, 0, 2, 0x61, 0xff],
      [0x30, 5, 0, 3, 0xed, 0xa0, 0x80],
      [0x20, 2, 0, 0],
      [0x20, 2, 1, 0],
      [0x40, 2, 0, 1],
      [0x50, 2, 0, 9],
      [0x62, 2, 0, 9],
      [0x60, 2, 0, 9],
      [0x70, 2, 0, 0],
      [0x90, 3, 0, 1, 0x80],
      [0xd0, 0],
      [0xe0, 0],
    ];
    const reply = (await worker.evaluate(`tbxsBench.decodeSamples(${JSON.stringify(JSON.stringify(frames))})`)).reply;
    const xs = JSON.parse(new TextDecoder().decode(reply)) as string[];
    const node = frames.map((bytes) => {
      const r = decodeFrame(Uint8Array.from(bytes), mqttPacketCodec.createParser()) as { type?: string; topic?: string; code?: string; id?: number };
      return r instanceof Error ? 'error:' + r.code : r.type + ':' + (r.topic ?? r.id ?? '');
    });
    expect(xs).toEqual(node);
    // And the verdicts are the ones meant (not merely equal).
    expect(node.slice(4, 9)).toEqual(['error:protocol', 'error:protocol', 'error:protocol', 'error:protocol', 'error:protocol']);
    expect(node[3]).toBe('publish:a\u00a0b');
    expect(node.slice(16, 20)).toEqual(['pubrec:9', 'pubrel:9', 'error:malformed', 'error:malformed']);
  });
});
