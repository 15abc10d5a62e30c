/**
 * A small firmware for the bridge tests that needs only the DeviceClient: telemetry {seq, ts}
 * every `telemetryIntervalMs` (a shared attribute of that name changes it), a `toggle_gpio` RPC on
 * an in-memory pin, an `echo` RPC, a `callServer` RPC that makes a client-side RPC, and counts of what the server acknowledged (PUBACK) so a test
 * can compare them with what the server stored.
 */
import type { TimerHandle } from '../../../src/platform/clock';
import { describeError } from '../../../src/platform/errors';
import type { Platform } from '../../../src/platform/platform';
import type { JsonValue } from '../../../src/platform/store';
import { openDevice, type DeviceConnection, type DeviceConnectionConfig } from '../../../src/thingsboard/device-connection';
import { isObject } from '../../../src/thingsboard/json';
import type { XsApp } from './app';

class ProbeDevice implements XsApp {
  private timer: TimerHandle | undefined;
  private seq = 0;
  private acked = 0;
  private failed = 0;
  private lastAcked = 0;
  private pin = false;
  private intervalMs: number;
  private stopped = false;

  constructor(
    private readonly platform: Platform,
    private readonly device: DeviceConnection,
    intervalMs: number,
  ) {
    this.intervalMs = intervalMs;
    const client = device.client;
    client.onRpc('toggle_gpio', (params) => {
      const pin = isObject(params) ? params.pin : undefined;
      this.pin = !this.pin;
      return { pin: pin === undefined ? 'led' : pin, value: this.pin };
    });
    client.onRpc('echo', (params) => params);
    // Asks the server a client-side RPC and answers with its reply: an RPC handler that returns a
    // promise, and the client-side RPC response path, in one call.
    client.onRpc('callServer', (params) => {
      const p = isObject(params) ? params : {};
      return this.device.client.callRpc(typeof p.method === 'string' ? p.method : 'getSessionLimits', p.params ?? {});
    });
    client.onSharedAttributes((update) => {
      const v = update.values.telemetryIntervalMs;
      if (typeof v === 'number' && Number.isInteger(v) && v >= 10) {
        this.intervalMs = v;
        this.platform.log.info('probe: telemetryIntervalMs = ' + v);
        this.schedule();
      }
    });
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    if (this.timer !== undefined) this.platform.clock.clearTimeout(this.timer);
    this.timer = this.platform.clock.setTimeout(() => this.cycle(), this.intervalMs);
  }

  private cycle(): void {
    this.timer = undefined;
    const seq = ++this.seq;
    this.device.client.sendTelemetry({ seq, pin: this.pin }).then(
      () => {
        this.acked++;
        if (seq > this.lastAcked) this.lastAcked = seq;
      },
      (error: unknown) => {
        this.failed++;
        this.platform.log.warn('probe: telemetry ' + seq + ' failed: ' + describeError(error));
      },
    );
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.platform.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.device.close();
  }

  status(): JsonValue {
    return {
      connected: this.device.client.connected,
      sent: this.seq,
      acked: this.acked,
      failed: this.failed,
      lastAcked: this.lastAcked,
      intervalMs: this.intervalMs,
      pin: this.pin,
      source: this.device.source,
    };
  }
}

export async function startProbeDevice(platform: Platform, config: DeviceConnectionConfig, options: unknown): Promise<XsApp> {
  const o = isObject(options as JsonValue) ? (options as { telemetryIntervalMs?: number }) : {};
  const device = await openDevice(platform, config);
  return new ProbeDevice(platform, device, o.telemetryIntervalMs ?? 1000);
}
