/**
 * The store-and-forward outbox with a fake clock, a MemoryStore and a device whose PUBACKs the
 * test hands out: order across a restart, nothing written while PUBACKs come in time, batched
 * records and bounded writes while offline, a full ring refusing with queue-full, corrupt
 * records skipped, a partly acknowledged record rewritten.
 */
import { describe, expect, it } from 'vitest';
import { TelemetryOutbox } from '../../src/app/telemetry-outbox';
import { MqttError } from '../../src/mqtt/errors';
import { MemoryStore } from '../../src/platform/store';
import type { TbDevice } from '../../src/thingsboard/tb-device';
import { FakeClock, flushMicrotasks } from '../support/fake-clock';

interface Sent {
  body: { ts: number; values: { n: number } }[];
  ack: () => void;
  fail: (e: unknown) => void;
}

function fakeDevice() {
  const sent: Sent[] = [];
  const device = {
    connected: true,
    sendTelemetry(data: unknown) {
      return new Promise<void>((resolve, reject) => sent.push({ body: data as Sent['body'], ack: resolve, fail: reject }));
    },
  } as unknown as TbDevice;
  return { device, sent };
}

function setup(store = new MemoryStore(), clock = new FakeClock(0)) {
  const lines: string[] = [];
  const log = { debug() {}, info: (m: string) => void lines.push(m), warn: (m: string) => void lines.push(m), error: (m: string) => void lines.push(m) };
  const { device, sent } = fakeDevice();
  const outbox = new TelemetryOutbox({ store, clock, log, device, records: 4, perRecord: 3, writeAfterMs: 1000, retryMs: 500 });
  return { store, clock, outbox, sent, lines };
}

const ns = (s: Sent[]) => s.map((x) => x.body.map((r) => r.values.n));
async function ackAll(sent: Sent[], from = 0) {
  for (let i = from; i < sent.length; i++) {
    sent[i].ack();
    await flushMicrotasks();
  }
}

describe('TelemetryOutbox', () => {
  it('online with PUBACKs in time: one message in flight, later readings batched behind it, nothing written', async () => {
    const t = setup();
    t.outbox.start();
    for (let n = 1; n <= 3; n++) t.outbox.accept(1000 + n, { n });
    expect(ns(t.sent)).toEqual([[1]]);
    t.sent[0].ack();
    await flushMicrotasks();
    expect(ns(t.sent)).toEqual([[1], [2, 3]]); // the waiting ones in one message, up to perRecord
    expect(t.sent[1].body[0]).toEqual({ ts: 1002, values: { n: 2 } });
    await ackAll(t.sent, 1);
    t.clock.advance(5000);
    expect(t.outbox.writes).toBe(0);
    expect(t.outbox.size).toBe(0);
  });

  it('offline: readings are written in batches after writeAfterMs, at most one pass a period; a restart sends them first, in order, with their ts', async () => {
    const t = setup();
    t.outbox.start();
    for (let n = 1; n <= 5; n++) {
      t.outbox.accept(100 * n, { n });
      t.clock.advance(300);
    }
    // The open batch filled up at reading 4 (perRecord 3): [1, 2, 3] went into a record then;
    // [4, 5] had not waited writeAfterMs at the pass of 1000 ms, so they wait for the next.
    expect(t.outbox.writes).toBe(1);
    t.clock.advance(2000);
    expect(t.outbox.writes).toBe(2);
    const writes = t.outbox.writes;
    expect(t.outbox.size).toBe(5);
    // Reset: nothing of this run is acknowledged; a new outbox on the same store.
    const again = setup(t.store);
    again.outbox.start();
    expect(again.lines.some((l) => /outbox: 5 readings from before the restart in 2 records, sent first/.test(l))).toBe(true);
    again.outbox.accept(9999, { n: 6 });
    expect(ns(again.sent)).toEqual([[1, 2, 3]]);
    expect(again.sent[0].body.map((r) => r.ts)).toEqual([100, 200, 300]);
    await ackAll(again.sent);
    await ackAll(again.sent, 1);
    await ackAll(again.sent, 2);
    expect(ns(again.sent)).toEqual([[1, 2, 3], [4, 5], [6]]);
    expect(again.outbox.size).toBe(0);
    expect([...(t.store as unknown as { values_: Map<string, string> }).values_.keys()]).toEqual([]); // every record deleted
    expect(writes).toBeLessThanOrEqual(3);
  });

  it('records fill up across write passes: the ring holds records x perRecord readings however often a pass writes', async () => {
    const t = setup();
    t.outbox.start();
    const refused: unknown[] = [];
    for (let n = 1; n <= 16; n++) {
      refused.push(t.outbox.accept(n, { n }));
      t.clock.advance(1200); // a pass between any two readings: each writes one reading
    }
    expect(refused.filter((r) => r !== undefined)).toHaveLength(4); // 4 records x 3 = 12 held
    const keys = [...(t.store as unknown as { values_: Map<string, string> }).values_.keys()].sort();
    expect(keys).toEqual(['ob0', 'ob1', 'ob2', 'ob3']);
    expect(t.outbox.size).toBe(12);
    expect(t.outbox.writes).toBe(12); // one write a pass, each merging its reading into the newest record while it had room
  });

  it('flash wear: offline for an hour at a reading every 5 s, defaults: about 6 writes a minute until the ring is full (README)', () => {
    const store = new MemoryStore();
    const clock = new FakeClock(0);
    const { device } = fakeDevice();
    const outbox = new TelemetryOutbox({ store, clock, log: { debug() {}, info() {}, warn() {}, error() {} }, device });
    outbox.start();
    let accepted = 0;
    for (let t = 0; t < 3_600_000; t += 5000) {
      if (outbox.accept(t, { temperature: 21.53, humidity: 40.12, pressure: 1013.2, battery_v: 3.91 }) === undefined) accepted++;
      clock.advance(5000);
    }
    expect(accepted).toBe(256); // 16 records x 16
    const minutes = (accepted * 5000) / 60_000;
    expect(outbox.writes / minutes).toBeLessThanOrEqual(6.1); // one pass per 10 s, nothing more
    expect(outbox.writes / minutes).toBeGreaterThan(5);
  });

  it('a full ring refuses new readings with queue-full, logged once; room again once the server acknowledges', async () => {
    const t = setup();
    t.outbox.start();
    const refusals: (MqttError | undefined)[] = [];
    for (let n = 1; n <= 20; n++) refusals.push(t.outbox.accept(n, { n }));
    // 4 records of 3: 12 held; nothing more is taken into memory than the ring can write.
    expect(refusals.slice(0, 12).every((r) => r === undefined)).toBe(true);
    expect(refusals.slice(12).every((r) => r instanceof MqttError && r.code === 'queue-full')).toBe(true);
    expect(t.lines.filter((l) => /outbox: reading refused/.test(l))).toHaveLength(1);
    expect(t.outbox.size).toBe(12);
    t.sent[0].ack(); // reading 1, the start of the first record
    await flushMicrotasks();
    expect(t.outbox.accept(21, { n: 21 })).toMatchObject({ code: 'queue-full' });
    t.sent[1].ack(); // readings 2 and 3: the first record is done and deleted
    await flushMicrotasks();
    expect(t.outbox.accept(22, { n: 22 })).toBeUndefined();
  });

  it('a corrupt record is skipped with a log line and deleted; the others are sent', async () => {
    const store = new MemoryStore();
    store.set('ob0', { q: 1, r: [[5, { n: 1 }]] });
    store.set('ob1', { q: 2, r: 'garbage' });
    store.set('ob2', { q: 3, r: [[7, { n: 3 }]] });
    const t = setup(store);
    t.outbox.start();
    expect(t.lines.some((l) => /outbox: record ob1 is corrupt, skipped and deleted/.test(l))).toBe(true);
    expect(store.get('ob1')).toBeUndefined();
    await ackAll(t.sent);
    await ackAll(t.sent, 1);
    expect(ns(t.sent)).toEqual([[1], [3]]);
  });

  it('a message refused by the session is tried again after retryMs, nothing lost', async () => {
    const t = setup();
    t.outbox.start();
    t.outbox.accept(1, { n: 1 });
    t.sent[0].fail(new MqttError('queue-full', 'send queue full'));
    await flushMicrotasks();
    expect(t.lines.some((l) => /outbox: telemetry not sent, again in 500 ms/.test(l))).toBe(true);
    t.clock.advance(500);
    expect(ns(t.sent)).toEqual([[1], [1]]);
  });

  it('a message in flight from the open readings that got written is the start of its record: the rest is rewritten, not resent', async () => {
    const t = setup();
    t.outbox.start();
    t.outbox.accept(1, { n: 1 });
    t.outbox.accept(2, { n: 2 });
    t.clock.advance(1000); // written: a record of [1, 2]; [1] is in flight
    expect(t.outbox.writes).toBe(1);
    t.sent[0].ack();
    await flushMicrotasks();
    expect(ns(t.sent)).toEqual([[1], [2]]); // the rest of the record
    t.clock.advance(1000); // [2] is in flight: the record is not rewritten under it
    t.sent[1].ack();
    await flushMicrotasks();
    expect(t.outbox.size).toBe(0);
    expect(t.store.get('ob0')).toBeUndefined();
    // A restart now would resend nothing.
    const again = setup(t.store);
    again.outbox.start();
    expect(again.sent).toEqual([]);
  });

  it('a message over the server\'s rate limit (over-limit) is split down to single readings; one that never fits is dropped, logged', async () => {
    const t = setup();
    t.outbox.start();
    t.outbox.accept(1, { n: 1 });
    t.outbox.accept(2, { n: 2 });
    t.outbox.accept(3, { n: 3 });
    t.sent[0].ack(); // [1]
    await flushMicrotasks();
    t.sent[1].fail(new MqttError('over-limit', 'too many data points')); // [2, 3]
    await flushMicrotasks();
    expect(ns(t.sent).slice(2)).toEqual([[2]]);
    t.sent[2].fail(new MqttError('over-limit', 'too many data points')); // [2] alone still over
    await flushMicrotasks();
    expect(t.lines.some((l) => /a reading is over the server's rate limit on its own .*dropped/.test(l))).toBe(true);
    expect(ns(t.sent).slice(3)).toEqual([[3]]);
    t.sent[3].ack();
    await flushMicrotasks();
    expect(t.outbox.size).toBe(0);
  });

  it('close() writes what is open, so a clean stop keeps it', () => {
    const t = setup();
    t.outbox.start();
    t.outbox.accept(1, { n: 1 });
    t.outbox.close();
    const again = setup(t.store);
    again.outbox.start();
    expect(ns(again.sent)).toEqual([[1]]);
  });
});
