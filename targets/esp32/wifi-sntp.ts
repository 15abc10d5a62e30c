/// <reference path="../../node_modules/@moddable/typings/sntp.d.ts" />
/**
 * ESP32-only network helpers: rejoining Wi-Fi after a drop and asking SNTP for the time until it
 * answers (the simulator has neither module on every desktop platform, and needs neither).
 */
import SNTP from 'sntp';
import Timer from 'timer';
import WiFi from 'wifi';
import { describeError } from '../../src/platform/errors';
import type { Log } from '../../src/platform/log';
import { currentIp } from './network';

/**
 * Rejoins the access point after Wi-Fi drops. Monitors only: the first join is done by Moddable's
 * setup/network from ssid/password. Moddable's ESP32 WiFi reports "disconnect" once an attempt
 * failed (after its own few retries, in recent versions), and WiFi.connect() aborts an attempt in
 * progress, so this asks again 5 s after each "disconnect", never sooner; the timer repeats every
 * 60 s while there is no address in case an attempt never reports back.
 */
export class WifiWatch {
  private monitor_: WiFi | undefined;
  private retry_: Timer | undefined;

  constructor(
    private readonly ssid_: string,
    private readonly password_: string | undefined,
    private readonly log_: Log,
  ) {
    this.monitor_ = new WiFi(undefined, (message) => this.onMessage_(message));
  }

  close(): void {
    this.stopRetry_();
    this.monitor_?.close();
    this.monitor_ = undefined;
  }

  private onMessage_(message: string): void {
    if (message === WiFi.gotIP) {
      this.log_.info('wifi: IP ' + currentIp());
      this.stopRetry_();
    } else if (message === WiFi.disconnected || message === WiFi.lostIP) {
      // A repeating timer: a fired one-shot Moddable timer cannot be cleared or rescheduled.
      if (this.retry_) Timer.schedule(this.retry_, 5000, 60_000);
      else {
        this.log_.warn('wifi: ' + message + ', rejoining ' + this.ssid_);
        this.retry_ = Timer.set(() => this.join_(), 5000, 60_000);
      }
    }
  }

  private join_(): void {
    if (currentIp()) return this.stopRetry_();
    this.log_.info('wifi: joining ' + this.ssid_);
    try {
      WiFi.connect(this.password_ === undefined ? { ssid: this.ssid_ } : { ssid: this.ssid_, password: this.password_ });
    } catch (error) {
      this.log_.warn('wifi: ' + describeError(error));
    }
  }

  private stopRetry_(): void {
    if (this.retry_) Timer.clear(this.retry_);
    this.retry_ = undefined;
  }
}

/**
 * Asks SNTP for the time until one server answers, then calls onTime(epoch ms). Moddable's SNTP
 * reports 1 with the time in seconds, or -1 when the server did not answer, and closes itself
 * after either; then this waits `retryMs` and starts again.
 */
export class SntpRetry {
  private timer_: Timer | undefined;
  /** The request in flight, closed only by close(): SNTP closes itself once it has reported. */
  private client_: SNTP | undefined;
  private done_ = false;

  constructor(
    private readonly hosts_: string[],
    private readonly onTime_: (epochMs: number) => void,
    private readonly log_: Log,
    private readonly retryMs_ = 60_000,
  ) {
    this.ask_();
  }

  close(): void {
    this.done_ = true;
    if (this.timer_) Timer.clear(this.timer_);
    this.timer_ = undefined;
    const client = this.client_ as { close?: () => void } | undefined;
    this.client_ = undefined;
    try {
      client?.close?.();
    } catch {
      // already closed by the module
    }
  }

  private ask_(): void {
    this.timer_ = undefined;
    if (this.done_) return;
    try {
      this.client_ = new SNTP({ host: this.hosts_[0] }, (message, value) => {
        if (this.done_ || message === 2) return;
        this.client_ = undefined;
        if (message === 1 && typeof value === 'number') {
          this.done_ = true;
          this.log_.info('sntp: time is ' + new Date(value * 1000).toISOString());
          this.onTime_(value * 1000);
        } else this.retryLater_('no answer from ' + this.hosts_[0]);
      });
    } catch (error) {
      this.retryLater_(describeError(error));
    }
  }

  private retryLater_(why: string): void {
    this.log_.warn('sntp: ' + why + '; again in ' + this.retryMs_ / 1000 + ' s');
    this.timer_ = Timer.set(() => this.ask_(), this.retryMs_);
  }
}
