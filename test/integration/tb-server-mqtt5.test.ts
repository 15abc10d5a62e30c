// Local ThingsBoard-compatible server: what only MQTT 5 has (CONNACK properties, topic aliases,
// the client's Receive Maximum and Maximum Packet Size, user properties), and the refusal of an
// unknown protocol level. MQTT.js where it can say it, a raw mqtt-packet client where it cannot.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect as tcpConnect, type Socket } from 'node:net';
import mqtt, { type IClientOptions, type IConnackPacket, type MqttClient } from 'mqtt';
import { generate, parser as createParser, type Packet } from 'mqtt-packet';
import { startTbServer, type TbServer } from '../../targets/host/tb-server/index';
import { closed } from '../support/tb-server-helpers';
import { waitFor } from '../support/wait';

let server: TbServer;
const log: string[] = [];
const clients: MqttClient[] = [];
const sockets: Socket[] = [];

function connect(opts: IClientOptions): Promise<{ c: MqttClient; connack: IConnackPacket }> {
  const c = mqtt.connect({ host: '127.0.0.1', port: server.mqttPort, reconnectPeriod: 0, connectTimeout: 3000, protocolVersion: 5, ...opts });
  clients.push(c);
  return new Promise((resolve, reject) => {
    c.once('connect', (connack) => resolve({ c, connack }));
    c.once('error', reject);
  });
}

interface RawClient {
  socket: Socket;
  /** Every packet the server sent, in order. */
  packets: Packet[];
  send(p: Packet): void;
  ended: Promise<void>;
}

/** A bare MQTT 5 client, connected: nothing acknowledged unless the test asks. */
async function raw(connectPacket: Packet): Promise<RawClient> {
  const r = await openRaw();
  r.send(connectPacket);
  await waitFor(() => r.packets.length > 0, 'the first packet from the server', 3000);
  return r;
}

/** A TCP connection to the server that parses what it sends at level 5; no CONNECT sent yet. */
async function openRaw(): Promise<RawClient> {
  const socket = tcpConnect(server.mqttPort, '127.0.0.1');
  sockets.push(socket);
  const packets: Packet[] = [];
  const parser = createParser({ protocolVersion: 5 });
  parser.on('packet', (p: Packet) => packets.push(p));
  socket.on('data', (b) => parser.parse(b));
  const ended = new Promise<void>((r) => socket.once('close', () => r()));
  await new Promise<void>((r) => socket.once('connect', () => r()));
  const send = (p: Packet): void => void socket.write(generate(p, { protocolVersion: 5 }));
  return { socket, packets, send, ended };
}

beforeAll(async () => {
  server = await startTbServer({ devices: [{ name: 'm5', token: 'M5' }], rpcMinTimeoutMs: 0, log: (line) => log.push(line) });
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true).catch(() => {})));
  for (const s of sockets.splice(0)) s.destroy();
});

afterAll(async () => {
  await server.close();
});

describe('MQTT 5 CONNACK', () => {
  it("tells the client the server's limits, a session expiry of 0, and the client id it assigned", async () => {
    const { connack } = await connect({ username: 'M5', clientId: '', properties: { sessionExpiryInterval: 300 } });
    expect(connack.reasonCode).toBe(0);
    expect(connack.properties).toMatchObject({
      maximumPacketSize: 65_536,
      receiveMaximum: 100,
      topicAliasMaximum: 16,
      maximumQoS: 1,
      sharedSubscriptionAvailable: false,
      subscriptionIdentifiersAvailable: false,
      sessionExpiryInterval: 0,
      assignedClientIdentifier: expect.stringMatching(/^tbxs-\d+$/),
    });
  });

  it('a refusal carries the reason code and a Reason String a person can act on', async () => {
    const c = mqtt.connect({ host: '127.0.0.1', port: server.mqttPort, reconnectPeriod: 0, protocolVersion: 5, username: 'wrong', clientId: 'x5' });
    clients.push(c);
    const err = await new Promise<{ code?: number; message: string }>((r) => c.once('error', r));
    expect(err.code).toBe(0x86);
    expect(log.some((l) => l.includes('refused') && l.includes('MQTT 5') && l.includes('no device has access token "wrong"'))).toBe(true);
  });
});

describe('MQTT 5 PUBLISH', () => {
  it('honours topic aliases the client sets (up to the 16 it was given), ignores user properties', async () => {
    const { c } = await connect({ username: 'M5' });
    await c.publishAsync('v1/devices/me/telemetry', JSON.stringify({ a: 1 }), { qos: 1, properties: { topicAlias: 3, userProperties: { source: 'test' } } });
    await c.publishAsync('', JSON.stringify({ b: 2 }), { qos: 1, properties: { topicAlias: 3 } });
    const t = server.latestTelemetry('m5');
    expect(t.a!.value).toBe(1);
    expect(t.b!.value).toBe(2);
    expect(c.connected).toBe(true);
  });

  it('an alias outside 1..16 closes with 0x94, an alias never set with 0x82', async () => {
    let r = await raw({ cmd: 'connect', protocolVersion: 5, clientId: 'a1', username: 'M5', clean: true, keepalive: 0 } as Packet);
    r.send({ cmd: 'publish', topic: 'v1/devices/me/telemetry', payload: Buffer.from('{"x":1}'), qos: 0, retain: false, dup: false, properties: { topicAlias: 17 } } as Packet);
    await r.ended;
    expect(r.packets.map((p) => [p.cmd, (p as { reasonCode?: number }).reasonCode])).toEqual([['connack', 0], ['disconnect', 0x94]]);
    r = await raw({ cmd: 'connect', protocolVersion: 5, clientId: 'a2', username: 'M5', clean: true, keepalive: 0 } as Packet);
    r.send({ cmd: 'publish', topic: '', payload: Buffer.from('{"x":1}'), qos: 0, retain: false, dup: false, properties: { topicAlias: 2 } } as Packet);
    await r.ended;
    expect(r.packets.map((p) => [p.cmd, (p as { reasonCode?: number }).reasonCode])).toEqual([['connack', 0], ['disconnect', 0x82]]);
  });
});

describe("the client's limits", () => {
  it('Receive Maximum: no more unacknowledged QoS 1 downlink than the client takes', async () => {
    const r = await raw({ cmd: 'connect', protocolVersion: 5, clientId: 'rm', username: 'M5', clean: true, keepalive: 0, properties: { receiveMaximum: 2 } } as Packet);
    r.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'v1/devices/me/rpc/request/+', qos: 1 }] } as Packet);
    await waitFor(() => r.packets.some((p) => p.cmd === 'suback'), 'SUBACK', 3000);
    for (let i = 0; i < 4; i++) void server.sendRpc('m5', 'm' + i, null, { oneway: true, timeoutMs: 5000 }).catch(() => {});
    const publishes = (): (Packet & { messageId?: number })[] => r.packets.filter((p) => p.cmd === 'publish');
    await waitFor(() => publishes().length === 2, 'two RPC requests', 3000);
    await new Promise((res) => setTimeout(res, 100));
    expect(publishes()).toHaveLength(2);
    r.send({ cmd: 'puback', messageId: publishes()[0]!.messageId } as Packet);
    await waitFor(() => publishes().length === 3, 'the third RPC request after a PUBACK', 3000);
  });

  it('Maximum Packet Size: a larger downlink is not sent (MQTT-3.1.2-24), logged, the session stays', async () => {
    const r = await raw({ cmd: 'connect', protocolVersion: 5, clientId: 'mp', username: 'M5', clean: true, keepalive: 0, properties: { maximumPacketSize: 200 } } as Packet);
    r.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'v1/devices/me/attributes', qos: 1 }] } as Packet);
    await waitFor(() => r.packets.some((p) => p.cmd === 'suback'), 'SUBACK', 3000);
    server.setSharedAttributes('m5', { big: 'x'.repeat(300) });
    server.setSharedAttributes('m5', { small: 1 });
    await waitFor(() => r.packets.some((p) => p.cmd === 'publish'), 'the small attribute update', 3000);
    const got = r.packets.filter((p) => p.cmd === 'publish').map((p) => String((p as { payload: Buffer }).payload));
    expect(got).toEqual(['{"small":1}']);
    expect(log.some((l) => /larger than the client's Maximum Packet Size 200/.test(l))).toBe(true);
    expect(r.socket.destroyed).toBe(false);
  });
});

describe("ThingsBoard's Python SDK, as it connects (tb_device_mqtt.py, paho with protocol=5)", () => {
  it('CONNECT at 5 with keepalive 120, its limits read off the CONNACK, its four subscriptions, telemetry, a firmware info request', async () => {
    server.setSharedAttributes('m5', { fw_title: 'app', fw_version: '1.0' });
    const { c, connack } = await connect({ username: 'M5', clientId: '', keepalive: 120 });
    // The SDK sets maxPayloadSize from Maximum Packet Size and maxInflightMessages from Receive Maximum.
    expect(connack.properties?.maximumPacketSize).toBe(65_536);
    expect(connack.properties?.receiveMaximum).toBe(100);
    const granted = await c.subscribeAsync({
      'v1/devices/me/attributes': { qos: 1 },
      'v1/devices/me/attributes/response/+': { qos: 1 },
      'v1/devices/me/rpc/request/+': { qos: 1 },
      'v1/devices/me/rpc/response/+': { qos: 1 },
    });
    expect(granted.map((g) => g.qos)).toEqual([1, 1, 1, 1]);
    await c.publishAsync('v1/devices/me/telemetry', JSON.stringify({ current_fw_title: 'app', current_fw_version: '0.9' }), { qos: 1 });
    const reply = new Promise<string>((r) => c.once('message', (_t, p) => r(String(p))));
    await c.publishAsync('v1/devices/me/attributes/request/1', JSON.stringify({ sharedKeys: 'fw_checksum,fw_checksum_algorithm,fw_size,fw_title,fw_version' }), { qos: 1 });
    expect(JSON.parse(await reply)).toEqual({ shared: { fw_title: 'app', fw_version: '1.0' } });
    // Its firmware filter is v2/fw/response/+, which ThingsBoard refuses too (it offers v2/fw/response/+/chunk/+).
    const fw = await c.subscribeAsync('v2/fw/response/+', { qos: 1 }).catch((e: { packet?: { granted?: number[] } }) => e);
    expect((fw as { packet?: { granted?: number[] } }).packet?.granted).toEqual([0x8f]);
    expect(c.connected).toBe(true);
  });
});

describe('OTA at every level', () => {
  it.each([3, 4, 5] as const)('MQTT level %i: fw_* attributes, chunks by request, an empty chunk past the end, v2/fw/error for a bad request', async (protocolVersion) => {
    const image = new Uint8Array(2_500).map((_, i) => (i * 7 + protocolVersion) & 0xff);
    const { c } = await connect({ username: 'M5', clientId: 'ota' + protocolVersion, protocolVersion });
    await c.subscribeAsync({ 'v1/devices/me/attributes': { qos: 1 }, 'v2/fw/response/+/chunk/+': { qos: 1 }, 'v2/fw/error': { qos: 1 } });
    const got = new Map<string, Buffer>();
    c.on('message', (topic, payload) => got.set(topic, payload));
    server.assignFirmware('m5', { title: 'app', version: 'L' + protocolVersion, data: image });
    await waitFor(() => got.has('v1/devices/me/attributes'), 'the fw_* attributes', 3000);
    expect(JSON.parse(String(got.get('v1/devices/me/attributes')))).toMatchObject({ fw_title: 'app', fw_version: 'L' + protocolVersion, fw_size: 2_500 });
    const chunk = async (n: number): Promise<Buffer> => {
      await c.publishAsync(`v2/fw/request/7/chunk/${n}`, '1024', { qos: 1 });
      await waitFor(() => got.has(`v2/fw/response/7/chunk/${n}`), 'chunk ' + n, 3000);
      return got.get(`v2/fw/response/7/chunk/${n}`)!;
    };
    expect([...(await chunk(0))]).toEqual([...image.subarray(0, 1024)]);
    expect([...(await chunk(2))]).toEqual([...image.subarray(2048)]);
    expect((await chunk(3)).length).toBe(0);
    await c.publishAsync('v2/fw/request/7/chunk/x', '1024', { qos: 1 });
    await waitFor(() => got.has('v2/fw/error'), 'v2/fw/error', 3000);
    expect(String(got.get('v2/fw/error'))).toMatch(/Invalid firmware request topic/);
    expect(c.connected).toBe(true);
  });
});

describe('protocol levels', () => {
  it('refuses an unknown level with CONNACK 1 and logs it', async () => {
    const socket = tcpConnect(server.mqttPort, '127.0.0.1');
    sockets.push(socket);
    const got: Buffer[] = [];
    socket.on('data', (b) => got.push(b));
    const ended = new Promise<void>((r) => socket.once('close', () => r()));
    await new Promise<void>((r) => socket.once('connect', () => r()));
    // CONNECT, protocol name "MQTT", level 6, clean session, keepalive 0, client id "z".
    socket.write(Buffer.from([0x10, 13, 0, 4, 0x4d, 0x51, 0x54, 0x54, 6, 0x02, 0, 0, 0, 1, 0x7a]));
    await ended;
    expect([...Buffer.concat(got)]).toEqual([0x20, 0x02, 0x00, 0x01]);
    expect(log.some((l) => l.includes('refused') && l.includes('protocol level 6 is not 3 (MQTT 3.1), 4 (3.1.1) or 5'))).toBe(true);
  });

  it('a CONNECT that arrives a byte at a time is still answered at its own level', async () => {
    const { socket, packets, ended } = await openRaw();
    const bytes = generate({ cmd: 'connect', protocolVersion: 5, clientId: 'slow', username: 'wrong', clean: true, keepalive: 0 } as Packet, { protocolVersion: 5 });
    for (const b of bytes) {
      socket.write(Buffer.from([b]));
      await new Promise((r) => setTimeout(r, 1));
    }
    await ended;
    expect(packets.map((p) => [p.cmd, (p as { reasonCode?: number }).reasonCode])).toEqual([['connack', 0x86]]);
  });

  it('the same device connects at 3, 4 and 5, one after the other, and its data lands in one place', async () => {
    for (const protocolVersion of [3, 4, 5] as const) {
      const c = mqtt.connect({ host: '127.0.0.1', port: server.mqttPort, reconnectPeriod: 0, protocolVersion, username: 'M5', clientId: 'lv' + protocolVersion });
      clients.push(c);
      await new Promise((r) => c.once('connect', r));
      await c.publishAsync('v1/devices/me/telemetry', JSON.stringify({ ['at' + protocolVersion]: protocolVersion }), { qos: 1 });
      expect(server.sessions().find((s) => s.device === 'm5')?.clientId).toBe('lv' + protocolVersion);
      const gone = closed(c);
      await c.endAsync();
      await gone;
    }
    // A key per level: two connections may publish within one millisecond (one value per key and ts).
    const t = server.latestTelemetry('m5');
    expect([t.at3?.value, t.at4?.value, t.at5?.value]).toEqual([3, 4, 5]);
  });
});
