/**
 * The dashboard's live stream: turns the server's events into what the page shows and sends it
 * to every connected browser (server-sent events). An event only marks the devices it names;
 * every FLUSH_MS the marked devices are looked at once in the registry (the source of truth:
 * what was stored, not what flowed), so a flood of messages costs one look per device per
 * flush and each browser gets at most one message of each kind per device per flush.
 *
 * Bounds: MAX_CLIENTS browsers; per browser only its socket's backlog (SseClient); per device a
 * cursor per telemetry key and a copy of its attribute maps (ChangeTracker); log lines at most
 * MAX_LOG_LINES per device per flush. A closed browser is forgotten on its socket's close.
 */
import type { ServerResponse } from 'node:http';
import type { Ctx } from '../context';
import { formatEvent } from '../events';
import { HttpError } from '../http-util';
import type { DeviceRecord } from '../registry';
import type { TbEvent } from '../types';
import { ActivityLog, eventDevices } from './activity';
import { ChangeTracker } from './changes';
import type { DeviceSummary, LiveMessage } from './protocol';
import { SseClient } from './sse-client';
import { deviceSummary } from './summary';

export const FLUSH_MS = 200;
export const MAX_CLIENTS = 32;
const PING_MS = 15_000;
const MAX_LOG_LINES = 100;

/** The messages about one device, sent only to the browsers watching it. */
type DeviceMessage = Extract<LiveMessage, { deviceId: string }>;

export class LiveFeed {
  private readonly activity: ActivityLog;
  private readonly changes = new ChangeTracker();
  private readonly clients = new Set<SseClient>();
  /** Names of the devices events were about since the last flush. */
  private readonly dirty = new Set<string>();
  /** Log lines per watched device id, since the last flush. */
  private readonly lines = new Map<string, { ts: number; text: string }[]>();
  private flushTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private readonly off: () => void;

  constructor(private readonly ctx: Ctx) {
    this.activity = new ActivityLog(ctx.registry);
    for (const rec of ctx.registry.all()) this.changes.baseline(rec);
    this.off = ctx.onEvent((e) => this.onEvent(e));
  }

  devices(): DeviceSummary[] {
    return this.ctx.registry.all().map((rec) => this.summary(rec));
  }

  /** GET /dashboard/events[?device=ID]: the stream, starting with a snapshot of the device list. */
  attach(res: ServerResponse, deviceId: string | undefined): void {
    if (this.clients.size >= MAX_CLIENTS) throw new HttpError(503, `${MAX_CLIENTS} dashboards are open already: close one`);
    const client = new SseClient(res, deviceId);
    this.clients.add(client);
    const forget = (): void => {
      this.clients.delete(client);
      if (this.clients.size === 0) this.stopPing();
    };
    res.on('close', forget);
    client.send({ type: 'snapshot', devices: this.devices() });
    this.pingTimer ??= setInterval(() => this.ping(), PING_MS).unref();
  }

  /**
   * A change no event tells of: a shared attribute set or deleted over REST while the device has
   * no session to push it to.
   */
  changed(deviceId: string): void {
    const rec = this.ctx.registry.getById(deviceId);
    if (rec) this.mark([rec.name]);
  }

  close(): void {
    this.off();
    clearTimeout(this.flushTimer);
    this.stopPing();
    for (const c of this.clients) c.end();
    this.clients.clear();
  }

  private onEvent(e: TbEvent): void {
    this.activity.record(e);
    const names = eventDevices(e);
    if (names.length === 0) return;
    if (this.clients.size > 0) this.keepLine(e, names);
    this.mark(names);
  }

  private mark(names: string[]): void {
    for (const name of names) this.dirty.add(name);
    this.flushTimer ??= setTimeout(() => this.flush(), FLUSH_MS).unref();
  }

  /** The event's log line, for the browsers watching a device it names. */
  private keepLine(e: TbEvent, names: string[]): void {
    for (const name of names) {
      const rec = this.ctx.registry.get(name);
      if (!rec || !this.watched(rec.id)) continue;
      let list = this.lines.get(rec.id);
      if (!list) this.lines.set(rec.id, (list = []));
      if (list.length < MAX_LOG_LINES) list.push({ ts: Date.now(), text: formatEvent(e) });
    }
  }

  private flush(): void {
    this.flushTimer = undefined;
    const recs = this.dirtyDevices();
    this.dirty.clear();
    const now = Date.now();
    const summaries: DeviceSummary[] = [];
    const perDevice: DeviceMessage[] = [];
    for (const rec of recs) {
      const watched = this.watched(rec.id);
      const { any, points, scopes } = this.changes.take(rec, watched);
      if (any) this.activity.touch(rec.id, now);
      if (this.clients.size === 0) continue;
      summaries.push(this.summary(rec));
      if (!watched) continue;
      if (Object.keys(points).length > 0) perDevice.push({ type: 'telemetry', deviceId: rec.id, points });
      for (const s of scopes) perDevice.push({ type: 'attributes', deviceId: rec.id, scope: s.scope, entries: s.entries });
    }
    for (const [deviceId, lines] of this.lines) perDevice.push({ type: 'log', deviceId, lines });
    this.lines.clear();
    const devices: LiveMessage = { type: 'devices', devices: summaries };
    for (const c of this.clients) {
      if (summaries.length > 0) c.send(devices);
      for (const m of perDevice) if (m.deviceId === c.deviceId) c.send(m);
    }
  }

  /** The marked devices, and the children of marked gateways (a gateway's messages carry their data). */
  private dirtyDevices(): DeviceRecord[] {
    const out = new Map<string, DeviceRecord>();
    const gateways = new Set<string>();
    for (const name of this.dirty) {
      const rec = this.ctx.registry.get(name);
      if (!rec) continue;
      out.set(rec.id, rec);
      if (rec.gateway) gateways.add(rec.name);
    }
    if (gateways.size > 0) for (const rec of this.ctx.registry.all()) if (rec.parentGateway && gateways.has(rec.parentGateway)) out.set(rec.id, rec);
    return [...out.values()];
  }

  private watched(id: string): boolean {
    for (const c of this.clients) if (c.deviceId === id) return true;
    return false;
  }

  private summary(rec: DeviceRecord): DeviceSummary {
    return deviceSummary(this.ctx, rec, this.activity.get(rec.id));
  }

  private ping(): void {
    for (const c of this.clients) c.ping();
  }

  private stopPing(): void {
    clearInterval(this.pingTimer);
    this.pingTimer = undefined;
  }
}
