import type { BoardDescription, IoFactory } from '../../hal/types';
import type { Clock } from '../platform/clock';
import { describeError } from '../platform/errors';
import type { Log } from '../platform/log';
import { PrefixLog } from '../platform/log';
import type { Store } from '../platform/store';
import type { JsonObject } from '../thingsboard/json';
import type { SharedAttributesUpdate } from '../thingsboard/shared-attributes';
import type { TbDevice } from '../thingsboard/tb-device';
import { INFO_KEYS, describeFirmware, type FirmwareInfo } from './firmware-info';
import { Gpio } from './gpio';
import { registerGpioRpc } from './gpio-rpc';
import { Sampler, type TelemetryValues } from './sampler';
import { SETTING_NAMES, type SettingName, type Settings } from './settings';
import { AppSettings } from './settings-store';

export interface FirmwareOptions {
  device: TbDevice;
  io: IoFactory;
  board: BoardDescription;
  clock: Clock;
  store: Store;
  log: Log;
  info: FirmwareInfo;
  /** The target's settings over the defaults; values the server set (stored) still win. */
  settings?: Partial<Settings>;
  /**
   * Subscribes to "the device (re)connected": the caller wires it to the MQTT session's 'connect'
   * event. On each connect the firmware re-sends its description and GPIO states and asks for
   * the shared attributes again. Return an unsubscribe function; close() calls it.
   */
  onConnect?: (listener: () => void) => (() => void) | void;
  /** Timeout of the shared attribute request at start/connect. Default 10 s. */
  attributeRequestTimeoutMs?: number;
}

/**
 * The firmware: samples the board's sensors into telemetry, serves the GPIO RPCs, publishes GPIO
 * changes as client attributes, and takes its settings from shared attributes (kept in the Store).
 * Everything it opens (pins, sensors, timers, RPC methods, listeners) is released by close().
 */
export class Firmware {
  private readonly device: TbDevice;
  private readonly board: BoardDescription;
  private readonly log: Log;
  private readonly info: FirmwareInfo;
  private readonly onConnect: FirmwareOptions['onConnect'];
  private readonly requestTimeoutMs: number;
  private readonly appSettings: AppSettings;
  private readonly gpio: Gpio;
  private readonly sampler: Sampler;
  private readonly releases: (() => void)[] = [];
  private state: 'new' | 'running' | 'closed' = 'new';

  constructor(options: FirmwareOptions) {
    this.device = options.device;
    this.board = options.board;
    this.log = new PrefixLog(options.log, 'app');
    this.info = { name: options.info.name, version: options.info.version };
    this.onConnect = options.onConnect;
    this.requestTimeoutMs = options.attributeRequestTimeoutMs ?? 10_000;
    this.appSettings = new AppSettings({ store: options.store, log: this.log, base: options.settings });
    this.gpio = new Gpio({
      io: options.io,
      board: options.board,
      clock: options.clock,
      log: this.log,
      onChange: (name, on, cause) => this.onGpioChange(name, on, cause),
    });
    this.sampler = new Sampler({
      io: options.io,
      board: options.board,
      clock: options.clock,
      log: this.log,
      publish: (ts, values) => this.publishTelemetry(ts, values),
    });
    for (const name of Object.keys(options.board.pins)) {
      if (INFO_KEYS.indexOf(name) >= 0) this.log.warn('pin name ' + name + ' collides with a firmware attribute key; its state attribute is overwritten');
    }
  }

  /** The settings in effect (a copy). */
  get settings(): Settings {
    return this.appSettings.current;
  }

  get running(): boolean {
    return this.state === 'running';
  }

  /** Logical state of a pin by board name (true = on / pressed); undefined if not open. */
  isOn(name: string): boolean | undefined {
    return this.gpio.isOn(name);
  }

  /** Every open pin's logical state by board name. */
  gpioStatus(): { [name: string]: boolean } {
    return this.gpio.statusByName();
  }

  /** Opens the pins and sensors, registers the RPC methods, starts sampling, announces itself. */
  start(): void {
    if (this.state !== 'new') return;
    this.state = 'running';
    this.gpio.open();
    this.sampler.open();
    for (const off of registerGpioRpc(this.device, this.gpio)) this.releases.push(off);
    this.releases.push(this.device.onSharedAttributes((update) => this.onSharedUpdate(update)));
    if (this.onConnect) {
      const off = this.onConnect(() => this.onConnected());
      if (typeof off === 'function') this.releases.push(off);
    }
    this.applySampling();
    this.log.info(this.info.name + ' ' + this.info.version + ' on ' + this.board.name + ': ' + this.gpio.outputNames().length + ' outputs, ' + this.sampler.sensorCount + ' sensors, every ' + this.appSettings.get('telemetryIntervalMs') + ' ms');
    // Without a connect hook this is the only announcement; with one, a later connect repeats it.
    if (!this.onConnect || this.device.connected) this.onConnected();
  }

  /** Stops everything and releases every timer, pin, sensor, RPC method and listener. Safe to call twice. */
  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    for (const off of this.releases.splice(0)) {
      try {
        off();
      } catch (error) {
        this.log.warn('unsubscribe failed: ' + describeError(error));
      }
    }
    this.sampler.close();
    this.gpio.close();
  }

  // ---- reactions ----

  private onConnected(): void {
    if (this.state !== 'running') return;
    const attributes = describeFirmware(this.info, this.board);
    attributes.settings = this.appSettings.current as unknown as JsonObject;
    const states = this.gpio.statusByName();
    for (const name of Object.keys(states)) attributes[name] = states[name];
    this.send('firmware attributes', () => this.device.sendAttributes(attributes));
    this.requestSettings();
  }

  /** Asks for the settings' shared attributes, so values changed while we were away apply. */
  private requestSettings(): void {
    let request;
    try {
      request = this.device.requestAttributes({ sharedKeys: SETTING_NAMES.slice() }, this.requestTimeoutMs);
    } catch (error) {
      this.log.warn('shared attribute request failed: ' + describeError(error));
      return;
    }
    request.then(
      (response) => {
        if (this.state !== 'running') return;
        const shared = response.shared ?? {};
        const changed = this.appSettings.update(shared, 'shared attributes (requested)');
        // A setting the server no longer has was deleted while we were away: back to the configured value.
        const absent = SETTING_NAMES.filter((name) => !Object.prototype.hasOwnProperty.call(shared, name));
        this.applied(changed.concat(this.appSettings.revert(absent, 'not set on the server')));
      },
      (error: unknown) => this.log.warn('shared attribute request failed, keeping current settings: ' + describeError(error)),
    );
  }

  private onSharedUpdate(update: SharedAttributesUpdate): void {
    if (this.state !== 'running') return;
    const changed = this.appSettings.update(update.values, 'shared attributes');
    this.applied(changed.concat(this.appSettings.revert(update.deleted, 'shared attribute deleted')));
  }

  /** Makes changed settings take effect and reports the settings in effect. */
  private applied(changed: SettingName[]): void {
    if (changed.length === 0) return;
    if (changed.indexOf('telemetryIntervalMs') >= 0 || changed.indexOf('telemetryEnabled') >= 0) this.applySampling();
    const settings = this.appSettings.current as unknown as JsonObject;
    this.send('settings attribute', () => this.device.sendAttributes({ settings }));
  }

  private applySampling(): void {
    if (this.appSettings.get('telemetryEnabled')) this.sampler.run(this.appSettings.get('telemetryIntervalMs'));
    else if (this.sampler.isRunning) {
      this.sampler.stop();
      this.log.info('telemetry disabled');
    }
  }

  private onGpioChange(name: string, on: boolean, cause: string): void {
    this.log.debug(name + ' -> ' + (on ? 'on' : 'off') + ' (' + cause + ')');
    if (this.state !== 'running') return;
    const attributes: JsonObject = {};
    attributes[name] = on;
    this.send('GPIO attribute', () => this.device.sendAttributes(attributes));
  }

  private publishTelemetry(ts: number, values: TelemetryValues): void {
    if (this.state !== 'running') return;
    this.send('telemetry', () => this.device.sendTelemetry({ ts, values }));
  }

  /** Runs a TbDevice call whose failure (thrown or rejected) is logged, never left unhandled. */
  private send(what: string, call: () => Promise<void>): void {
    try {
      call().catch((error: unknown) => this.log.warn(what + ' not sent: ' + describeError(error)));
    } catch (error) {
      this.log.warn(what + ' not sent: ' + describeError(error));
    }
  }
}
