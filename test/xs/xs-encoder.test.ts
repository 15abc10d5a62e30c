/**
 * The hand PUBLISH encoder on the real XS engine: the ASCII fast path writes strings straight into
 * the packet with the native encodeInto, anything else falls back to encode + copy. Both must give
 * Node's bytes (and mqtt-packet's, test/unit/mqtt-codec.test.ts), whatever XS's encodeInto counts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePublish, setPacketId } from '../../src/mqtt/publish-encoder';
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

describe('encodePublish on XS', () => {
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
});
