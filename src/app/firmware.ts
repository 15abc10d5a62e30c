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
import { TelemetryOutbox, type TelemetryOutboxOptions } from './telemetry-outbox';
import { FirmwareUpdater, type FirmwareUpdaterOptions } from '../thingsboard/firmware-update';

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
  /**
   * Store-and-forward: telemetry is kept in the Store from acceptance until its PUBACK and
   * replayed after a restart (TelemetryOutbox). true for the defaults. Default off.
   */
  persistOutbox?: boolean | Omit<TelemetryOutboxOptions, 'store' | 'clock' | 'log' | 'device'>;
  /**
   * Firmware updates over MQTT (FirmwareUpdater): the device's own MQTT session and the target the
   * image goes to. The running firmware is `info` (title = name). Absent: no OTA.
   */
  ota?: Omit<FirmwareUpdaterOptions, 'device' | 'clock' | 'log' | 'store' | 'current'>;
}

/**
 * The firmware: samples the board's sensors into telemetry, serves the GPIO RPCs, publishes GPIO
 * changes as client attributes, and takes its settings from shared attributes (kept in the Store).
 * Everything it opens (pins, sensors, timers, RPC methods, listeners) is released by close().
 */
export class Firmware {
  private readonly device_: TbDevice;
  private readonly board_: BoardDescription;
  private readonly log_: Log;
  private readonly info_: FirmwareInfo;
  private readonly onConnect_: FirmwareOptions['onConnect'];
  private readonly requestTimeoutMs_: number;
  private readonly appSettings_: AppSettings;
  private readonly gpio_: Gpio;
  private readonly sampler_: Sampler;
  private readonly outbox_: TelemetryOutbox | undefined;
  private readonly ota_: FirmwareOptions['ota'];
  private readonly store_: Store;
  private readonly clock_: Clock;
  private updater_: FirmwareUpdater | undefined;
  private readonly releases_: (() => void)[] = [];
  private state_: 'new' | 'running' | 'closed' = 'new';
  /** GPIO changes not yet reported (pin name -> state): one attributes message per turn, from a job. */
  private gpioReport_: JsonObject | undefined;
  private readonly reportGpio_ = (): void => {
    const attributes = this.gpioReport_;
    this.gpioReport_ = undefined;
    if (attributes && this.state_ === 'running') this.send_('GPIO attribute', this.device_.sendAttributes(attributes));
  };

  constructor(options: FirmwareOptions) {
    this.device_ = options.device;
    this.board_ = options.board;
    this.log_ = new PrefixLog(options.log, 'app');
    this.info_ = { name: options.info.name, version: options.info.version };
    this.onConnect_ = options.onConnect;
    this.ota_ = options.ota;
    this.store_ = options.store;
    this.clock_ = options.clock;
    this.requestTimeoutMs_ = options.attributeRequestTimeoutMs ?? 10_000;
    this.appSettings_ = new AppSettings({ store: options.store, log: this.log_, base: options.settings });
    const hardware = { io: options.io, board: options.board, clock: options.clock, log: this.log_ };
    this.gpio_ = new Gpio({ ...hardware, onChange: (name, on, cause) => this.onGpioChange_(name, on, cause) });
    this.sampler_ = new Sampler({ ...hardware, publish: (ts, values) => this.publishTelemetry_(ts, values) });
    const persist = options.persistOutbox;
    this.outbox_ = persist
      ? new TelemetryOutbox({ ...(persist === true ? {} : persist), store: options.store, clock: options.clock, log: this.log_, device: options.device })
      : undefined;
    for (const name of Object.keys(options.board.pins)) {
      if (INFO_KEYS.indexOf(name) >= 0) this.log_.warn('pin name ' + name + ' collides with a firmware attribute key, which overwrites its state');
    }
  }

  /** The settings in effect (a copy). */
  get settings(): Settings {
    return this.appSettings_.current;
  }

  get running(): boolean {
    return this.state_ === 'running';
  }

  /** Logical state of a pin by board name (true = on / pressed); undefined if not open. */
  isOn(name: string): boolean | undefined {
    return this.gpio_.isOn(name);
  }

  /** Every open pin's logical state by board name. */
  gpioStatus(): { [name: string]: boolean } {
    return this.gpio_.statusByName();
  }

  /** The firmware update under way or last tried; undefined without OTA or before start(). */
  get update(): FirmwareUpdater | undefined {
    return this.updater_;
  }

  /** Opens the pins and sensors, registers the RPC methods, starts sampling, announces itself. */
  start(): void {
    if (this.state_ !== 'new') return;
    this.state_ = 'running';
    // What a previous run left goes before the first new reading.
    if (this.outbox_) this.outbox_.start();
    this.gpio_.open();
    this.sampler_.open();
    for (const off of registerGpioRpc(this.device_, this.gpio_)) this.releases_.push(off);
    this.releases_.push(this.device_.onSharedAttributes((update) => this.onSharedUpdate_(update)));
    if (this.onConnect_) {
      const off = this.onConnect_(() => this.onConnected_());
      if (typeof off === 'function') this.releases_.push(off);
    }
    this.applySampling_();
    if (this.ota_) {
      this.updater_ = new FirmwareUpdater({
        ...this.ota_,
        device: this.device_,
        clock: this.clock_,
        log: new PrefixLog(this.log_, 'ota'),
        store: this.store_,
        current: { title: this.info_.name, version: this.info_.version },
      });
    }
    this.log_.info(this.info_.name + ' ' + this.info_.version + ' on ' + this.board_.name + ': ' + this.gpio_.outputNames().length + ' outputs, ' + this.sampler_.sensorCount + ' sensors, every ' + this.appSettings_.get('telemetryIntervalMs') + ' ms');
    // Without a connect hook this is the only announcement; with one, a later connect repeats it.
    if (!this.onConnect_ || this.device_.connected) this.onConnected_();
  }

  /** Stops everything and releases every timer, pin, sensor, RPC method and listener. Safe to call twice. */
  close(): void {
    if (this.state_ === 'closed') return;
    this.state_ = 'closed';
    for (const off of this.releases_.splice(0)) {
      try {
        off();
      } catch (error) {
        this.log_.warn('unsubscribe failed: ' + describeError(error));
      }
    }
    this.sampler_.close();
    this.gpio_.close();
    if (this.outbox_) this.outbox_.close();
    if (this.updater_) this.updater_.close();
  }

  // ---- reactions ----

  private onConnected_(): void {
    if (this.state_ !== 'running') return;
    const attributes = describeFirmware(this.info_, this.board_);
    attributes.settings = this.appSettings_.current as unknown as JsonObject;
    const states = this.gpio_.statusByName();
    for (const name of Object.keys(states)) attributes[name] = states[name];
    this.send_('firmware attributes', this.device_.sendAttributes(attributes));
    this.requestSettings_();
  }

  /** Asks for the settings' shared attributes, so values changed while we were away apply. */
  private requestSettings_(): void {
    let request;
    try {
      request = this.device_.requestAttributes({ sharedKeys: SETTING_NAMES.slice() }, this.requestTimeoutMs_);
    } catch (error) {
      this.log_.warn('shared attribute request failed: ' + describeError(error));
      return;
    }
    request.then(
      (response) => {
        if (this.state_ !== 'running') return;
        const shared = response.shared ?? {};
        const changed = this.appSettings_.update(shared, 'shared attributes (requested)');
        // A setting the server no longer has was deleted while we were away: back to the configured value.
        const absent = SETTING_NAMES.filter((name) => !Object.prototype.hasOwnProperty.call(shared, name));
        this.applied_(changed.concat(this.appSettings_.revert(absent, 'not set on the server')));
      },
      (error: unknown) => this.log_.warn('shared attribute request failed, settings kept: ' + describeError(error)),
    );
  }

  private onSharedUpdate_(update: SharedAttributesUpdate): void {
    if (this.state_ !== 'running') return;
    const changed = this.appSettings_.update(update.values, 'shared attributes');
    this.applied_(changed.concat(this.appSettings_.revert(update.deleted, 'shared attribute deleted')));
  }

  /** Makes changed settings take effect and reports the settings in effect. */
  private applied_(changed: SettingName[]): void {
    if (changed.length === 0) return;
    if (changed.indexOf('telemetryIntervalMs') >= 0 || changed.indexOf('telemetryEnabled') >= 0) this.applySampling_();
    const settings = this.appSettings_.current as unknown as JsonObject;
    this.send_('settings attribute', this.device_.sendAttributes({ settings }));
  }

  private applySampling_(): void {
    if (this.appSettings_.get('telemetryEnabled')) this.sampler_.run(this.appSettings_.get('telemetryIntervalMs'));
    else if (this.sampler_.isRunning) {
      this.sampler_.stop();
      this.log_.info('telemetry disabled');
    }
  }

  /**
   * Reported from a promise job, not from inside the RPC handler or the input edge that changed
   * the pin: the publish then starts from an empty XS stack (see MqttSession), and several
   * changes of one turn (setGpioStatus, a toggle and its RPC) go out as one message.
   */
  private onGpioChange_(name: string, on: boolean, cause: string): void {
    this.log_.debug(name + ' -> ' + (on ? 'on' : 'off') + ' (' + cause + ')');
    if (this.state_ !== 'running') return;
    const report = this.gpioReport_;
    if (report) {
      report[name] = on;
      return;
    }
    const first: JsonObject = {};
    first[name] = on;
    this.gpioReport_ = first;
    Promise.resolve().then(this.reportGpio_);
  }

  private publishTelemetry_(ts: number, values: TelemetryValues): void {
    if (this.state_ !== 'running') return;
    if (this.outbox_) {
      // A refusal (outbox full) is logged by the outbox, once per episode, not once per reading.
      this.outbox_.accept(ts, values as JsonObject);
      return;
    }
    this.device_.sendTelemetry({ ts, values }).then(undefined, this.telemetryNotSent_);
  }

  /** The telemetry promise's rejection handler, made once (not a closure a cycle). */
  private readonly telemetryNotSent_ = (error: unknown): void => this.log_.warn('telemetry not sent: ' + describeError(error));

  /** Logs a TbDevice call's failure (TbDevice methods reject, never throw), never leaves it unhandled. */
  private send_(what: string, sent: Promise<void>): void {
    sent.then(undefined, (error: unknown) => this.log_.warn(what + ' not sent: ' + describeError(error)));
  }
}
