/**
 * Fuzzing the local server's MQTT frontend: client -> server byte streams at levels 3, 4 and 5,
 * well-formed packets of every kind the API sees (CONNECT, PUBLISH to device, gateway, claim, OTA
 * and unknown topics, SUBSCRIBE, UNSUBSCRIBE, PUBACK, PINGREQ, PUBREL, AUTH, DISCONNECT) with
 * random mutations (bytes flipped, cut, repeated, inserted, a first byte replaced), over real TCP
 * on 127.0.0.1 in random chunk sizes.
 *
 * A fixed set of edge streams goes first (edgeStreams). After every case the server must still be whole: a fresh MQTT.js device connects and gets a
 * PUBACK, nothing was thrown out of a socket callback (an uncaught exception fails the run), and
 * once every case's socket is closed no session, link or pending timer of them is left.
 *
 * CLI: node bin/run-ts.mjs test/fuzz/server-fuzz.ts --cases N [--seed S]
 * Prints `cases:`, `accepted:` (cases whose CONNECT got CONNACK 0), `closed_by_server:`,
 * `failures:`.
 */
import { connect as tcpConnect, type Socket } from 'node:net';
import mqtt from 'mqtt';
import { generate, type Packet } from 'mqtt-packet';
import { startTbServer, type TbServer } from '../../targets/host/tb-server/index';
import { mulberry32 } from '../support/fault-proxy';
import { argValue } from '../support/cli-args';

export interface ServerFuzzOptions {
  cases: number;
  seed?: number;
  /** Cases in flight at once. */
  parallel?: number;
}

export interface ServerFuzzResult {
  cases: number;
  accepted: number;
  closedByServer: number;
  failures: number;
  failureSamples: string[];
  ms: number;
}

type Level = 3 | 4 | 5;

const TOPICS = [
  'v1/devices/me/telemetry',
  'v1/devices/me/attributes',
  'v1/devices/me/attributes/request/1',
  'v1/devices/me/rpc/request/2',
  'v1/devices/me/rpc/response/0',
  'v1/devices/me/claim',
  'v2/fw/request/1/chunk/0',
  'v1/gateway/connect',
  'v1/gateway/telemetry',
  'v1/gateway/claim',
  '/provision/request',
  'some/unknown/topic',
];
const PAYLOADS = ['{"t":1}', '[{"ts":1,"values":{"a":2}}]', '{"method":"getSessionLimits","params":{}}', '{"device":"fz-child"}', '{"fz-child":[{"v":1}]}', '1024', '', '{not json', '{"secretKey":"k"}'];
const FILTERS = ['v1/devices/me/attributes', 'v1/devices/me/rpc/request/+', 'v2/fw/response/+/chunk/+', 'v1/gateway/rpc', '#', 'a/+/b'];
const USERS = ['FZ', 'FZGW', 'provision', 'wrong', undefined];

function pick<T>(r: () => number, list: readonly T[]): T {
  return list[Math.floor(r() * list.length)]!;
}

function connectPacket(r: () => number, level: Level): Packet {
  const username = pick(r, USERS);
  const p: Record<string, unknown> = { cmd: 'connect', protocolId: level === 3 ? 'MQIsdp' : 'MQTT', protocolVersion: level, clientId: r() < 0.2 ? '' : 'fz' + Math.floor(r() * 1e6), clean: r() < 0.8, keepalive: Math.floor(r() * 100) };
  if (level === 3 && p.clientId === '') p.clientId = 'fz3';
  if (username !== undefined) p.username = username;
  // MQTT 3.1.1 has no password without a username (MQTT-3.1.2-22); 5 has.
  if (r() < 0.1 && (username !== undefined || level === 5)) p.password = Buffer.from('pw');
  if (level === 5 && r() < 0.5) p.properties = { receiveMaximum: 1 + Math.floor(r() * 4), maximumPacketSize: 64 + Math.floor(r() * 4096), sessionExpiryInterval: Math.floor(r() * 3), topicAliasMaximum: 3 };
  return p as unknown as Packet;
}

function otherPacket(r: () => number, level: Level, id: number): Packet {
  const k = Math.floor(r() * 10);
  const v5 = level === 5;
  switch (k) {
    case 0:
    case 1:
    case 2: {
      const qos = r() < 0.7 ? 1 : r() < 0.5 ? 0 : 2;
      const p: Record<string, unknown> = { cmd: 'publish', topic: pick(r, TOPICS), payload: Buffer.from(pick(r, PAYLOADS)), qos, retain: r() < 0.1, dup: r() < 0.1 };
      if (qos > 0) p.messageId = id;
      if (v5 && r() < 0.4) {
        const alias = 1 + Math.floor(r() * 20);
        p.properties = { topicAlias: alias, ...(r() < 0.3 ? { userProperties: { a: 'b' } } : {}) };
        if (r() < 0.4) p.topic = '';
      }
      return p as unknown as Packet;
    }
    case 3:
      return { cmd: 'subscribe', messageId: id, subscriptions: [{ topic: pick(r, FILTERS), qos: Math.floor(r() * 3) as 0 | 1 | 2 }] } as Packet;
    case 4:
      return { cmd: 'unsubscribe', messageId: id, unsubscriptions: [pick(r, FILTERS)] } as Packet;
    case 5:
      return { cmd: 'puback', messageId: id, ...(v5 ? { reasonCode: 0 } : {}) } as Packet;
    case 6:
      return { cmd: 'pingreq' } as Packet;
    case 7:
      return { cmd: 'pubrel', messageId: id } as Packet;
    case 8:
      return v5 ? ({ cmd: 'auth', reasonCode: 0x18 } as Packet) : ({ cmd: 'pingreq' } as Packet);
    default:
      return { cmd: 'disconnect', ...(v5 ? { reasonCode: 0 } : {}) } as Packet;
  }
}

/**
 * Streams every run starts with, after a valid CONNECT at each level: the edges random mutation
 * reaches only now and then (each was, or could be, a throw out of a socket callback).
 */
function edgeStreams(): Uint8Array[] {
  const out: Uint8Array[] = [];
  const edges = [
    [0x82, 0x02, 0x00, 0x01], // SUBSCRIBE without a filter (MQTT-3.8.3-3)
    [0xa2, 0x02, 0x00, 0x01], // UNSUBSCRIBE without a filter (MQTT-3.10.3-2)
    [0x30, 0x02, 0x00, 0x00], // PUBLISH with an empty topic and no alias
    [0x36, 0x05, 0x00, 0x01, 0x61, 0x00, 0x01], // PUBLISH QoS 3
    [0x40, 0x00], // PUBACK without a packet id
    [0x80, 0x02, 0x00, 0x01], // SUBSCRIBE with reserved flags 0
    [0xf0, 0x00], // reserved packet type 15 (AUTH below 5)
    [0x30, 0xff, 0xff, 0xff, 0xff, 0x7f], // a five-byte remaining length
    [0xe0, 0x00, 0xe0, 0x00], // two DISCONNECTs
  ];
  for (const level of [3, 4, 5] as const) {
    const connect = encode({ cmd: 'connect', protocolId: level === 3 ? 'MQIsdp' : 'MQTT', protocolVersion: level, clientId: 'edge' + level, clean: true, keepalive: 0, username: 'FZ' } as Packet, level);
    for (const e of edges) out.push(Uint8Array.from([...connect, ...e]));
    out.push(Uint8Array.from([...connect, ...connect])); // a second CONNECT (MQTT-3.1.0-2)
  }
  return out;
}

/** One case's byte stream: a CONNECT (mostly valid) and a few more packets, mutated at random. */
function caseStream(r: () => number): Uint8Array {
  const level = pick(r, [3, 4, 5] as const);
  const parts: Uint8Array[] = [];
  if (r() < 0.95) parts.push(encode(connectPacket(r, level), level));
  const n = Math.floor(r() * 6);
  for (let i = 0; i < n; i++) parts.push(encode(otherPacket(r, level, 1 + Math.floor(r() * 65_535)), level));
  const bytes = Buffer.concat(parts);
  return mutate(r, bytes);
}

/** mqtt-packet's bytes; a combination it refuses to encode becomes no bytes (the mutations do the breaking). */
function encode(p: Packet, level: Level): Uint8Array {
  try {
    return generate(p, { protocolVersion: level });
  } catch {
    return new Uint8Array(0);
  }
}

function mutate(r: () => number, input: Buffer): Uint8Array {
  let b = [...input];
  const m = Math.floor(r() * 7);
  const at = (): number => Math.floor(r() * Math.max(1, b.length));
  switch (m) {
    case 0:
      return Uint8Array.from(b); // unmutated: the well-formed path
    case 1:
      for (let i = 0; i < 1 + Math.floor(r() * 4); i++) b[at()] = Math.floor(r() * 256);
      break;
    case 2:
      b = b.slice(0, at());
      break;
    case 3: {
      const i = at();
      b.splice(i, 0, ...Array.from({ length: 1 + Math.floor(r() * 8) }, () => Math.floor(r() * 256)));
      break;
    }
    case 4: {
      const i = at();
      b.splice(i, 0, ...b.slice(i, i + 1 + Math.floor(r() * 20)));
      break;
    }
    case 5:
      // A packet type/flags byte after the CONNECT replaced (reserved types, bad flags).
      if (b.length > 20) b[Math.min(b.length - 1, 14 + Math.floor(r() * (b.length - 14)))] = Math.floor(r() * 16) << 4 | Math.floor(r() * 16);
      break;
    default:
      b = b.concat(Array.from({ length: Math.floor(r() * 40) }, () => Math.floor(r() * 256)));
  }
  return Uint8Array.from(b);
}

/** Sends the stream in random chunks; resolves with what the server did once it closed or went quiet. */
function runCase(port: number, bytes: Uint8Array, r: () => number): Promise<{ connack: number | undefined; closedByServer: boolean }> {
  return new Promise((resolve) => {
    const socket: Socket = tcpConnect(port, '127.0.0.1');
    let connack: number | undefined;
    let closedByServer = false;
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(quiet);
      socket.destroy();
      resolve({ connack, closedByServer });
    };
    const quiet = setTimeout(finish, 100);
    socket.on('data', (d: Buffer) => {
      // CONNACK: 0x20, remaining length, flags, code (at 5 the reason code is in the same place).
      if (connack === undefined && d[0] === 0x20 && d.length >= 4) connack = d[3];
    });
    socket.on('end', () => (closedByServer = true));
    socket.on('error', () => {});
    socket.on('close', finish);
    socket.on('connect', () => {
      let i = 0;
      while (i < bytes.length) {
        const n = 1 + Math.floor(r() * 64);
        socket.write(bytes.subarray(i, i + n));
        i += n;
      }
    });
  });
}

async function healthy(server: TbServer): Promise<string | undefined> {
  const c = mqtt.connect({ host: '127.0.0.1', port: server.mqttPort, username: 'FZ', clientId: 'fz-probe', reconnectPeriod: 0, connectTimeout: 2000, protocolVersion: 4 });
  try {
    await new Promise<void>((resolve, reject) => {
      c.once('connect', () => resolve());
      c.once('error', reject);
      c.once('close', () => reject(new Error('closed before CONNACK')));
    });
    await c.publishAsync('v1/devices/me/telemetry', '{"probe":1}', { qos: 1 });
    return undefined;
  } catch (e) {
    return 'probe failed: ' + (e instanceof Error ? e.message : String(e));
  } finally {
    await c.endAsync(true).catch(() => {});
  }
}

export async function runServerFuzz(opts: ServerFuzzOptions): Promise<ServerFuzzResult> {
  const start = Date.now();
  const r = mulberry32(opts.seed ?? 1);
  const parallel = opts.parallel ?? 32;
  const server = await startTbServer({
    devices: [{ name: 'fz', token: 'FZ' }],
    gateways: [{ name: 'fzgw', token: 'FZGW' }],
    provision: { key: 'k', secret: 's' },
    provisionCloseMs: 50,
    maxPayloadBytes: 2048,
    rpcMinTimeoutMs: 0,
  });
  const result: ServerFuzzResult = { cases: 0, accepted: 0, closedByServer: 0, failures: 0, failureSamples: [], ms: 0 };
  const fail = (what: string): void => {
    result.failures++;
    if (result.failureSamples.length < 5) result.failureSamples.push(what);
  };
  try {
    const edges = edgeStreams();
    await Promise.all(edges.map((bytes) => runCase(server.mqttPort, bytes, mulberry32(bytes.length))));
    const edgeProblem = await healthy(server);
    if (edgeProblem) fail('after the edge streams: ' + edgeProblem);
    for (let base = 0; base < opts.cases; base += parallel) {
      const batch: Promise<void>[] = [];
      for (let i = base; i < Math.min(opts.cases, base + parallel); i++) {
        const caseRandom = mulberry32(Math.floor(r() * 2 ** 31));
        const bytes = caseStream(caseRandom);
        batch.push(
          runCase(server.mqttPort, bytes, caseRandom).then((o) => {
            result.cases++;
            if (o.connack === 0) result.accepted++;
            if (o.closedByServer) result.closedByServer++;
          }),
        );
      }
      await Promise.all(batch);
      if ((base / parallel) % 8 === 0) {
        const problem = await healthy(server);
        if (problem) fail(`after case ${base + parallel}: ${problem}`);
      }
    }
    const problem = await healthy(server);
    if (problem) fail('at the end: ' + problem);
    // Every case socket is closed by now: no session of them may be left.
    await new Promise((res) => setTimeout(res, 100));
    const left = server.sessions().filter((s) => s.clientId !== 'fz-probe');
    if (left.length > 0) fail(`${left.length} sessions left after every case closed: ${left.map((s) => s.device + '/' + s.clientId).join(', ')}`);
  } finally {
    await server.close();
  }
  result.ms = Date.now() - start;
  return result;
}


const isMain = process.argv[1] !== undefined && /server-fuzz\.ts$/.test(process.argv[1]);
if (isMain) {
  const args = process.argv.slice(2);
  const cases = Number(argValue(args, '--cases') ?? 5_000);
  const seed = Number(argValue(args, '--seed') ?? 1);
  if (!Number.isInteger(cases) || cases < 1 || !Number.isInteger(seed)) {
    console.error('usage: node bin/run-ts.mjs test/fuzz/server-fuzz.ts --cases N [--seed S]');
    process.exit(2);
  }
  void runServerFuzz({ cases, seed }).then((res) => {
    console.log('cases: ' + res.cases);
    console.log('accepted: ' + res.accepted);
    console.log('closed_by_server: ' + res.closedByServer);
    console.log('failures: ' + res.failures);
    console.log('ms: ' + res.ms);
    for (const s of res.failureSamples) console.log('failure: ' + s);
    process.exitCode = res.failures > 0 ? 1 : 0;
  });
}
