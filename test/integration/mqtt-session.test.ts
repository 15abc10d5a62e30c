import * as net from 'node:net';
import { generate } from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import type { MqttError } from '../../src/mqtt/errors';
import { MqttSession, type MqttSessionOptions } from '../../src/mqtt/session';
import type { Connector } from '../../src/platform/socket';
import { nodeClock } from '../../targets/host/platform/node-clock';
import { NodeConnector } from '../../targets/host/platform/node-connector';
import { startAedes } from '../support/aedes-broker';
import { startFaultProxy } from '../support/fault-proxy';
import { recordTopic, startMosquitto } from '../support/mosquitto';
import { RecordingConnector } from '../support/recording-connector';
import { sleep, waitFor } from '../support/wait';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function session(port: number, extra: Partial<MqttSessionOptions> = {}, connector: Connector = new NodeConnector()) {
  const errors: MqttError[] = [];
  const s = new MqttSession({
    connector,
    clock: nodeClock,
    host: '127.0.0.1',
    port,
    clientId: 'tbxs-' + Math.random().toString(16).slice(2),
    keepaliveSeconds: 5,
    reconnect: { initialMs: 50, maxMs: 400 },
    ...extra,
  });
  s.events.on('error', (e) => errors.push(e));
  cleanups.push(() => s.close());
  return { s, errors };
}

/** A scripted raw server: answers CONNECT with CONNACK, then runs `script` on the socket. */
async function rawServer(script: (socket: net.Socket, connection: number) => void) {
  let connection = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    const n = connection++;
    socket.once('data', () => {
      socket.write(Buffer.from([0x20, 2, 0, 0]));
      script(socket, n);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  );
  return { port, connections: () => connection };
}

describe('MqttSession against aedes', () => {
  it('publishes QoS 0 and 1, subscribes and receives', async () => {
    const broker = await startAedes();
    cleanups.push(() => broker.close());
    const { s } = session(broker.port);
    const got: string[] = [];
    s.events.on('message', (topic, payload) => void got.push(topic + ' ' + Buffer.from(payload).toString()));
    s.start();
    await s.subscribeAsync('cmd/+', 1);
    await s.publishAsync('cmd/a', 'hello', { qos: 1 });
    await s.publishAsync('data', 'q0', { qos: 0 });
    await waitFor(() => got.length === 1 && broker.published.length === 2, 'round trip');
    expect(got).toEqual(['cmd/a hello']);
    // aedes reports QoS 1 after its persistence step, so the two may swap: compare as a set.
    expect(broker.published.map((p) => p.topic + ':' + p.qos).sort()).toEqual(['cmd/a:1', 'data:0']);
  });

  it('still works when every byte arrives alone (proxy splits writes to 1 byte)', async () => {
    const broker = await startAedes();
    cleanups.push(() => broker.close());
    const proxy = await startFaultProxy({ targetPort: broker.port, seed: 1 });
    cleanups.push(() => proxy.close());
    proxy.splitWrites(true, 1);
    const { s, errors } = session(proxy.port);
    const got: string[] = [];
    s.events.on('message', (_t, payload) => void got.push(Buffer.from(payload).toString()));
    s.start();
    await s.subscribeAsync('echo', 1);
    for (let i = 0; i < 20; i++) await s.publishAsync('echo', 'm' + i + '-' + 'x'.repeat(i * 10), { qos: 1 });
    await waitFor(() => got.length === 20, '20 echoes');
    expect(got.map((g) => g.split('-')[0])).toEqual(Array.from({ length: 20 }, (_, i) => 'm' + i));
    expect(errors).toEqual([]);
  });
});

describe('MqttSession against hostile or odd servers', () => {
  it('takes 1,000 PUBLISH packets arriving in one TCP chunk', async () => {
    const frames: Buffer[] = [];
    for (let i = 1; i <= 1000; i++) frames.push(generate({ cmd: 'publish', topic: 'bulk', payload: String(i), qos: 1, messageId: i } as never));
    const acks: number[] = [];
    const server = await rawServer((socket) => {
      setTimeout(() => socket.write(Buffer.concat(frames)), 20);
      let pending = Buffer.alloc(0);
      socket.on('data', (d) => {
        pending = Buffer.concat([pending, d]);
        while (pending.length >= 4 && pending[0] === 0x40) {
          acks.push(pending.readUInt16BE(2));
          pending = pending.subarray(4);
        }
      });
    });
    const { s, errors } = session(server.port, { maxPendingInbound: 4 });
    const got: number[] = [];
    s.events.on('message', (_t, p) => void got.push(Number(Buffer.from(p).toString())));
    s.start();
    await waitFor(() => acks.length === 1000, '1000 PUBACKs');
    expect(got).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    expect(acks).toEqual(got);
    expect(errors).toEqual([]);
  });

  it('refuses an oversized packet before its body arrives and reconnects', async () => {
    const server = await rawServer((socket, n) => {
      // Announce a 10 MB PUBLISH and send only its first bytes: the client must not wait for the rest.
      if (n === 0) socket.write(Buffer.from([0x30, 0x80, 0xad, 0xe2, 0x04, 0, 1, 0x61]));
    });
    const { s, errors } = session(server.port);
    s.start();
    await waitFor(() => server.connections() >= 2 && s.connected, 'reconnect');
    expect(errors[0].code).toBe('packet-too-large');
  });

  it('closes on malformed packets, reconnects with a fresh parser and keeps working', async () => {
    const bad = [
      Buffer.from([0x32, 5, 0, 1, 0x61, 0, 0]), // QoS 1 with id 0
      Buffer.from([0x30, 3, 0, 0, 0x78]), // empty topic
      Buffer.from([0x30, 4, 0, 2, 0xc3, 0x28]), // invalid UTF-8 topic
      Buffer.from([0x20, 2, 0, 0]), // second CONNACK
      Buffer.from([0x60, 2, 0, 1]), // PUBREL without its 0010 flags (a well-formed one is answered)
      Buffer.from([0x20, 2, 1, 0]), // CONNACK claiming a session for a clean-session CONNECT
    ];
    const server = await rawServer((socket, n) => {
      if (n < bad.length) setTimeout(() => socket.write(bad[n]), 5);
      else setTimeout(() => socket.write(generate({ cmd: 'publish', topic: 'fine', payload: 'ok', qos: 0 } as never)), 5);
    });
    const { s, errors } = session(server.port);
    const got: string[] = [];
    s.events.on('message', (t) => void got.push(t));
    s.start();
    await waitFor(() => got.length === 1, 'a good message after the bad ones', 10_000);
    expect(errors.slice(0, 6).map((e) => e.code)).toEqual(['malformed', 'malformed', 'malformed', 'protocol', 'malformed', 'protocol']);
  });
});

describe('MqttSession against Mosquitto', () => {
  it('loses no QoS 1 message when the broker is killed and restarted mid-stream; resends carry DUP', async () => {
    const broker = await startMosquitto();
    cleanups.push(() => broker.stop());
    const recorder = await recordTopic(broker.port, 'stream');
    cleanups.push(() => recorder.close());
    // The device goes through a proxy that refuses it until the recorder has resubscribed: a
    // Mosquitto without persistence drops what arrives while nobody subscribes.
    const proxy = await startFaultProxy({ targetPort: broker.port, seed: 11 });
    cleanups.push(() => proxy.close());
    const connector = new RecordingConnector();
    const { s } = session(proxy.port, { maxQueuedMessages: 500, maxQueuedBytes: 64_000, maxInflight: 20 }, connector);
    s.start();
    const acked: number[] = [];
    const failed: string[] = [];
    const publishSome = (from: number, count: number) => {
      for (let i = from; i < from + count; i++) s.publish('stream', String(i), { qos: 1 }, (e) => (e ? failed.push(e.code) : acked.push(i)));
    };
    await waitFor(() => s.connected, 'connect');
    publishSome(0, 150);
    // Slow PUBACKs so that some publishes are surely in flight when the broker dies.
    proxy.delay({ toClient: 30 });
    await waitFor(() => acked.length > 20 && s.stats.inflight > 0, 'some acks and some in flight');
    proxy.refuse(true);
    await broker.kill('SIGKILL');
    publishSome(150, 150); // while the broker is down: queued
    await sleep(200);
    await broker.restart();
    await recorder.waitForSubscriptions(2, 10_000);
    proxy.refuse(false);
    await waitFor(() => acked.length === 300, 'all 300 acknowledged', 15_000);
    expect(failed).toEqual([]);
    // Every message published after the recorder resubscribed arrives; those in flight at the kill
    // were resent. What the broker acknowledged before the kill reached the recorder before the kill.
    // The broker forwards to the recorder independently of the PUBACK it sends the publisher: the
    // last ones may still be on their way (seen once under a loaded full suite: 299 acked, not yet
    // recorded); a message really lost still fails the wait and the check below.
    await waitFor(() => acked.every((i) => recorder.payloads().includes(String(i))), 'the recorder to get every acknowledged message', 5000).catch(() => undefined);
    const received = new Set(recorder.payloads().map(Number));
    const lost = acked.filter((i) => !received.has(i));
    expect(lost).toEqual([]);
    const resent = connector.publishes().filter((p) => p.connection > 0 && p.dup);
    expect(resent.length).toBeGreaterThan(0);
    for (const r of resent) {
      const original = connector.publishes().find((p) => p.connection === 0 && p.payload === r.payload);
      expect(original?.id).toBe(r.id);
    }
    const firstConnPayloads = new Set(connector.publishes().filter((p) => p.connection === 0).map((p) => p.payload));
    const notDupButRepeated = connector.publishes().filter((p) => p.connection > 0 && !p.dup && firstConnPayloads.has(p.payload));
    expect(notDupButRepeated).toEqual([]);
  }, 40_000);

  it('survives connection resets during a publish stream with nothing lost', async () => {
    const broker = await startMosquitto();
    cleanups.push(() => broker.stop());
    const recorder = await recordTopic(broker.port, 'reset');
    cleanups.push(() => recorder.close());
    const proxy = await startFaultProxy({ targetPort: broker.port, seed: 7 });
    cleanups.push(() => proxy.close());
    const { s } = session(proxy.port, { maxQueuedMessages: 400, maxQueuedBytes: 64_000 });
    s.start();
    const acked: number[] = [];
    for (let i = 0; i < 400; i++) s.publish('reset', String(i), { qos: 1 }, (e) => e || acked.push(i));
    for (let k = 0; k < 3; k++) {
      await waitFor(() => acked.length > 50 * (k + 1), 'progress before reset ' + k);
      proxy.reset();
    }
    await waitFor(() => acked.length === 400, 'all acknowledged', 15_000);
    await waitFor(() => new Set(recorder.payloads()).size === 400, 'all received', 5000);
  }, 30_000);

  it('detects a broker that stops answering (PINGRESP timeout) and reconnects when it answers again', async () => {
    const broker = await startMosquitto();
    cleanups.push(() => broker.stop());
    const proxy = await startFaultProxy({ targetPort: broker.port, seed: 3 });
    cleanups.push(() => proxy.close());
    const { s, errors } = session(proxy.port, { keepaliveSeconds: 1 });
    let connects = 0;
    s.events.on('connect', () => void connects++);
    s.start();
    await waitFor(() => s.connected, 'connect');
    proxy.blackhole(true);
    const t0 = Date.now();
    await waitFor(() => errors.some((e) => e.code === 'keepalive-timeout'), 'keepalive timeout', 5000);
    const detectedMs = Date.now() - t0;
    expect(detectedMs).toBeLessThanOrEqual(1500 + 1000);
    proxy.blackhole(false);
    await waitFor(() => connects >= 2, 'reconnect after the link returns', 5000);
  }, 15_000);
});
