/**
 * The bridge's worker side (targets/xsnap/bridge/xs-platform.ts) run on Node, without the engine:
 * reply framing, worker-side timers, socket commands (open, data, blocked, drain, closed), store
 * mirroring and log levels.
 */
import { describe, expect, it } from 'vitest';
import { CMD, decodeReply, encodeCommand, REC } from '../../targets/xsnap/bridge/protocol';
import { Bridge, XsClock } from '../../targets/xsnap/bridge/xs-platform';

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const bytes = (s: string) => new TextEncoder().encode(s);

function reply(bridge: Bridge) {
  return decodeReply(new Uint8Array(bridge.reply.result));
}

function command(bridge: Bridge, op: number, id = 0, payload?: Uint8Array) {
  const c = encodeCommand(op, id, payload);
  expect(bridge.dispatch(c[0], (c[1] << 8) | c[2], c.subarray(3))).toBe(true);
  return reply(bridge);
}

describe('xsnap bridge, worker side', () => {
  it('frames records and the next timer delay into one reply', () => {
    const bridge = new Bridge({ store: {}, seed: 1, logLevel: 'info' });
    expect(reply(bridge)).toEqual({ delayMs: -1, records: [] });
    bridge.platform.clock.setTimeout(() => undefined, 250);
    bridge.log.debug('dropped below info');
    bridge.log.warn('héllo');
    const r = reply(bridge);
    expect(r.delayMs).toBeGreaterThan(200);
    expect(r.delayMs).toBeLessThanOrEqual(250);
    expect(r.records).toHaveLength(1);
    expect(r.records[0]).toMatchObject({ op: REC.log, id: 2 });
    expect(text(r.records[0].payload)).toBe('héllo');
    expect(reply(bridge).records).toEqual([]); // records go out once
  });

  it('runs due timers on tick, in order, and not ones set by them for now', () => {
    const errors: unknown[] = [];
    const clock = new XsClock((e) => errors.push(e));
    const order: string[] = [];
    clock.setTimeout(() => order.push('b'), 0);
    const cancelled = clock.setTimeout(() => order.push('x'), 0);
    clock.setTimeout(() => {
      order.push('a');
      clock.setTimeout(() => order.push('later'), 0);
    }, -5); // a negative delay is 0: after 'b', which was set first
    clock.setTimeout(() => {
      throw new Error('boom');
    }, 0);
    clock.setTimeout(() => order.push('future'), 60_000);
    clock.clearTimeout(cancelled);
    clock.runDue();
    expect(order).toEqual(['b', 'a']);
    expect(errors).toHaveLength(1);
    expect(clock.nextDelay()).toBe(0);
    clock.runDue();
    expect(order).toEqual(['b', 'a', 'later']);
    expect(clock.pending).toBe(1);
    expect(clock.nextDelay()).toBeGreaterThan(59_000);
  });

  it('bridges a socket under the ESP32 socket adapter: connect record, open/data/blocked/drain/closed, writes kept in order', () => {
    const bridge = new Bridge({ store: {}, seed: 1, logLevel: 'debug' });
    const events: string[] = [];
    const socket = bridge.platform.connector.connect(
      { host: '127.0.0.1', port: 1883 },
      {
        onConnect: () => events.push('open'),
        onData: (b) => events.push('data ' + text(b)),
        onDrain: () => events.push('drain'),
        onClose: (reason) => events.push('close ' + (reason ? reason.message : 'clean')),
      },
    );
    // The adapter opens the ECMA-419 socket on the next turn (a 0 ms timer), as on the device.
    expect(reply(bridge).records).toEqual([]);
    let r = command(bridge, CMD.tick);
    expect(r.records).toHaveLength(1);
    const { op, id, payload } = r.records[0];
    expect(op).toBe(REC.connect);
    expect(JSON.parse(text(payload))).toEqual({ host: '127.0.0.1', port: 1883 });
    command(bridge, CMD.open, id);
    command(bridge, CMD.data, id, bytes('abc'));
    expect(socket.write(bytes('1'))).toBe(true);
    r = command(bridge, CMD.blocked, id);
    expect(r.records.map((x) => [x.op, x.id, text(x.payload)])).toEqual([[REC.write, id, '1']]);
    // Blocked: this write still goes out (the socket reports no space after it) ...
    expect(socket.write(bytes('2'))).toBe(true);
    // ... and the next one waits in the adapter until the host drains.
    expect(socket.write(bytes('3'))).toBe(false);
    r = command(bridge, CMD.drain, id);
    expect(r.records.map((x) => [x.op, x.id, text(x.payload)])).toEqual([
      [REC.write, id, '2'],
      [REC.write, id, '3'],
    ]);
    r = command(bridge, CMD.closed, id, bytes('ECONNRESET'));
    expect(r.records.some((x) => x.op === REC.log && text(x.payload).includes('ECONNRESET'))).toBe(true);
    command(bridge, CMD.data, id, bytes('late')); // ignored: socket gone
    expect(events).toEqual(['open', 'data abc', 'drain', 'close connection to 127.0.0.1:1883 failed or was closed']);
    expect(bridge.openSockets).toBe(0);

    const second = bridge.platform.connector.connect({ host: '127.0.0.2', port: 1 }, { onConnect() {}, onData() {}, onDrain() {}, onClose: () => events.push('no') });
    const id2 = command(bridge, CMD.tick).records[0].id;
    expect(id2).not.toBe(id);
    second.close();
    expect(reply(bridge).records.map((x) => [x.op, x.id])).toEqual([[REC.close, id2]]);
    command(bridge, CMD.closed, id2);
    expect(events).not.toContain('no');
  });

  it('resolves a host name only from what the host resolved, and fails an unknown one clearly', () => {
    const bridge = new Bridge({ store: {}, seed: 1, logLevel: 'info', resolved: { 'tb.example': '10.0.0.7' } });
    const closed: string[] = [];
    bridge.platform.connector.connect({ host: 'tb.example', port: 1883 }, { onConnect() {}, onData() {}, onDrain() {}, onClose: (e) => closed.push(String(e?.message)) });
    const r = command(bridge, CMD.tick);
    expect(JSON.parse(text(r.records[0].payload))).toEqual({ host: '10.0.0.7', port: 1883 });
    bridge.platform.connector.connect({ host: 'nowhere.example', port: 1883 }, { onConnect() {}, onData() {}, onDrain() {}, onClose: (e) => closed.push(String(e?.message)) });
    command(bridge, CMD.tick);
    expect(closed).toEqual(['cannot resolve nowhere.example']);
  });

  it('keeps the store in the worker and mirrors every change to the host', () => {
    const bridge = new Bridge({ store: { creds: { token: 'T' } }, seed: 1, logLevel: 'info' });
    const store = bridge.platform.store;
    expect(store.get('creds')).toEqual({ token: 'T' });
    store.set('appSettings', { telemetryIntervalMs: 700 });
    store.delete('creds');
    store.delete('never');
    expect(store.get('creds')).toBeUndefined();
    const records = reply(bridge).records.map((x) => [x.op, text(x.payload)]);
    expect(records).toEqual([
      [REC.storeSet, 'appSettings\u0000{"telemetryIntervalMs":700}'],
      [REC.storeDelete, 'creds'],
    ]);
  });

  it('seeds its random numbers', () => {
    const a = new Bridge({ store: {}, seed: 42, logLevel: 'info' }).platform.random!;
    const b = new Bridge({ store: {}, seed: 43, logLevel: 'info' }).platform.random!;
    const x = [a(), a(), a()];
    expect(x.every((v) => v >= 0 && v < 1)).toBe(true);
    expect(x).not.toEqual([b(), b(), b()]);
  });
});
