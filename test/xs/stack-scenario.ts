/**
 * Every path of the firmware on the real XS engine with a device-sized JavaScript stack
 * (tbxs's XS host, targets/xsnap/native/stack-host.c): a run passes only if each step does what
 * it should and no worker died. A Moddable device whose stack overflows is dead
 * (`XS abort: JavaScript stack overflow`); here the worker dies the same way, and the run names
 * the stack size and the frames.
 *
 * Four XS workers against one local ThingsBoard server, at the same stack:
 * - the firmware (src/app on the simulated board, over the ESP32 target's socket adapter and
 *   clock): startup, telemetry, the settings' attribute response, every GPIO RPC (good, string
 *   and bad params), an unknown method, shared attribute updates and deletions (settings),
 *   keepalive (1 s), a server restart and the reconnect, an RPC after it;
 * - the firmware provisioning itself (no token: provision key and secret), then an RPC;
 * - a probe device: an RPC whose handler makes a client-side RPC (async handler + client-side
 *   RPC response);
 * - a gateway with two children: an RPC to a child, a child's shared attribute update, the
 *   children's attribute requests and their re-announcement after a reconnect.
 * Shared by test/xs/xs-stack.test.ts (npm test) and test/bench/xs-bench.ts (the stack search).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTbServer, type TbServer } from '../../targets/host/tb-server/index';
import type { StackPeak } from '../../targets/xsnap/worker';
import { runXsDevice, type XsDevice, type XsDeviceOptions } from '../../targets/xsnap/xs-device';

export interface StackScenarioOptions {
  /** The device's creation.stack, in slots. */
  stackSlots: number;
  /** Run the bundle minified as dist/esp32/tbxs.min.js. Default false. */
  minify?: boolean;
  /** Record the stack profile of every step (XsWorker.stackPeak). Default false. */
  profile?: boolean;
}

export interface StepPeak {
  /** "<worker>: <step>". */
  step: string;
  peak: StackPeak;
}

export interface StackScenarioResult {
  passed: boolean;
  /** What went wrong, one line each (a failed step, a dead worker). */
  failures: string[];
  /** The one-line stack overflow error of a worker that died of it. */
  overflow: string | undefined;
  /** With `profile`: each step's peak, in the order run. */
  peaks: StepPeak[];
}

const TOKENS = { firmware: 'STACK_FW', probe: 'STACK_PROBE', gateway: 'STACK_GW' } as const;
const PROVISION = { key: 'stack-key', secret: 'stack-secret' };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(check: () => boolean, what: string, timeoutMs: number, dead: () => Error | undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    const error = dead();
    if (error) throw error;
    if (Date.now() > deadline) throw new Error('timed out after ' + timeoutMs + ' ms waiting for ' + what);
    await sleep(25);
  }
}

/** One XS worker and the steps run on it. */
class Worker {
  device: XsDevice | undefined;
  died: Error | undefined;

  constructor(
    readonly name: string,
    private readonly result: StackScenarioResult,
    private readonly profile: boolean,
  ) {}

  async start(options: XsDeviceOptions): Promise<void> {
    this.device = await runXsDevice(options);
    void this.device.done.then((error) => {
      if (!error) return;
      this.died = error;
      if (/stack overflow/.test(error.message) && !this.result.overflow) this.result.overflow = error.message;
    });
  }

  readonly dead = (): Error | undefined => this.died;

  /** Runs a step; a failure is recorded and ends this worker's part of the scenario. */
  async step(name: string, run: () => Promise<unknown>): Promise<boolean> {
    if (this.died) return false;
    try {
      await run();
      if (this.profile && this.device && !this.died) this.result.peaks.push({ step: this.name + ': ' + name, peak: await this.device.stackPeak(true) });
      return true;
    } catch (error) {
      this.result.failures.push(this.name + ': ' + name + ': ' + (this.died ?? (error as Error)).message);
      return false;
    }
  }

  async close(): Promise<void> {
    await this.device?.close().catch(() => undefined);
  }
}

function expectEqual(actual: unknown, expected: unknown, what: string): void {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) throw new Error(what + ': got ' + JSON.stringify(actual) + ', expected ' + JSON.stringify(expected));
}

function expectError(actual: unknown, what: string): void {
  if (!actual || typeof actual !== 'object' || typeof (actual as { error?: unknown }).error !== 'string') {
    throw new Error(what + ': expected {"error": ...}, got ' + JSON.stringify(actual));
  }
}

export async function runStackScenario(options: StackScenarioOptions): Promise<StackScenarioResult> {
  const result: StackScenarioResult = { passed: false, failures: [], overflow: undefined, peaks: [] };
  const dirs: string[] = [];
  const stateDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'tbxs-stack-'));
    dirs.push(dir);
    return dir;
  };
  const server = await startTbServer({
    devices: [
      { name: 'fw', token: TOKENS.firmware },
      { name: 'probe', token: TOKENS.probe },
    ],
    gateways: [{ name: 'gw', token: TOKENS.gateway }],
    provision: PROVISION,
    rpcMinTimeoutMs: 0,
  });
  const telemetry = new Map<string, number>();
  server.onEvent((e) => {
    if (e.type === 'uplink' && e.topic.endsWith('telemetry')) telemetry.set(e.device, (telemetry.get(e.device) ?? 0) + 1);
  });
  const base = {
    host: '127.0.0.1',
    port: server.mqttPort,
    session: { keepaliveSeconds: 1, reconnect: { initialMs: 50, maxMs: 200 } },
    xsStack: options.stackSlots,
    minify: options.minify === true,
    logLevel: 'warn' as const,
  };
  const profile = options.profile === true;
  const workers: Worker[] = [];
  const worker = (name: string) => {
    const w = new Worker(name, result, profile);
    workers.push(w);
    return w;
  };
  try {
    const parts = [
      firmwarePart(worker('firmware'), server, { ...base, credentials: { type: 'ACCESS_TOKEN', token: TOKENS.firmware }, stateDir: stateDir() }, telemetry),
      provisionPart(worker('provisioned'), server, {
        ...base,
        provisioning: { provisionDeviceKey: PROVISION.key, provisionDeviceSecret: PROVISION.secret, deviceName: 'stack-provisioned' },
        stateDir: stateDir(),
      }),
      probePart(worker('probe'), server, { ...base, credentials: { type: 'ACCESS_TOKEN', token: TOKENS.probe }, stateDir: stateDir() }),
      gatewayPart(worker('gateway'), server, { ...base, credentials: { type: 'ACCESS_TOKEN', token: TOKENS.gateway }, stateDir: stateDir() }),
    ];
    // Every worker's own steps side by side, then one server restart for all, then what must
    // work again after it (the reconnect, resubscriptions, the gateway's re-announcements).
    await Promise.all(parts.map((part) => part.before()));
    await server.stopMqtt();
    await sleep(700);
    await server.startMqtt();
    await Promise.all(parts.map((part) => part.after()));
    for (const w of workers) if (w.died && !result.failures.some((f) => f.startsWith(w.name + ':'))) result.failures.push(w.name + ': ' + w.died.message);
  } finally {
    await Promise.all(workers.map((w) => w.close()));
    await server.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
  result.passed = result.failures.length === 0;
  return result;
}

/** A worker's steps before the server restart and after it (each skips once one failed). */
interface Part {
  before(): Promise<unknown>;
  after(): Promise<unknown>;
}

function firmwarePart(w: Worker, server: TbServer, options: XsDeviceOptions, telemetry: Map<string, number>): Part {
  const rpc = (method: string, params: unknown) => server.sendRpc('fw', method, params as never, { timeoutMs: 3000 });
  const gpio2 = async (method: string, params: unknown, expected: boolean) =>
    expectEqual(((await rpc(method, params)) as Record<string, unknown>)['2'], expected, method + ' GPIO 2');
  let before = 0;
  return {
    before: async () =>
      (await w.step('start, connect, telemetry, the settings request', async () => {
        await w.start({ ...options, app: 'firmware', name: 'stack-fw', appOptions: { settings: { telemetryIntervalMs: 500 } } });
        await until(() => (telemetry.get('fw') ?? 0) >= 2, 'two telemetry messages', 8000, w.dead);
        await until(() => server.attributes('fw', 'client').led === false, 'the GPIO client attributes', 3000, w.dead);
      })) &&
      (await w.step('getGpioStatus', () => gpio2('getGpioStatus', {}, false))) &&
      (await w.step('setGpioStatus', () => gpio2('setGpioStatus', { pin: 2, enabled: true }, true))) &&
      (await w.step('setGpioStatus, params as a JSON string', () => gpio2('setGpioStatus', '{"pin":"2","enabled":"false"}', false))) &&
      (await w.step('setGpioStatus, bad params', async () => expectError(await rpc('setGpioStatus', { pin: 'nope', enabled: 'maybe' }), 'bad params'))) &&
      (await w.step('toggle_gpio', async () => expectEqual(await rpc('toggle_gpio', { pin: 'led' }), { led: true }, 'toggle'))) &&
      (await w.step('toggle_gpio, pin as a string', async () => expectEqual(await rpc('toggle_gpio', 'led'), { led: false }, 'toggle'))) &&
      (await w.step('toggle_gpio, unknown pin', async () => expectError(await rpc('toggle_gpio', 42), 'unknown pin'))) &&
      (await w.step('unknown method', async () => expectError(await rpc('no_such_method', {}), 'unknown method'))) &&
      (await w.step('shared attribute update (settings)', async () => {
        server.setSharedAttributes('fw', { telemetryIntervalMs: 700 });
        await until(() => JSON.stringify(server.attributes('fw', 'client').settings ?? {}).includes('700'), 'settings reported', 3000, w.dead);
      })) &&
      (await w.step('shared attribute deletion (settings back)', async () => {
        server.deleteSharedAttributes('fw', ['telemetryIntervalMs']);
        await until(() => JSON.stringify(server.attributes('fw', 'client').settings ?? {}).includes('500'), 'settings reverted', 3000, w.dead);
      })) &&
      (await w.step('keepalive (1 s)', async () => {
        await sleep(1600);
        if (!server.isConnected('fw')) throw new Error('the session did not stay up through a keepalive');
        before = telemetry.get('fw') ?? 0;
      })),
    after: async () =>
      !w.died &&
      w.device !== undefined &&
      (await w.step('reconnect after the server restart, telemetry', async () => {
        await until(() => server.isConnected('fw'), 'the reconnect', 5000, w.dead);
        await until(() => (telemetry.get('fw') ?? 0) > before, 'telemetry after the reconnect', 5000, w.dead);
      })) &&
      (await w.step('getGpioStatus after the restart', () => gpio2('getGpioStatus', {}, false))),
  };
}

function provisionPart(w: Worker, server: TbServer, options: XsDeviceOptions): Part {
  return {
    before: async () =>
      (await w.step('provision, connect', async () => {
        await w.start({ ...options, app: 'firmware', name: 'stack-provisioned', appOptions: { settings: { telemetryIntervalMs: 1000 } } });
        await until(() => server.isConnected('stack-provisioned'), 'the provisioned device to connect', 8000, w.dead);
      })) &&
      (await w.step('RPC to the provisioned device', async () => {
        expectEqual(await server.sendRpc('stack-provisioned', 'toggle_gpio', 'led', { timeoutMs: 3000 }), { led: true }, 'toggle');
      })),
    after: async () =>
      !w.died &&
      w.device !== undefined &&
      (await w.step('reconnect with the stored credentials', async () => {
        await until(() => server.isConnected('stack-provisioned'), 'the reconnect', 5000, w.dead);
      })),
  };
}

function probePart(w: Worker, server: TbServer, options: XsDeviceOptions): Part {
  return {
    before: async () =>
      (await w.step('start, connect', async () => {
        await w.start({ ...options, app: 'probe', name: 'stack-probe', appOptions: { telemetryIntervalMs: 500 } });
        await until(() => server.isConnected('probe'), 'the probe to connect', 8000, w.dead);
      })) &&
      (await w.step('RPC whose handler makes a client-side RPC', async () => {
        const answer = (await server.sendRpc('probe', 'callServer', { method: 'getSessionLimits', params: {} }, { timeoutMs: 3000 })) as Record<string, unknown>;
        if (typeof answer?.maxPayloadSize !== 'number') throw new Error('getSessionLimits answer: ' + JSON.stringify(answer));
      })),
    after: async () =>
      !w.died &&
      w.device !== undefined &&
      (await w.step('reconnect after the server restart', async () => {
        await until(() => server.isConnected('probe'), 'the reconnect', 5000, w.dead);
      })),
  };
}

function gatewayPart(w: Worker, server: TbServer, options: XsDeviceOptions): Part {
  return {
    before: async () =>
      (await w.step('start, connect, announce two children', async () => {
        await w.start({ ...options, app: 'gateway', name: 'stack-gw', appOptions: { children: 2, telemetryIntervalMs: 700 } });
        await until(() => server.isConnected('child-1') && server.isConnected('child-2'), 'both children', 8000, w.dead);
        await until(() => server.attributes('child-2', 'client').led === false, 'the children GPIO attributes', 3000, w.dead);
      })) &&
      (await w.step('RPC to a child', async () => expectEqual(await server.sendRpc('child-1', 'toggle_gpio', { pin: 'led' }, { timeoutMs: 3000 }), { led: true }, 'child toggle'))) &&
      (await w.step('shared attribute update of a child', async () => {
        server.setSharedAttributes('child-2', { telemetryIntervalMs: 900 });
        await until(() => JSON.stringify(server.attributes('child-2', 'client').settings ?? {}).includes('900'), 'child settings reported', 3000, w.dead);
      })) &&
      (await w.step('unknown method on a child', async () => expectError(await server.sendRpc('child-2', 'no_such_method', {}, { timeoutMs: 3000 }), 'child unknown method'))),
    after: async () =>
      !w.died &&
      w.device !== undefined &&
      (await w.step('reconnect, children announced again, RPC to a child', async () => {
        await until(() => server.isConnected('child-1') && server.isConnected('child-2'), 'both children again', 5000, w.dead);
        expectEqual(await server.sendRpc('child-2', 'toggle_gpio', 'led', { timeoutMs: 3000 }), { led: true }, 'child toggle');
      })),
  };
}
