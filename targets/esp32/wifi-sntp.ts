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
  private monitor: WiFi | undefined;
  private retry: Timer | undefined;

  constructor(
    private readonly ssid: string,
    private readonly password: string | undefined,
    private readonly log: Log,
  ) {
    this.monitor = new WiFi(undefined, (message) => this.onMessage(message));
  }

  close(): void {
    if (this.retry) Timer.clear(this.retry);
    this.retry = undefined;
    this.monitor?.close();
    this.monitor = undefined;
  }

  private onMessage(message: string): void {
    if (message === WiFi.gotIP) {
      this.log.info('wifi: IP address ' + (currentIp() ?? '?'));
      if (this.retry) Timer.clear(this.retry);
      this.retry = undefined;
    } else if (message === WiFi.disconnected || message === WiFi.lostIP) {
      this.log.warn('wifi: ' + message + ', rejoining ' + this.ssid + ' in 5 s');
      if (this.retry) return;
      this.retry = Timer.repeat(() => {
        if (currentIp()) return;
        this.log.info('wifi: joining ' + this.ssid);
        WiFi.connect(this.password === undefined ? { ssid: this.ssid } : { ssid: this.ssid, password: this.password });
      }, 5000);
    }
  }
}

/**
 * Asks SNTP for the time until one server answers, then calls onTime(epoch ms). Moddable's SNTP
 * reports 1 with the time in seconds, -1 when the server did not answer; then this waits `retryMs` and starts again.
 */
export class SntpRetry {
  private timer: Timer | undefined;
  private client: unknown;
  private done = false;

  constructor(
    private readonly hosts: string[],
    private readonly onTime: (epochMs: number) => void,
    private readonly log: Log,
    private readonly retryMs = 60_000,
  ) {
    this.ask();
  }

  close(): void {
    this.done = true;
    if (this.timer) Timer.clear(this.timer);
    this.timer = undefined;
    this.closeClient();
  }

  private ask(): void {
    this.timer = undefined;
    if (this.done) return;
    try {
      this.client = new SNTP({ host: this.hosts[0] }, (message, value) => {
        if (this.done) return;
        if (message === 1 && typeof value === 'number') {
          this.done = true;
          this.closeClient();
          this.log.info('sntp: time is ' + new Date(value * 1000).toISOString());
          this.onTime(value * 1000);
        } else if (message < 0) {
          this.closeClient();
          this.log.warn('sntp: no answer from ' + this.hosts[0] + ', trying again in ' + this.retryMs / 1000 + ' s');
          this.timer = Timer.set(() => this.ask(), this.retryMs);
        }
      });
    } catch (error) {
      this.log.warn('sntp: ' + (error instanceof Error ? error.message : String(error)));
      this.timer = Timer.set(() => this.ask(), this.retryMs);
    }
  }

  private closeClient(): void {
    const client = this.client as { close?: () => void } | undefined;
    this.client = undefined;
    try {
      client?.close?.();
    } catch {
      // already closed by the module
    }
  }
}
