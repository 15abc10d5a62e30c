/**
 * The real XS engine (xsnap-worker from @agoric/xsnap) driven over its pipe protocol, and
 * mqtt-packet bundled with targets/xs-shims producing the same bytes on XS as on Node.
 */
import { generate } from 'mqtt-packet';
import type { Packet } from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildXsBundle } from '../../targets/xsnap/probe';
import { XsEvalError, XsExitError, XsWorker } from '../../targets/xsnap/worker';

const supported = process.platform === 'linux' || process.platform === 'darwin';
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const bytesOf = (s: string) => new TextEncoder().encode(s);

describe.skipIf(!supported)('xsnap worker', () => {
  let worker: XsWorker;
  const printed: string[] = [];

  beforeAll(async () => {
    worker = await XsWorker.start({ name: 'tbxs-test', stdout: (line) => printed.push(line) });
  });

  afterAll(async () => {
    await worker?.close();
  });

  it('evaluates scripts and reports computrons and heap counts', async () => {
    const small = await worker.evaluate('print("typeof", typeof setTimeout, typeof TextEncoder); 1 + 1');
    // print() goes to the worker's stdout, a different pipe from the reply: it may arrive later.
    await vi.waitFor(() => expect(printed).toContain('typeof undefined function'));
    expect(small.computrons).toBeGreaterThan(0);
    expect(small.heapCount).toBeGreaterThan(0);
    expect(small.reply.length).toBe(0);
    const loop = await worker.evaluate('(function (n) { let s = 0; for (let i = 0; i < n; i++) s += i; return s; })(10000)');
    expect(loop.computrons).toBeGreaterThan(small.computrons + 10000);
  });

  it('returns an ArrayBuffer result as reply bytes', async () => {
    const result = await worker.evaluate('new TextEncoder().encode("hé").buffer');
    expect(text(result.reply)).toBe('hé');
  });

  it('reports an uncaught exception and keeps running', async () => {
    await expect(worker.evaluate('throw new RangeError("boom")')).rejects.toThrow(XsEvalError);
    await expect(worker.evaluate('null.x')).rejects.toThrow(/TypeError/);
    expect((await worker.evaluate('var kept = 41; kept + 1')).computrons).toBeGreaterThan(0);
  });

  it('round-trips a command host -> worker (handleCommand) and worker -> host (issueCommand)', async () => {
    const asked: string[] = [];
    worker.onCommand(async (bytes) => {
      asked.push(text(bytes));
      await new Promise((resolve) => setTimeout(resolve, 5)); // an async host answer is fine
      return bytesOf('pong:' + text(bytes));
    });
    await worker.evaluate(`
      globalThis.handleCommand = function (buffer) {
        const request = new TextDecoder().decode(buffer);
        const answer = new TextDecoder().decode(issueCommand(new TextEncoder().encode('ping:' + request).buffer));
        return new TextEncoder().encode(request + ' -> ' + answer).buffer;
      };
    `);
    const result = await worker.command(bytesOf('hello'));
    expect(text(result.reply)).toBe('hello -> pong:ping:hello');
    expect(asked).toEqual(['ping:hello']);
    expect(result.timestamps.length).toBe(4); // received, issueCommand out, answer in, reply
  });

  it('runs queued promise jobs before replying', async () => {
    const result = await worker.evaluate(
      'var log = []; Promise.resolve().then(() => log.push("job")); setImmediate(() => log.push("immediate")); 0',
    );
    expect(result.computrons).toBeGreaterThan(0);
    const after = await worker.evaluate('new TextEncoder().encode(log.join()).buffer');
    expect(text(after.reply)).toBe('job,immediate');
  });

  it('generates mqtt-packet bytes on XS equal to Node, and parses them back', async () => {
    await worker.evaluate(await buildXsBundle());
    const result = await worker.evaluate('tbxsProbe.packetsReply()');
    const xs = JSON.parse(text(result.reply)) as {
      connect: string;
      publish: string;
      handTE: string;
      handJs: string;
      parsed: Array<Record<string, unknown>>;
      errors: string[];
    };
    const topic = 'v1/devices/me/telemetry';
    const payload = '{"temperature":21.5,"humidity":48.2,"ts":1700000000000}';
    const connect = generate({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clean: true,
      clientId: 'tbxs-esp32-0001',
      keepalive: 60,
      username: 'A1_TEST_TOKEN',
    } as Packet);
    const publish = generate({ cmd: 'publish', topic, payload, qos: 1, messageId: 42, retain: false, dup: false } as Packet);
    expect(publish.length).toBe(84);
    expect(xs.connect).toBe(connect.toString('hex'));
    expect(xs.publish).toBe(publish.toString('hex'));
    expect(xs.handTE).toBe(publish.toString('hex'));
    expect(xs.handJs).toBe(publish.toString('hex'));
    expect(xs.errors).toEqual([]);
    expect(xs.parsed.map((p) => p.cmd)).toEqual(['connect', 'publish']);
    expect(xs.parsed[0]).toMatchObject({ clientId: 'tbxs-esp32-0001', username: 'A1_TEST_TOKEN', keepalive: 60 });
    expect(xs.parsed[1]).toMatchObject({ topic, qos: 1, messageId: 42, payload: { hex: Buffer.from(payload).toString('hex') } });
  });

  it('stops a runaway script at the metering limit (exit code 17)', async () => {
    const limited = await XsWorker.start({ meteringLimit: 100_000, stdout: 'ignore' });
    const error = await limited.evaluate('for (;;) {}').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(XsExitError);
    expect((error as XsExitError).code).toBe(17);
    await limited.close();
  });
});
