/**
 * Local ThingsBoard-compatible server: MQTT device/gateway/provisioning API (MQTT 3.1, 3.1.1 and 5 on TCP) and an admin
 * REST API shaped like ThingsBoard's. Used by `npm start` and by the integration tests.
 * Behaviour follows shared/thingsboard-protocol.md; choices where it is silent are in README.md here.
 */
import { deleteSharedAttributes, entriesToObject, setSharedAttributes } from './admin';
import type { Ctx, ResolvedOptions } from './context';
import { rpcTransport } from './downlink';
import { EventHub } from './events';
import { HttpApi } from './http-api';
import { MqttFrontend } from './mqtt-frontend';
import { DeviceRegistry, type ClaimRecord, type DeviceRecord, type Entry, type NewDevice } from './registry';
import { RpcManager } from './rpc';
import { OtaCatalog } from './ota-catalog';
import { announceFirmware } from './ota-device';
import { SessionTable, subscribedQos, type Session } from './session';
import { parseRateLimit } from './rate-limits';
import type { Json, JsonObject, RateLimits, TbEvent, TbEventListener, TbServerOptions } from './types';

export type { TbServerOptions, TbEvent, TbEventListener, Json, JsonObject } from './types';
export type { DeviceRecord, ClaimRecord, Entry, NewDevice } from './registry';
export { DeviceRegistry } from './registry';
export { RpcError } from './rpc';
export { formatEvent } from './events';

export interface SessionInfo {
  device: string;
  kind: 'device' | 'gateway' | 'provision';
  clientId: string;
  subscriptions: Record<string, number>;
  children: string[];
}

/** Every kind set ("" no limit); a malformed spec throws RateLimitSpecError now, not on the first connect. */
function limits(l: Partial<RateLimits> | undefined): RateLimits {
  const out = { messages: l?.messages ?? '', telemetryMessages: l?.telemetryMessages ?? '', telemetryDataPoints: l?.telemetryDataPoints ?? '' };
  for (const kind of Object.keys(out) as (keyof RateLimits)[]) parseRateLimit(out[kind]);
  return out;
}

export class TbServer {
  readonly registry: DeviceRegistry;
  readonly host: string;
  private readonly events: EventHub;
  private readonly ctx: Ctx;
  private readonly mqtt: MqttFrontend;
  private readonly http: HttpApi;
  private closed = false;

  /** Use startTbServer(). */
  constructor(private readonly options: TbServerOptions) {
    const opts: ResolvedOptions = {
      host: options.host ?? '127.0.0.1',
      maxPayloadBytes: options.maxPayloadBytes ?? 65_536,
      maxInflightMessages: options.maxInflightMessages ?? 100,
      rpcTimeoutMs: options.rpcTimeoutMs ?? 10_000,
      rpcMinTimeoutMs: options.rpcMinTimeoutMs ?? 5_000,
      provisionCloseMs: options.provisionCloseMs ?? 60_000,
      idleTimeoutMs: options.idleTimeoutMs ?? 600_000,
      rateLimits: limits(options.rateLimits),
      gatewayRateLimits: limits(options.gatewayRateLimits),
      clientRpc: { ...options.clientRpc },
      ...(options.provision ? { provision: { ...options.provision } } : {}),
    };
    this.host = opts.host;
    this.registry = options.registry ?? new DeviceRegistry();
    this.events = new EventHub(options.log);
    const rpc = new RpcManager();
    const ctx: Ctx = {
      registry: this.registry,
      sessions: new SessionTable(),
      rpc,
      ota: new OtaCatalog(),
      opts,
      emit: (e) => this.events.emit(e),
      onEvent: (fn) => this.events.on(fn),
      send: (s, topic, payload, qos) => {
        if (s.closed) return;
        let bytes: Buffer;
        if (payload instanceof Uint8Array) {
          bytes = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
          this.events.emit({ type: 'downlink', device: s.label, topic, payload: `<${bytes.length} bytes>` });
        } else {
          const text = typeof payload === 'string' ? payload : JSON.stringify(payload);
          this.events.emit({ type: 'downlink', device: s.label, topic, payload: text });
          bytes = Buffer.from(text, 'utf8');
        }
        this.mqtt.publish(s, topic, bytes, qos ?? subscribedQos(s, topic) ?? 1);
      },
      drop: (s, _reason, reasonCode) => {
        if (!s.closed) s.conn.close(reasonCode);
      },
    };
    this.ctx = ctx;
    rpc.transport = rpcTransport(ctx);
    rpc.onOutcome = (req, outcome) => this.events.emit({ type: 'rpc', device: req.device.name, id: req.id, method: req.method, outcome });
    this.mqtt = new MqttFrontend(ctx);
    this.http = new HttpApi(ctx);
    for (const d of options.devices ?? []) this.ensure({ name: d.name, token: d.token, ...(d.type ? { type: d.type } : {}) });
    for (const g of options.gateways ?? []) this.ensure({ name: g.name, token: g.token, gateway: true, ...(g.type ? { type: g.type } : {}) });
    for (const b of options.basicDevices ?? []) {
      this.ensure({ name: b.name, basic: { clientId: b.clientId, userName: b.username, password: b.password }, ...(b.type ? { type: b.type } : {}) });
    }
  }

  /** The limits getSessionLimits reports and the server enforces. */
  get limits(): { maxPayloadSize: number; maxInflightMessages: number; rateLimits: RateLimits; gatewayRateLimits: RateLimits } {
    const o = this.ctx.opts;
    return { maxPayloadSize: o.maxPayloadBytes, maxInflightMessages: o.maxInflightMessages, rateLimits: { ...o.rateLimits }, gatewayRateLimits: { ...o.gatewayRateLimits } };
  }

  get mqttPort(): number {
    return this.mqtt.port;
  }

  get httpPort(): number {
    return this.http.port;
  }

  get mqttUrl(): string {
    return `mqtt://${this.host}:${this.mqttPort}`;
  }

  get httpUrl(): string {
    return `http://${this.host}:${this.httpPort}`;
  }

  /** Starts both listeners (startTbServer does this). */
  async start(): Promise<void> {
    await this.mqtt.start(this.options.mqttPort ?? 0, this.host);
    await this.http.start(this.options.httpPort ?? 0, this.host);
  }

  /** Stops MQTT: every connection is dropped; devices, data and pending RPCs are kept. */
  stopMqtt(): Promise<void> {
    return this.mqtt.stop();
  }

  /** Listens again on the same MQTT port as before (or the configured one). */
  async startMqtt(): Promise<void> {
    if (this.closed) throw new Error('server closed');
    await this.mqtt.start(this.mqtt.port || this.options.mqttPort || 0, this.host);
  }

  /** Releases every socket and timer. Pending RPCs are rejected. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.ctx.rpc.close();
    await Promise.all([this.mqtt.stop(), this.http.stop()]);
    this.events.close();
  }

  // ---- events ----

  /** Every message and session change; returns an unsubscribe function. */
  onEvent(fn: TbEventListener): () => void {
    return this.events.on(fn);
  }

  /** The first later event matching; rejects after timeoutMs (default 5000). */
  waitForEvent(match: (e: TbEvent) => boolean, timeoutMs = 5_000): Promise<TbEvent> {
    return this.events.waitFor(match, timeoutMs);
  }

  // ---- devices ----

  getDevice(name: string): DeviceRecord | undefined {
    return this.registry.get(name);
  }

  createDevice(spec: NewDevice): DeviceRecord {
    return this.registry.create(spec);
  }

  /** Live sessions (a gateway's children are listed under it). */
  sessions(): SessionInfo[] {
    return this.ctx.sessions.all().map((s: Session) => ({
      device: s.label,
      kind: s.kind,
      clientId: s.clientId,
      subscriptions: Object.fromEntries(s.subs),
      children: [...s.children.keys()],
    }));
  }

  /** True when the device has its own session or a session through a gateway. */
  isConnected(name: string): boolean {
    const d = this.registry.get(name);
    return !!d && (!!this.ctx.sessions.ofDevice(d) || !!this.ctx.sessions.gatewayOf(d));
  }

  // ---- RPC ----

  /**
   * Server-side RPC. Two-way resolves with the device's reply (parsed JSON, or the raw string when it is
   * not JSON); one-way resolves with undefined once sent. Rejects with RpcError: TIMEOUT (sent, no reply),
   * NO_ACTIVE_CONNECTION (never sent: no session subscribed before the timeout), TOO_MANY_REQUESTS.
   * Unlike the REST API, timeoutMs is not raised to rpcMinTimeoutMs.
   */
  async sendRpc(deviceName: string, method: string, params: Json = null, opts: { timeoutMs?: number; oneway?: boolean } = {}): Promise<Json | undefined> {
    const d = this.need(deviceName);
    const reply = await this.ctx.rpc.send(d, method, params, {
      timeoutMs: opts.timeoutMs ?? this.ctx.opts.rpcTimeoutMs,
      oneway: opts.oneway === true,
    });
    return reply.value;
  }

  // ---- attributes and telemetry ----

  /** Stores shared attributes and pushes them to the device (or its gateway). */
  setSharedAttributes(deviceName: string, values: JsonObject): void {
    setSharedAttributes(this.ctx, this.need(deviceName), values);
  }

  /** Deletes shared attributes and pushes `{"deleted":[...]}`. */
  deleteSharedAttributes(deviceName: string, keys: string[]): void {
    deleteSharedAttributes(this.ctx, this.need(deviceName), keys);
  }

  /** Latest telemetry: key -> {ts, value}. */
  latestTelemetry(deviceName: string): Record<string, Entry> {
    return Object.fromEntries([...this.need(deviceName).telemetry].map(([k, e]) => [k, { ...e }]));
  }

  /** Recent values of one key (up to 100), oldest first. */
  telemetryHistory(deviceName: string, key: string): Entry[] {
    return [...(this.need(deviceName).history.get(key) ?? [])];
  }

  /** Attribute values of one scope: key -> value. */
  attributes(deviceName: string, scope: 'client' | 'shared'): Record<string, Json> {
    const d = this.need(deviceName);
    return entriesToObject(scope === 'client' ? d.clientAttributes : d.sharedAttributes);
  }

  // ---- OTA ----

  /**
   * Uploads a firmware image for the device's profile and assigns it to the device (what
   * `tbxs server --firmware` and ThingsBoard's REST do in three calls); returns the package id.
   * The checksum is computed unless given (a wrong one reaches the device as given).
   */
  assignFirmware(deviceName: string, image: { title: string; version: string; data: Uint8Array; checksumAlgorithm?: string; checksum?: string; fileName?: string }): string {
    const device = this.need(deviceName);
    const ota = this.ctx.ota;
    const profile = ota.profileOf(device);
    const pkg = ota.create({ title: image.title, version: image.version, type: 'FIRMWARE', deviceProfileId: { entityType: 'DEVICE_PROFILE', id: profile.id } });
    ota.upload(pkg.id, Buffer.from(image.data), image.fileName ?? 'firmware.bin', 'application/octet-stream', image.checksumAlgorithm ?? 'SHA256', image.checksum);
    device.firmwareId = pkg.id;
    announceFirmware(this.ctx, device);
    return pkg.id;
  }

  /** Claims recorded so far (device, secretKey, durationMs, ts). */
  get claims(): readonly ClaimRecord[] {
    return this.registry.claims;
  }

  private ensure(spec: NewDevice): void {
    if (!this.registry.get(spec.name)) this.registry.create(spec);
  }

  private need(name: string): DeviceRecord {
    const d = this.registry.get(name);
    if (!d) throw new Error(`unknown device "${name}"`);
    return d;
  }
}

/** Creates the devices, then listens for MQTT and HTTP. */
export async function startTbServer(options: TbServerOptions = {}): Promise<TbServer> {
  const server = new TbServer(options);
  try {
    await server.start();
  } catch (e) {
    await server.close();
    throw e;
  }
  return server;
}
