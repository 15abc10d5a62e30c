import { createHash } from 'node:crypto';
import { generate, parser as mqttParser } from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { MqttSession } from '../../src/mqtt/session';
import { MemoryStore } from '../../src/platform/store';
import { DeviceClient } from '../../src/thingsboard/device-client';
import { FirmwareUpdater, PENDING_KEY, type FirmwareUpdaterOptions } from '../../src/thingsboard/firmware-update';
import { FakeClock, flushMicrotasks } from '../support/fake-clock';
import { FakeConnector, type FakeSocket } from '../support/fake-connector';
import { MemoryUpdateTarget } from '../support/memory-update-target';

const closers: (() => void)[] = [];
afterEach(() => closers.splice(0).forEach((c) => c()));

function imageOf(size: number, seed = 1): Uint8Array {
  const bytes = new Uint8Array(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    bytes[i] = x >>> 24;
  }
  return bytes;
}

function announce(title: string, version: string, bytes: Uint8Array, checksum?: string, algorithm = 'SHA256') {
  return {
    fw_title: title,
    fw_version: version,
    fw_size: bytes.length,
    fw_checksum_algorithm: algorithm,
    fw_checksum: checksum ?? createHash('sha256').update(bytes).digest('hex'),
  };
}

/**
 * Plays ThingsBoard on the device's socket: CONNACK, SUBACK, PUBACK, attribute answers from
 * `shared`, chunk answers from `image` (unless `answerChunk` says no). Records telemetry and requests.
 */
class FakeTb {
  shared: Record<string, unknown> = {};
  image: Uint8Array = new Uint8Array(0);
  readonly telemetry: Record<string, unknown>[] = [];
  readonly chunkRequests: { rid: string; n: number; size: number }[] = [];
  answerChunk: (n: number) => boolean = () => true;
  /** Every state carries a ts, each one later than the one before. */
  private lastTs = 0;
  private nextId = 1;
  socket!: FakeSocket;

  attach(socket: FakeSocket): void {
    this.socket = socket;
    socket.open();
  }

  get states(): string[] {
    return this.telemetry.filter((t) => 'fw_state' in t).map((t) => t.fw_state as string);
  }

  publish(topic: string, payload: Uint8Array | string): void {
    this.socket.receive(generate({ cmd: 'publish', topic, payload: Buffer.from(payload), qos: 1, messageId: this.nextId++, dup: false, retain: false } as never));
  }

  /** Answers what the device wrote until it writes nothing more. */
  async pump(): Promise<void> {
    for (let round = 0; round < 1000; round++) {
      await flushMicrotasks();
      const packets: any[] = [];
      const p = mqttParser();
      p.on('packet', (x) => packets.push(x));
      for (const w of this.socket.take()) p.parse(Buffer.from(w));
      if (packets.length === 0) return;
      for (const packet of packets) this.handle(packet);
    }
    throw new Error('the device never went quiet');
  }

  private handle(packet: any): void {
    const s = this.socket;
    if (packet.cmd === 'connect') s.receive([0x20, 2, 0, 0]);
    else if (packet.cmd === 'subscribe') s.receive([0x90, 3, packet.messageId >> 8, packet.messageId & 0xff, 1]);
    else if (packet.cmd === 'publish') {
      if (packet.qos === 1) s.receive([0x40, 2, packet.messageId >> 8, packet.messageId & 0xff]);
      const topic: string = packet.topic;
      const text = packet.payload.toString();
      if (topic === 'v1/devices/me/telemetry') {
        const body = JSON.parse(text);
        expect(body.ts).toBeGreaterThan(this.lastTs);
        this.lastTs = body.ts;
        this.telemetry.push(body.values);
      }
      else if (topic.startsWith('v1/devices/me/attributes/request/')) {
        const keys: string[] = JSON.parse(text).sharedKeys.split(',');
        const shared: Record<string, unknown> = {};
        for (const k of keys) if (k in this.shared) shared[k] = this.shared[k];
        this.publish(topic.replace('request', 'response'), JSON.stringify(Object.keys(shared).length ? { shared } : {}));
      } else if (topic.startsWith('v2/fw/request/')) {
        const [, , , rid, , n] = topic.split('/');
        const size = Number(text);
        this.chunkRequests.push({ rid: rid!, n: Number(n), size });
        if (this.answerChunk(Number(n))) this.publish(`v2/fw/response/${rid}/chunk/${n}`, this.image.subarray(Number(n) * size, Number(n) * size + size));
      }
    }
  }
}

async function setup(over: Partial<FirmwareUpdaterOptions> = {}, current = { title: 'tbxs', version: '1.0.0' }, store = new MemoryStore()) {
  const clock = new FakeClock();
  const connector = new FakeConnector();
  const lines: string[] = [];
  const log = { debug() {}, info: (m: string) => void lines.push(m), warn: (m: string) => void lines.push(m), error: (m: string) => void lines.push(m) };
  const session = new MqttSession({ connector, clock, host: 'h', port: 1, clientId: 'c', username: 'T', random: () => 0, reconnect: { initialMs: 1000, maxMs: 1000 } });
  const client = new DeviceClient({ session, clock, log, requestTimeoutMs: 5000, sessionLimits: false });
  const target = (over.target as MemoryUpdateTarget | undefined) ?? new MemoryUpdateTarget();
  const updater = new FirmwareUpdater({ session, device: client, clock, log, store, target, current, chunkBytes: 1024, ...over });
  const tb = new FakeTb();
  const close = () => {
    updater.close();
    client.close();
    session.close();
  };
  closers.push(close);
  session.start();
  const connect = async () => {
    tb.attach(connector.last);
    await tb.pump();
  };
  /** The connection drops; the session reconnects after its 1 s backoff. */
  const reconnect = async () => {
    tb.socket.drop(new Error('cut'));
    await flushMicrotasks();
    clock.advance(1000);
    await connect();
  };
  return { clock, session, client, updater, target, tb, store, lines, connect, reconnect, close };
}

describe('FirmwareUpdater', () => {
  it('reports what runs, asks for the fw_* attributes, and ignores its own version', async () => {
    const t = await setup();
    t.tb.shared = announce('tbxs', '1.0.0', imageOf(100));
    await t.connect();
    expect(t.tb.telemetry[0]).toEqual({ current_fw_title: 'tbxs', current_fw_version: '1.0.0' });
    expect(t.tb.chunkRequests).toEqual([]);
    expect(t.target.calls).toEqual([]);
    expect(t.updater.status.phase).toBe('idle');
  });

  it('downloads chunk by chunk, verifies, installs and restarts; the new image reports UPDATED', async () => {
    const bytes = imageOf(10_000);
    const t = await setup();
    t.tb.image = bytes;
    t.tb.shared = announce('tbxs', '1.1.0', bytes);
    await t.connect();
    expect(t.tb.chunkRequests.map((r) => r.n)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(new Set(t.tb.chunkRequests.map((r) => r.size))).toEqual(new Set([1024]));
    expect(t.tb.states).toEqual(['DOWNLOADING', 'DOWNLOADED', 'VERIFIED', 'UPDATING']);
    expect(t.target.installed?.bytes).toEqual(bytes);
    expect(t.target.calls).toEqual(['begin 1.1.0', 'verify', 'install', 'restart']);
    expect(t.store.get(PENDING_KEY)).toEqual({ title: 'tbxs', version: '1.1.0' });
    t.close();

    // The restarted firmware runs 1.1.0 and says so once connected.
    const after = await setup({}, { title: 'tbxs', version: '1.1.0' }, t.store);
    after.tb.shared = announce('tbxs', '1.1.0', bytes);
    await after.connect();
    expect(after.tb.telemetry[0]).toEqual({ current_fw_title: 'tbxs', current_fw_version: '1.1.0', fw_state: 'UPDATED' });
    expect(after.target.confirms).toBe(1);
    expect(after.store.get(PENDING_KEY)).toBeUndefined();
    expect(after.tb.chunkRequests).toEqual([]);
  });

  it('asks a lost chunk again after the timeout', async () => {
    const bytes = imageOf(5000);
    const t = await setup({ chunkTimeoutMs: 3000 });
    t.tb.image = bytes;
    t.tb.shared = announce('tbxs', '2', bytes);
    let lost = 0;
    t.tb.answerChunk = (n) => !(n === 2 && lost++ === 0);
    await t.connect();
    expect(t.tb.chunkRequests.map((r) => r.n)).toEqual([0, 1, 2]);
    t.clock.advance(2999);
    await t.tb.pump();
    expect(t.tb.chunkRequests).toHaveLength(3);
    t.clock.advance(1);
    await t.tb.pump();
    expect(t.tb.chunkRequests.map((r) => r.n)).toEqual([0, 1, 2, 2, 3, 4]);
    expect(t.target.installed?.bytes).toEqual(bytes);
    expect(t.lines.some((l) => l.includes('chunk 2 not answered'))).toBe(true);
  });

  it('resumes after a reconnect at the first byte not written, not from zero', async () => {
    const bytes = imageOf(8192 + 100);
    const t = await setup();
    t.tb.image = bytes;
    t.tb.shared = announce('tbxs', '3', bytes);
    t.tb.answerChunk = (n) => n < 4;
    await t.connect();
    expect(t.updater.status.offset).toBe(4096);
    t.tb.answerChunk = () => true;
    await t.reconnect();
    const after = t.tb.chunkRequests.slice(5).map((r) => r.n);
    expect(after[0]).toBe(4);
    expect(after).not.toContain(0);
    expect(t.target.calls.filter((c) => c.startsWith('begin'))).toHaveLength(1);
    expect(t.target.installed?.bytes).toEqual(bytes);
    expect(t.tb.states.filter((s) => s === 'DOWNLOADING')).toHaveLength(1);
  });

  it('fails on a checksum mismatch, does not restart, and does not retry the same image on reconnect', async () => {
    const bytes = imageOf(3000);
    const t = await setup();
    t.tb.image = bytes;
    t.tb.shared = announce('tbxs', '4', bytes, 'ab'.repeat(32));
    await t.connect();
    expect(t.tb.states).toEqual(['DOWNLOADING', 'DOWNLOADED', 'FAILED']);
    const failed = t.tb.telemetry.find((x) => x.fw_state === 'FAILED')!;
    expect(failed.fw_error).toMatch(/checksum mismatch/);
    expect(t.target.restarts).toBe(0);
    expect(t.store.get(PENDING_KEY)).toBeUndefined();
    const requests = t.tb.chunkRequests.length;
    await t.reconnect();
    expect(t.tb.chunkRequests.length).toBe(requests);
    // The server announces it again (a push): tried again.
    t.tb.shared = announce('tbxs', '4', bytes);
    t.tb.publish('v1/devices/me/attributes', JSON.stringify(t.tb.shared));
    await t.tb.pump();
    expect(t.target.installed?.bytes).toEqual(bytes);
  });

  it('fails at once for an image larger than the partition or an algorithm the platform lacks', async () => {
    const big = await setup({ target: new MemoryUpdateTarget(2048) });
    big.tb.shared = announce('tbxs', '5', imageOf(4096));
    await big.connect();
    expect(big.tb.states).toEqual(['FAILED']);
    expect(big.tb.telemetry[1]!.fw_error).toMatch(/4096 bytes is larger than the update partition \(2048 bytes\)/);
    expect(big.tb.chunkRequests).toEqual([]);

    const noMurmur = await setup({ target: new MemoryUpdateTarget(1e6, ['SHA256']) });
    noMurmur.tb.shared = announce('tbxs', '5', imageOf(10), 'aa', 'MURMUR3_128');
    await noMurmur.connect();
    expect(noMurmur.tb.telemetry[1]).toMatchObject({ fw_state: 'FAILED', fw_error: expect.stringMatching(/MURMUR3_128 is not available/) });
  });

  it('replaces a download when a second update is announced mid-way; late answers of the first are ignored', async () => {
    const first = imageOf(6000, 1);
    const second = imageOf(3000, 2);
    const t = await setup();
    t.tb.image = first;
    t.tb.shared = announce('tbxs', '6', first);
    t.tb.answerChunk = (n) => n < 2;
    await t.connect();
    expect(t.updater.status.offset).toBe(2048);
    // A late answer for the first download arrives after the second was announced.
    t.tb.image = second;
    t.tb.shared = announce('tbxs', '7', second);
    t.tb.answerChunk = () => true;
    t.tb.publish('v1/devices/me/attributes', JSON.stringify(t.tb.shared));
    t.tb.publish('v2/fw/response/1/chunk/0', first.subarray(0, 1024));
    await t.tb.pump();
    expect(t.target.calls).toEqual(['begin 6', 'abort', 'begin 7', 'verify', 'install', 'restart']);
    expect(t.target.installed?.bytes).toEqual(second);
    expect(new Set(t.tb.chunkRequests.slice(3).map((r) => r.rid))).toEqual(new Set(['2']));
  });

  it('fails after the chunk attempts run out, and on a server error', async () => {
    const bytes = imageOf(2000);
    const t = await setup({ chunkTimeoutMs: 1000, chunkAttempts: 3 });
    t.tb.image = bytes;
    t.tb.shared = announce('tbxs', '8', bytes);
    t.tb.answerChunk = (n) => n === 0;
    await t.connect();
    for (let i = 0; i < 3; i++) {
      t.clock.advance(1000);
      await t.tb.pump();
    }
    expect(t.tb.chunkRequests.map((r) => r.n)).toEqual([0, 1, 1, 1]);
    expect(t.tb.telemetry.at(-1)).toMatchObject({ fw_state: 'FAILED', fw_error: 'timeout: chunk 1 not answered in 1000 ms, 3 times' });
    expect(t.target.calls).toEqual(['begin 8', 'abort']);
    expect(t.clock.pending()).toBeGreaterThanOrEqual(0);

    const e = await setup();
    e.tb.image = bytes;
    e.tb.shared = announce('tbxs', '9', bytes);
    e.tb.answerChunk = () => false;
    await e.connect();
    e.tb.publish('v2/fw/error', 'Requested ota package is not available!');
    await e.tb.pump();
    expect(e.tb.telemetry.at(-1)).toMatchObject({ fw_state: 'FAILED', fw_error: 'server error: Requested ota package is not available!' });
  });

  it('fails when the server sends a short chunk or the image ends early', async () => {
    const bytes = imageOf(3000);
    const t = await setup();
    t.tb.image = bytes.subarray(0, 2048);
    t.tb.shared = announce('tbxs', '10', bytes);
    await t.connect();
    expect(t.tb.telemetry.at(-1)).toMatchObject({ fw_state: 'FAILED', fw_error: expect.stringMatching(/no data from byte 2048 on/) });
  });

  it('reports FAILED when the restart brought another version than the one installed, and does not loop', async () => {
    const store = new MemoryStore();
    store.set(PENDING_KEY, { title: 'tbxs', version: '2.0.0' });
    const bytes = imageOf(500);
    const t = await setup({}, { title: 'tbxs', version: '1.0.0' }, store);
    t.tb.image = bytes;
    t.tb.shared = announce('tbxs', '2.0.0', bytes);
    await t.connect();
    expect(t.tb.telemetry[0]).toMatchObject({ fw_state: 'FAILED', fw_error: expect.stringMatching(/restarted into tbxs 1.0.0, not the installed tbxs 2.0.0/) });
    expect(t.target.confirms).toBe(0);
    expect(t.tb.chunkRequests).toEqual([]);
  });

  it('cancels the download when the server unassigns the firmware', async () => {
    const bytes = imageOf(4000);
    const t = await setup();
    t.tb.image = bytes;
    t.tb.shared = announce('tbxs', '11', bytes);
    t.tb.answerChunk = (n) => n < 1;
    await t.connect();
    t.tb.publish('v1/devices/me/attributes', JSON.stringify({ deleted: ['fw_title', 'fw_version', 'fw_size', 'fw_checksum', 'fw_checksum_algorithm'] }));
    await t.tb.pump();
    expect(t.target.calls).toEqual(['begin 11', 'abort']);
    expect(t.updater.status.phase).toBe('idle');
    t.close();
    expect(t.clock.pending()).toBe(0);
  });

  it('keeps no timer after close() mid-download and refuses a chunk size no packet can carry', async () => {
    const bytes = imageOf(4000);
    const t = await setup();
    t.tb.image = bytes;
    t.tb.shared = announce('tbxs', '12', bytes);
    t.tb.answerChunk = () => false;
    await t.connect();
    expect(t.updater.status.phase).toBe('downloading');
    t.close();
    expect(t.target.calls).toEqual(['begin 12', 'abort']);
    expect(t.clock.pending()).toBe(0);
    await expect(setup({ chunkBytes: 65536 })).rejects.toThrow(/OTA chunk size must be an integer 1..65472/);
  });
});
