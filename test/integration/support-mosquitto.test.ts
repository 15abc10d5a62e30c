import { createServer } from 'node:net';
import { existsSync } from 'node:fs';
import { connectAsync } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy';
import { findMosquitto, recordTopic, startMosquitto, type MosquittoHandle } from '../support/mosquitto';
import { freePort } from '../support/ports';

let broker: MosquittoHandle;
let proxy: FaultProxy;

beforeAll(async () => {
  broker = await startMosquitto();
  proxy = await startFaultProxy({ targetPort: broker.port, seed: 3 });
});
afterAll(async () => {
  await proxy?.close();
  await broker?.stop();
});

describe('freePort', () => {
  it('returns a port that can be bound on 127.0.0.1', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    await new Promise((resolve) => server.close(resolve));
  });
});

describe('mosquitto', () => {
  it('is found and runs on a free port with a readable log', () => {
    expect(existsSync(findMosquitto())).toBe(true);
    expect(broker.running).toBe(true);
    expect(broker.pid).toBeGreaterThan(0);
    expect(broker.url).toBe(`mqtt://127.0.0.1:${broker.port}`);
    expect(broker.logTail()).toMatch(/mosquitto version .* running/);
  });

  it('receives what an MQTT.js client publishes through the fault proxy', async () => {
    const recorder = await recordTopic(broker.port, 'sup/via-proxy/#');
    const client = await connectAsync(proxy.url, { clientId: 'mq-via-proxy', reconnectPeriod: 0 });
    try {
      await client.publishAsync('sup/via-proxy/a', 'one', { qos: 1 });
      await client.publishAsync('sup/via-proxy/b', 'two', { qos: 0 });
      await recorder.waitForMessages(2);
      expect(recorder.payloads()).toEqual(['one', 'two']);
      expect(recorder.messages.map((m) => m.topic)).toEqual(['sup/via-proxy/a', 'sup/via-proxy/b']);
      expect(recorder.messages[0]!.qos).toBe(1);
      expect(proxy.counters.bytesToBroker).toBeGreaterThan(0);
    } finally {
      await client.endAsync(true);
      await recorder.close();
    }
  });

  it('survives kill -9 and restarts on the same port; the recorder resubscribes', async () => {
    const recorder = await recordTopic(broker.port, 'sup/restart');
    const port = broker.port;
    try {
      await broker.kill();
      expect(broker.running).toBe(false);
      await broker.restart();
      expect(broker.port).toBe(port);
      expect(broker.running).toBe(true);
      await recorder.waitForSubscriptions(2);
      expect(recorder.connects).toBeGreaterThanOrEqual(2);
      const client = await connectAsync(broker.url, { clientId: 'after-restart', reconnectPeriod: 0 });
      await client.publishAsync('sup/restart', 'after', { qos: 1 });
      await client.endAsync();
      await recorder.waitForMessages(1);
      expect(recorder.payloads()).toEqual(['after']);
    } finally {
      await recorder.close();
    }
  });

  it('an MQTT.js client reconnects through the proxy after the broker restarts', async () => {
    const recorder = await recordTopic(broker.port, 'sup/reconnect');
    const client = await connectAsync(proxy.url, { clientId: 'mq-reconnect', reconnectPeriod: 50 });
    try {
      const acceptedBefore = proxy.counters.accepted;
      await broker.kill();
      await broker.restart();
      await recorder.waitForSubscriptions(2);
      await proxy.waitForAccepted(acceptedBefore + 1);
      await new Promise<void>((resolve) => (client.connected ? resolve() : client.once('connect', () => resolve())));
      await client.publishAsync('sup/reconnect', 'back', { qos: 1 });
      await recorder.waitForMessages(1);
      expect(recorder.payloads()).toEqual(['back']);
    } finally {
      await client.endAsync(true);
      await recorder.close();
    }
  });

  it('blackhole through the proxy stops delivery; switching it off resumes it', async () => {
    const recorder = await recordTopic(broker.port, 'sup/bh');
    const client = await connectAsync(proxy.url, { clientId: 'mq-bh', reconnectPeriod: 0, keepalive: 0 });
    try {
      proxy.blackhole(true);
      client.publish('sup/bh', 'dropped', { qos: 0 });
      await new Promise((resolve) => setTimeout(resolve, 150));
      expect(recorder.messages).toHaveLength(0);
      proxy.blackhole(false);
      await client.publishAsync('sup/bh', 'delivered', { qos: 0 });
      await recorder.waitForMessages(1);
      expect(recorder.payloads()).toEqual(['delivered']);
    } finally {
      proxy.clearFaults();
      await client.endAsync(true);
      await recorder.close();
    }
  });

  it('fails with a clear error, log tail included, when the port is taken', async () => {
    const squatter = createServer();
    const port = await freePort();
    await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve));
    try {
      await expect(startMosquitto({ port, startTimeoutMs: 400 })).rejects.toThrow(/address in use[\s\S]*mosquitto log/i);
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });
});
