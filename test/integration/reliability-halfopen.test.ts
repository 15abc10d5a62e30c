/**
 * Half-open link detection over real TCP (issue 6): the fault proxy blackholes the link (sockets
 * stay open, nothing flows either way) and, while the link is down, refuses new connections with an
 * RST, as an unreachable network does. Measured:
 * - detection: from the blackhole to the session's 'keepalive-timeout', must be <= 1.5 x K + 1 s;
 * - reconnect: from the link's return to the next CONNACK, must be <= the backoff step the
 *   session is waiting out at that moment (the delay of its last 'reconnecting' event) + 1 s.
 *
 * The proxy drops what it receives during a blackhole instead of holding it as TCP would, so a
 * connection that lived through the blackhole would have a hole in its byte stream; that is why the
 * link's return is modelled as a fresh network (new connections accepted), never as the old
 * connection resuming.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { MqttError } from '../../src/mqtt/errors';
import { MqttSession } from '../../src/mqtt/session';
import { nodeClock } from '../../targets/host/platform/node-clock';
import { NodeConnector } from '../../targets/host/platform/node-connector';
import { startAedes } from '../support/aedes-broker';
import { startFaultProxy } from '../support/fault-proxy';
import { sleep, waitFor } from '../support/wait';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function measure(keepaliveSeconds: number, downMs: number, busy: boolean) {
  const broker = await startAedes();
  cleanups.push(() => broker.close());
  const proxy = await startFaultProxy({ targetPort: broker.port, seed: keepaliveSeconds });
  cleanups.push(() => proxy.close());
  const session = new MqttSession({
    connector: new NodeConnector(),
    clock: nodeClock,
    host: '127.0.0.1',
    port: proxy.port,
    clientId: 'halfopen-' + keepaliveSeconds,
    keepaliveSeconds,
    reconnect: { initialMs: 200, maxMs: 1600, jitter: 0.5 },
    connectTimeoutMs: 2000,
    connackTimeoutMs: 2000,
  });
  cleanups.push(() => session.close());
  const errors: { code: string; at: number }[] = [];
  const connects: number[] = [];
  let lastDelay = 0;
  session.events.on('error', (e: MqttError) => errors.push({ code: e.code, at: Date.now() }));
  session.events.on('connect', () => connects.push(Date.now()));
  session.events.on('reconnecting', (r) => (lastDelay = r.delayMs));
  session.start();
  await waitFor(() => session.connected, 'first connect');

  // A device that keeps publishing sends all the time, so only "nothing received" can reveal the
  // dead link; an idle one relies on PINGREQ/PINGRESP.
  let acked = 0;
  const publisher = busy
    ? setInterval(() => session.publish('t', 'x', { qos: 1 }, (e) => e || acked++), 20)
    : undefined;
  cleanups.push(() => publisher && clearInterval(publisher));
  await sleep(busy ? 300 : 50);
  if (busy) expect(acked).toBeGreaterThan(0);

  const downAt = Date.now();
  proxy.blackhole(true);
  proxy.refuse(true, 'reset');
  await waitFor(() => errors.some((e) => e.code === 'keepalive-timeout'), 'keepalive timeout', (1.5 * keepaliveSeconds + 3) * 1000);
  const detectedMs = errors.find((e) => e.code === 'keepalive-timeout')!.at - downAt;

  await sleep(Math.max(0, downAt + downMs - Date.now()));
  const connectsBefore = connects.length;
  proxy.reset(); // the connections that lived through the blackhole are gone for good
  proxy.blackhole(false);
  proxy.refuse(false);
  const upAt = Date.now();
  const stepMs = lastDelay;
  await waitFor(() => connects.length > connectsBefore, 'reconnect after the link returns', stepMs + 3000);
  const reconnectMs = connects[connectsBefore] - upAt;
  if (busy) {
    const before = acked;
    await waitFor(() => acked > before + 5, 'publishes flow again');
  }
  return { detectedMs, reconnectMs, stepMs };
}

describe('half-open link detection (real TCP, proxy blackhole)', () => {
  it('K = 1 s, device publishing QoS 1 all along: notices within 1.5 K + 1 s, reconnects within the backoff step + 1 s', async () => {
    const r = await measure(1, 4000, true);
    console.log(`half-open K=1 busy: detected ${r.detectedMs} ms, reconnected ${r.reconnectMs} ms after the link returned (step ${r.stepMs} ms)`);
    expect(r.detectedMs).toBeLessThanOrEqual(1500 + 1000);
    expect(r.reconnectMs).toBeLessThanOrEqual(r.stepMs + 1000);
  }, 20_000);

  it('K = 2 s, idle device: notices within 1.5 K + 1 s, reconnects within the backoff step + 1 s', async () => {
    const r = await measure(2, 4500, false);
    console.log(`half-open K=2 idle: detected ${r.detectedMs} ms, reconnected ${r.reconnectMs} ms after the link returned (step ${r.stepMs} ms)`);
    expect(r.detectedMs).toBeLessThanOrEqual(3000 + 1000);
    expect(r.reconnectMs).toBeLessThanOrEqual(r.stepMs + 1000);
  }, 20_000);
});
