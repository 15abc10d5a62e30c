/**
 * The real firmware (src/app Firmware) on the simulated board (targets/host/simulated-board.ts is
 * portable: hal/mock and src only) over the bridge platform: the same code the Node device runs.
 * The TbDevice handed to the Firmware counts telemetry and keeps the time stamps of the messages the
 * server acknowledged (PUBACK), so a test can compare them with what the server stored.
 */
import { createSimulatedFirmware, type SimulatedFirmware, type SimulatedFirmwareInput } from '../../host/simulated-board';
import type { Settings } from '../../../src/app/settings';
import type { TimerHandle } from '../../../src/platform/clock';
import { describeError } from '../../../src/platform/errors';
import type { Platform } from '../../../src/platform/platform';
import type { JsonValue } from '../../../src/platform/store';
import { openDevice, type DeviceConnection, type DeviceConnectionConfig } from '../../../src/thingsboard/device-connection';
import type { JsonObject } from '../../../src/thingsboard/json';
import type { RpcHandler } from '../../../src/thingsboard/rpc-registry';
import type { SharedAttributesListener } from '../../../src/thingsboard/shared-attributes';
import type { AttributeRequest, AttributesResponse, ClaimOptions, TbDevice } from '../../../src/thingsboard/tb-device';
import type { TelemetryInput } from '../../../src/thingsboard/telemetry';
import { TimeAwareDevice, type EpochSource } from '../../esp32/time-aware-device';
import type { XsApp } from './app';

/** How many acknowledged telemetry time stamps are kept for status(). */
const ACKED_TS_KEPT = 256;

/** A TbDevice that forwards to the DeviceClient and counts telemetry outcomes. */
class CountingDevice implements TbDevice {
  sent = 0;
  acked = 0;
  failed = 0;
  readonly ackedTs: number[] = [];

  constructor(private readonly inner: TbDevice) {}

  get connected(): boolean {
    return this.inner.connected;
  }

  sendTelemetry(data: TelemetryInput): Promise<void> {
    this.sent++;
    const ts = !Array.isArray(data) && typeof data.ts === 'number' ? data.ts : -1;
    return this.inner.sendTelemetry(data).then(
      () => {
        this.acked++;
        this.ackedTs.push(ts);
        if (this.ackedTs.length > ACKED_TS_KEPT) this.ackedTs.shift();
      },
      (error: unknown) => {
        this.failed++;
        throw error;
      },
    );
  }

  sendAttributes(attributes: JsonObject): Promise<void> {
    return this.inner.sendAttributes(attributes);
  }
  requestAttributes(request?: AttributeRequest, timeoutMs?: number): Promise<AttributesResponse> {
    return this.inner.requestAttributes(request, timeoutMs);
  }
  onSharedAttributes(listener: SharedAttributesListener): () => void {
    return this.inner.onSharedAttributes(listener);
  }
  onRpc(method: string, handler: RpcHandler): () => void {
    return this.inner.onRpc(method, handler);
  }
  claim(options?: ClaimOptions): Promise<void> {
    return this.inner.claim(options);
  }
}

/** How often the mock I2C buses' transaction logs are emptied (see FirmwareApp). */
const BUS_LOG_TRIM_MS = 10_000;

class FirmwareApp implements XsApp {
  private trimTimer: TimerHandle | undefined;

  constructor(
    private readonly platform: Platform,
    private readonly device: DeviceConnection,
    private readonly counting: CountingDevice,
    private readonly sim: SimulatedFirmware,
  ) {
    this.scheduleTrim();
  }

  /**
   * hal/mock's MockI2cBus keeps every transaction in `log` (for tests), without a bound: on the
   * simulated board that is ~49 slots per telemetry cycle (measured on XS), for ever. A long-running
   * device empties it now and then; nothing here reads it.
   */
  private scheduleTrim(): void {
    this.trimTimer = this.platform.clock.setTimeout(() => {
      const sensors = this.sim.board.sensors ?? {};
      for (const name of Object.keys(sensors)) {
        const bus = sensors[name].bus;
        this.sim.io.bus(bus.data, bus.clock, bus.port).log.length = 0;
      }
      this.scheduleTrim();
    }, BUS_LOG_TRIM_MS);
  }

  stop(): void {
    if (this.trimTimer !== undefined) this.platform.clock.clearTimeout(this.trimTimer);
    this.trimTimer = undefined;
    this.sim.close();
    this.device.close();
  }

  status(): JsonValue {
    const c = this.counting;
    return {
      connected: this.device.client.connected,
      source: this.device.source,
      running: this.sim.firmware.running,
      settings: this.sim.firmware.settings as unknown as JsonObject,
      gpio: this.sim.firmware.gpioStatus(),
      telemetry: { sent: c.sent, acked: c.acked, failed: c.failed, ackedTs: c.ackedTs.slice() },
      ota: this.sim.firmware.update ? (this.sim.firmware.update.status as unknown as JsonObject) : null,
      session: this.device.session.stats as unknown as JsonObject,
    };
  }
}

export interface FirmwareAppOptions {
  /** Settings over the defaults (e.g. { telemetryIntervalMs: 500 }); values the server set still win. */
  settings?: Partial<Settings>;
  version?: string;
  /** Store-and-forward telemetry (FirmwareOptions.persistOutbox). */
  persistOutbox?: boolean | { writeAfterMs?: number };
  /** Firmware updates into the host's update target (platform.updateTarget); chunkBytes as FirmwareUpdaterOptions. */
  ota?: { chunkBytes?: number };
}

function otaOptions(platform: Platform, device: DeviceConnection, ota: FirmwareAppOptions['ota']): SimulatedFirmwareInput['ota'] {
  if (!ota) return undefined;
  if (!platform.updateTarget) throw new Error('OTA asked for, but the host gave no update target');
  return { session: device.session, target: platform.updateTarget, ...(ota.chunkBytes === undefined ? {} : { chunkBytes: ota.chunkBytes }) };
}

export async function startFirmwareApp(platform: Platform, config: DeviceConnectionConfig, options: unknown, name: string): Promise<XsApp> {
  const o = (options ?? {}) as FirmwareAppOptions;
  const device = await openDevice(platform, config);
  platform.log.info('device: credentials from ' + device.source + ' (' + device.credentials.type + ')');
  // As on the device (targets/esp32/start.ts): the firmware's time stamps go through
  // TimeAwareDevice; the bridge's clock is the device's EpochClock.
  const counting = new CountingDevice(new TimeAwareDevice(device.client, platform.clock as unknown as EpochSource));
  let sim: SimulatedFirmware | undefined;
  try {
    sim = createSimulatedFirmware({
      device: counting,
      clock: platform.clock,
      store: platform.store,
      log: platform.log,
      name,
      version: o.version,
      settings: o.settings,
      // Kept readings carry dates, as on the device (targets/esp32/start.ts).
      persistOutbox: o.persistOutbox && { ...(o.persistOutbox === true ? {} : o.persistOutbox), toEpoch: (t: number) => (platform.clock as unknown as EpochSource).toEpoch(t) },
      random: platform.random,
      ota: otaOptions(platform, device, o.ota),
      onConnect: (listener) => device.session.events.on('connect', () => listener()),
    });
    sim.firmware.start();
  } catch (error) {
    if (sim) sim.close();
    device.close();
    throw new Error('firmware start failed: ' + describeError(error));
  }
  return new FirmwareApp(platform, device, counting, sim);
}
