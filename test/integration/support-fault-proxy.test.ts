import { connect as netConnect, type Socket } from 'node:net';
import { generate, type Packet } from 'mqtt-packet';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startAedes, type AedesHandle } from '../support/aedes-broker';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy';
import { MqttFramer, PacketType, decodeRemainingLength, packetType } from '../support/mqtt-frames';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitUntil(cond: () => boolean, timeoutMs = 2000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** A raw MQTT client: sends packets built by mqtt-packet, collects frames with our framer. */
class RawClient {
  readonly frames: Buffer[] = [];
  readonly raw: Buffer[] = [];
  ended = false;
  error: NodeJS.ErrnoException | null = null;
  closed = false;
  private readonly framer = new MqttFramer();

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.raw.push(chunk);
      try {
        this.frames.push(...this.framer.push(chunk));
      } catch {
        // corrupted stream: raw bytes are still recorded
      }
    });
    socket.on('end', () => {
      this.ended = true;
    });
    socket.on('error', (err) => {
      this.error = err;
    });
    socket.on('close', () => {
      this.closed = true;
    });
  }

  static connect(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = netConnect({ host: '127.0.0.1', port });
      socket.once('connect', () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  send(packet: Packet): void {
    this.socket.write(generate(packet));
  }

  async mqttConnect(clientId: string): Promise<void> {
    this.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 0, clientId });
    await this.waitFor((fs) => fs.some((f) => packetType(f) === PacketType.CONNACK));
  }

  async subscribe(topic: string, qos: 0 | 1 = 0): Promise<void> {
    this.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos }] });
    await this.waitFor((fs) => fs.some((f) => packetType(f) === PacketType.SUBACK));
  }

  ofType(type: number): Buffer[] {
    return this.frames.filter((f) => packetType(f) === type);
  }

  waitFor(done: (frames: Buffer[]) => boolean, timeoutMs = 2000): Promise<void> {
    return waitUntil(() => done(this.frames), timeoutMs, 'frames');
  }

  waitUntil(done: () => boolean, timeoutMs = 2000): Promise<void> {
    return waitUntil(done, timeoutMs);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Topic and payload of a PUBLISH frame (QoS 0: no packet id). */
function publishPayload(frame: Buffer): string {
  const start = 1 + decodeRemainingLength(frame, 1)!.bytes;
  const topicLen = frame.readUInt16BE(start);
  return frame.subarray(start + 2 + topicLen).toString('utf8');
}

let broker: AedesHandle;
let publisher: MqttClient;
const proxies: FaultProxy[] = [];
const raws: RawClient[] = [];
const clients: MqttClient[] = [];

async function proxy(seed = 1): Promise<FaultProxy> {
  const p = await startFaultProxy({ targetPort: broker.port, seed });
  proxies.push(p);
  return p;
}
async function raw(port: number, id: string): Promise<RawClient> {
  const r = await RawClient.connect(port);
  raws.push(r);
  await r.mqttConnect(id);
  return r;
}

beforeAll(async () => {
  broker = await startAedes();
  publisher = await connectAsync(broker.url, { clientId: 'direct-publisher', reconnectPeriod: 0 });
});
afterEach(async () => {
  for (const r of raws.splice(0)) r.destroy();
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  await Promise.all(proxies.splice(0).map((p) => p.close()));
  broker.published.length = 0;
});
afterAll(async () => {
  await publisher.endAsync(true);
  await broker.close();
});

describe('fault proxy', () => {
  it('forwards MQTT.js traffic both ways and counts it', async () => {
    const p = await proxy();
    const client = await connectAsync(p.url, { clientId: 'via-proxy', reconnectPeriod: 0 });
    clients.push(client);
    await client.publishAsync('t/plain', 'hello', { qos: 1 });
    const [got] = await broker.waitForPublished(1, (m) => m.topic === 't/plain');
    expect(got!.payload.toString()).toBe('hello');
    expect(got!.clientId).toBe('via-proxy');
    expect(p.counters.accepted).toBe(1);
    expect(p.counters.active).toBe(1);
    expect(p.counters.bytesToBroker).toBeGreaterThan(20);
    expect(p.counters.bytesToClient).toBeGreaterThanOrEqual(8); // CONNACK + PUBACK
  });

  it('blackhole forwards nothing either way and drops what arrives meanwhile', async () => {
    const p = await proxy();
    const r = await raw(p.port, 'bh');
    p.blackhole(true);
    r.send({ cmd: 'pingreq' });
    await sleep(100);
    expect(r.ofType(PacketType.PINGRESP)).toHaveLength(0);
    expect(p.counters.droppedBytes).toBe(2);
    expect(r.closed).toBe(false);
    p.blackhole(false);
    r.send({ cmd: 'pingreq' });
    await r.waitFor((fs) => fs.some((f) => packetType(f) === PacketType.PINGRESP));
    await sleep(30);
    expect(r.ofType(PacketType.PINGRESP)).toHaveLength(1);
  });

  it('blackhole drops broker -> client packets whole, keeping the stream framed', async () => {
    const p = await proxy();
    const r = await raw(p.port, 'bh2');
    await r.subscribe('t/bh');
    p.blackhole(true);
    await publisher.publishAsync('t/bh', 'lost');
    await sleep(50);
    p.blackhole(false);
    await publisher.publishAsync('t/bh', 'kept');
    await r.waitFor(() => r.ofType(PacketType.PUBLISH).length >= 1);
    expect(r.ofType(PacketType.PUBLISH).map(publishPayload)).toEqual(['kept']);
  });

  it('splitWrites delivers every packet intact in both directions', async () => {
    const p = await proxy(7);
    p.splitWrites(true, 3);
    const client = await connectAsync(p.url, { clientId: 'split', reconnectPeriod: 0 });
    clients.push(client);
    const received: string[] = [];
    client.on('message', (_t, payload) => received.push(payload.toString()));
    await client.subscribeAsync('t/split/echo', { qos: 1 });
    const payloads = Array.from({ length: 20 }, (_, i) => `m${i}-${'x'.repeat(i * 37)}`);
    for (const payload of payloads) await client.publishAsync('t/split', payload, { qos: 1 });
    const got = await broker.waitForPublished(20, (m) => m.topic === 't/split');
    expect(got.map((m) => m.payload.toString())).toEqual(payloads);
    for (const payload of payloads) await publisher.publishAsync('t/split/echo', payload, { qos: 1 });
    await waitUntil(() => received.length >= 20, 2000, 'echoes');
    expect(received).toEqual(payloads);
    // The bytes really arrive in small pieces.
    const r = await raw(p.port, 'split-raw');
    await r.subscribe('t/split/raw');
    const chunksBefore = r.raw.length;
    await publisher.publishAsync('t/split/raw', 'y'.repeat(300));
    await r.waitFor(() => r.ofType(PacketType.PUBLISH).length >= 1);
    expect(publishPayload(r.ofType(PacketType.PUBLISH)[0]!)).toBe('y'.repeat(300));
    expect(r.raw.length - chunksBefore).toBeGreaterThanOrEqual(5);
  });

  it('duplicatePackets sends each selected packet twice, back to back', async () => {
    const p = await proxy();
    const r = await raw(p.port, 'dup');
    await r.subscribe('t/dup');
    p.duplicatePackets(true, 1, [PacketType.PUBLISH]);
    for (const m of ['a', 'b', 'c']) await publisher.publishAsync('t/dup', m);
    await r.waitFor(() => r.ofType(PacketType.PUBLISH).length >= 6);
    await sleep(30);
    expect(r.ofType(PacketType.PUBLISH).map(publishPayload)).toEqual(['a', 'a', 'b', 'b', 'c', 'c']);
    expect(p.counters.duplicated).toBe(3);
    // Other types are not duplicated.
    r.send({ cmd: 'pingreq' });
    await r.waitFor(() => r.ofType(PacketType.PINGRESP).length >= 1);
    await sleep(30);
    expect(r.ofType(PacketType.PINGRESP)).toHaveLength(1);
  });

  it('reorderPackets swaps adjacent packets and releases a lone one after holdMs', async () => {
    const p = await proxy();
    const r = await raw(p.port, 'reorder');
    await r.subscribe('t/re');
    p.reorderPackets(true, { types: [PacketType.PUBLISH], holdMs: 200 });
    for (const m of ['1', '2', '3', '4']) await publisher.publishAsync('t/re', m);
    await r.waitFor(() => r.ofType(PacketType.PUBLISH).length >= 4);
    expect(r.ofType(PacketType.PUBLISH).map(publishPayload)).toEqual(['2', '1', '4', '3']);
    expect(p.counters.reordered).toBe(2);
    await publisher.publishAsync('t/re', '5');
    await sleep(80);
    expect(r.ofType(PacketType.PUBLISH)).toHaveLength(4); // held
    await r.waitFor(() => r.ofType(PacketType.PUBLISH).length >= 5);
    expect(publishPayload(r.ofType(PacketType.PUBLISH)[4]!)).toBe('5');
  });

  it('delay adds latency per direction', async () => {
    const p = await proxy();
    const r = await raw(p.port, 'delay');
    p.delay({ toBroker: 60, toClient: 60 });
    const t0 = Date.now();
    r.send({ cmd: 'pingreq' });
    await r.waitFor(() => r.ofType(PacketType.PINGRESP).length >= 1);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(115);
  });

  it('corrupt flips bytes broker -> client, reproducibly for a seed', async () => {
    const runs: Buffer[] = [];
    for (let i = 0; i < 2; i++) {
      const p = await proxy(1234);
      p.corrupt(0.5);
      const r = await RawClient.connect(p.port);
      raws.push(r);
      r.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 0, clientId: 'c' });
      await r.waitUntil(() => Buffer.concat(r.raw).length >= 4);
      runs.push(Buffer.concat(r.raw));
      expect(p.counters.corruptedBytes).toBeGreaterThan(0);
    }
    expect(runs[0]).toEqual(runs[1]);
    expect(runs[0]!.equals(Buffer.from([0x20, 0x02, 0x00, 0x00]))).toBe(false);
  });

  it('closeAll closes both sides with a FIN', async () => {
    const p = await proxy();
    const r = await raw(p.port, 'fin');
    const before = broker.connections();
    p.closeAll();
    await r.waitUntil(() => r.closed);
    expect(r.ended).toBe(true);
    expect(r.error).toBeNull();
    await r.waitUntil(() => broker.connections() === before - 1 && p.counters.active === 0);
  });

  it('reset closes both sides with an RST', async () => {
    const p = await proxy();
    const r = await raw(p.port, 'rst');
    const before = broker.connections();
    p.reset();
    await r.waitUntil(() => r.closed);
    expect(r.error?.code).toBe('ECONNRESET');
    await r.waitUntil(() => broker.connections() === before - 1 && p.counters.active === 0);
  });

  it('refuse accepts then closes new connections; existing ones are untouched', async () => {
    const p = await proxy();
    const kept = await raw(p.port, 'kept');
    p.refuse(true);
    const r = await RawClient.connect(p.port);
    raws.push(r);
    await r.waitUntil(() => r.closed);
    expect(r.frames).toHaveLength(0);
    expect(p.counters.refused).toBe(1);
    expect(p.counters.accepted).toBe(2);
    kept.send({ cmd: 'pingreq' });
    await kept.waitFor(() => kept.ofType(PacketType.PINGRESP).length >= 1);
    p.refuse(false);
    await raw(p.port, 'again');
    expect(p.counters.active).toBe(2);
  });

  it('resets the client when the broker cannot be reached', async () => {
    const p = await startFaultProxy({ targetPort: (await proxy()).port, seed: 1 });
    proxies.push(p);
    const dead = proxies[proxies.length - 2]!;
    dead.refuse(true, 'reset');
    const r = await RawClient.connect(p.port);
    raws.push(r);
    await r.waitUntil(() => r.closed);
    expect(r.error?.code).toBe('ECONNRESET');
  });

  it('close() releases every socket', async () => {
    const p = await startFaultProxy({ targetPort: broker.port });
    const r = await RawClient.connect(p.port);
    raws.push(r);
    await r.mqttConnect('closing');
    await p.close();
    await p.close();
    await r.waitUntil(() => r.closed);
    expect(p.counters.active).toBe(0);
  });
});
