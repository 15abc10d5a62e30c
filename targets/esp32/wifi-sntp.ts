/// <reference path="../../node_modules/@moddable/typings/sntp.d.ts" />
/**
 * ESP32-only network helpers: rejoining Wi-Fi after a drop and asking SNTP for the time until it
 * answers (the simulator has neither module on every desktop platform, and needs neither).
 */
import SNTP from 'sntp';
import Timer from 'timer';
import WiFi from 'wifi';
import type { Log } from '../../src/platform/log';
import { currentIp } from './network';

/**
 * Rejoins the access point after Wi-Fi drops (Moddable's ESP32 Wi-Fi does not retry by itself).
 * Monitors only: the first join is done by Moddable's setup/network from ssid/password.
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
    if (this.retry_) Timer.clear(this.retry_);
    this.retry_ = undefined;
    this.monitor_?.close();
    this.monitor_ = undefined;
  }

  private onMessage_(message: string): void {
    if (message === WiFi.gotIP) {
      this.log_.info('wifi: IP address ' + (currentIp() ?? '?'));
      if (this.retry_) Timer.clear(this.retry_);
      this.retry_ = undefined;
    } else if (message === WiFi.disconnected || message === WiFi.lostIP) {
      this.log_.warn('wifi: ' + message + ', rejoining ' + this.ssid_ + ' in 5 s');
      if (this.retry_) return;
      this.retry_ = Timer.repeat(() => {
        if (currentIp()) return;
        this.log_.info('wifi: joining ' + this.ssid_);
        WiFi.connect(this.password_ === undefined ? { ssid: this.ssid_ } : { ssid: this.ssid_, password: this.password_ });
      }, 5000);
    }
  }
}

/**
 * Asks SNTP for the time until one server answers, then calls onTime(epoch ms). Moddable's SNTP
 * reports 1 with the time in seconds, -1 when the server did not answer; then this waits `retryMs` and starts again.
 */
export class SntpRetry {
  private timer_: Timer | undefined;
  private client_: unknown;
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
    this.closeClient_();
  }

  private ask_(): void {
    this.timer_ = undefined;
    if (this.done_) return;
    try {
      this.client_ = new SNTP({ host: this.hosts_[0] }, (message, value) => {
        if (this.done_) return;
        if (message === 1 && typeof value === 'number') {
          this.done_ = true;
          this.closeClient_();
          this.log_.info('sntp: time is ' + new Date(value * 1000).toISOString());
          this.onTime_(value * 1000);
        } else if (message < 0) {
          this.closeClient_();
          this.log_.warn('sntp: no answer from ' + this.hosts_[0] + ', trying again in ' + this.retryMs_ / 1000 + ' s');
          this.timer_ = Timer.set(() => this.ask_(), this.retryMs_);
        }
      });
    } catch (error) {
      this.log_.warn('sntp: ' + (error instanceof Error ? error.message : String(error)));
      this.timer_ = Timer.set(() => this.ask_(), this.retryMs_);
    }
  }

  private closeClient_(): void {
    const client = this.client_ as { close?: () => void } | undefined;
    this.client_ = undefined;
    try {
      client?.close?.();
    } catch {
      // already closed by the module
    }
  }
}
