import type { Clock } from '../platform/clock';
import { Emitter } from '../platform/emitter';
import { describeError } from '../platform/errors';
import type { Log } from '../platform/log';
import { silentLog } from '../platform/log';
import type { JsonValue } from '../platform/store';
import type { MqttError } from '../mqtt/errors';
import type { MessageInfo, MqttSession, PublishOptions } from '../mqtt/session';
import { DeviceClient, telemetryPace } from './device-client';
import { invalidArgument, notSent, TbError } from './errors';
import { Announcer } from './gateway-announcer';
import { GatewayBatch, type GatewayBatchOptions } from './gateway-batch';
import { checkName, claimBody, GatewayChild, type ChildHost } from './gateway-child';
import { isObject, parseJson, preview, stringify, type JsonObject } from './json';
import { PendingRequests } from './pending-requests';
import { RpcRegistry, type RpcRegistryOptions, type RpcRequest } from './rpc-registry';
import { parseSharedUpdate, type SharedAttributesUpdate } from './shared-attributes';
import type { ClaimOptions } from './tb-device';
import { checkAttributes, checkTelemetry, telemetryPoints, type TelemetryInput } from './telemetry';
import * as T from './topics';
import { isString, isNonEmptyString } from '../platform/guards';

export { GatewayChild } from './gateway-child';
export type { GatewayBatchOptions } from './gateway-batch';

export interface GatewayClientOptions {
  session: MqttSession;
  clock: Clock;
  log?: Log;
  /**
   * The gateway's own device API (its telemetry, attributes, RPC). Rename and delete notices arrive
   * through it as device-level RPCs. Created (and closed with the gateway) when not given; pass the
   * one you already have so the v1/devices/me filters are not subscribed twice.
   */
  device?: DeviceClient;
  /** Child attribute requests fail after this long. Default 10 s. */
  requestTimeoutMs?: number;
  /** Child attribute requests waiting at once, over all children. Default 16. */
  maxPendingRequests?: number;
  /** Children connected at once. Default 128, at most 4096. */
  maxChildren?: number;
  /** Child announcements (v1/gateway/connect) awaiting their PUBACK at once. Default 4. */
  announceWindow?: number;
  /** Child RPCs running at once over all children; more get a "busy" error reply. Default 8. */
  maxConcurrentRpc?: number;
  /** Batching of the telemetry and attributes children send on their own; false sends each at once. Default on, same tick. */
  batch?: false | GatewayBatchOptions;
  /** Options of every child's RPC registry (handler timeout, methods, concurrency per child). */
  rpc?: Omit<RpcRegistryOptions, 'clock'>;
  /**
   * Ask for the session limits after every connect and obey them (the gateway's own DeviceClient
   * does, with the gateway's rate limits). Default true; ignored when `device` is given.
   */
  sessionLimits?: boolean;
}

/** A gateway-wide RPC handler: answers `method` for every child that did not register it itself. */
export type GatewayRpcHandler = (device: string, params: JsonValue, request: RpcRequest) => JsonValue | void | Promise<JsonValue | void>;

/** A gateway-wide shared attribute listener: sees the updates of every child. */
export type GatewaySharedListener = (device: string, update: SharedAttributesUpdate) => void;

export interface GatewayClientEvents {
  /** The server renamed a child; its handle and handlers now live under `newName`. */
  renamed: (oldName: string, newName: string) => void;
  /** The server deleted a child; its handle is detached. */
  deleted: (name: string) => void;
}

/** Telemetry for several children: device name -> one entry or an array of entries. */
export type GatewayTelemetry = { [device: string]: TelemetryInput };
/** Attributes for several children: device name -> attributes. */
export type GatewayAttributes = { [device: string]: JsonObject };
/** Claims for several children: device name -> claim options. */
export type GatewayClaims = { [device: string]: ClaimOptions };

/** Sends waiting for child announcements to be handed to the session. */
const MAX_WAITING_SENDS = 16;
/** Recent (device, id) pairs remembered to skip a redelivered (DUP) child RPC. */
const RECENT_RPC_IDS = 16;
const GATEWAY_QOS1: PublishOptions = Object.freeze({ qos: 1 });
const RENAMED = 'gateway_device_renamed';
const DELETED = 'gateway_device_deleted';

interface WaitingSend {
  topic: string;
  text: string;
  options: PublishOptions;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * The ThingsBoard MQTT Gateway API (v1/gateway/*) over an MqttSession: child devices connected
 * and announced again after every reconnect, telemetry/attributes for many children in one
 * message, child attribute requests, shared attribute updates and server-side RPC routed to each
 * child, claims, and the server's rename/delete notices. Each child is a GatewayChild, which
 * implements TbDevice. The gateway speaks only for the children it announced: data for a name that
 * was not connected is refused, so no child exists on the server that the gateway does not know.
 */
export class GatewayClient {
  readonly events = new Emitter<GatewayClientEvents>();
  /** The gateway's own device API. */
  readonly device: DeviceClient;

  private readonly session_: MqttSession;
  private readonly clock_: Clock;
  private readonly log_: Log;
  private readonly requestTimeoutMs_: number;
  private readonly maxChildren_: number;
  private readonly maxConcurrentRpc_: number;
  private readonly rpcOptions_: Omit<RpcRegistryOptions, 'clock'>;
  private readonly ownsDevice_: boolean;
  private readonly children_ = new Map<string, GatewayChild>();
  private readonly requests_: PendingRequests<JsonObject>;
  private readonly defaults_: RpcRegistry;
  private readonly sharedListeners_: GatewaySharedListener[] = [];
  private readonly announcer_: Announcer<GatewayChild>;
  private readonly telemetryBatch_: GatewayBatch | undefined;
  private readonly attributesBatch_: GatewayBatch | undefined;
  private readonly host_: ChildHost;
  private readonly recentRpcIds_: string[] = [];
  private readonly unlisten_: (() => void)[] = [];
  private waiting_: WaitingSend[] = [];
  private runningRpc_ = 0;
  /** The child whose RPC runs a gateway-wide handler right now (handlers are called synchronously). */
  private invokingDevice_ = '';
  /**
   * True from this connection's 'connect' event on: the session's listeners run a job after the
   * CONNACK, and a child connected in between is announced by the restart, not a second time.
   */
  private announcing_ = false;
  private closed_ = false;

  constructor(options: GatewayClientOptions) {
    if (!options || !options.session || !options.clock) throw invalidArgument('GatewayClient needs a session and a clock');
    this.session_ = options.session;
    this.clock_ = options.clock;
    this.log_ = options.log ?? silentLog;
    this.requestTimeoutMs_ = options.requestTimeoutMs ?? 10_000;
    this.maxChildren_ = options.maxChildren ?? 128;
    if (!Number.isInteger(this.maxChildren_) || this.maxChildren_ < 1 || this.maxChildren_ > 4096) {
      throw invalidArgument('maxChildren must be an integer 1..4096');
    }
    this.maxConcurrentRpc_ = options.maxConcurrentRpc ?? 8;
    this.rpcOptions_ = options.rpc ?? {};
    this.requests_ = new PendingRequests(this.clock_, options.maxPendingRequests ?? 16, 'child attribute request');
    this.defaults_ = new RpcRegistry({ clock: this.clock_, ...this.rpcOptions_, maxConcurrent: this.maxConcurrentRpc_ });
    const window = options.announceWindow ?? 4;
    if (!Number.isInteger(window) || window < 1) throw invalidArgument('announceWindow must be a positive integer');
    this.announcer_ = new Announcer<GatewayChild>(this.clock_, this.log_, window, 250, (child, done) => {
      const body: JsonObject = { device: child.name };
      if (child.type !== undefined) body.type = child.type;
      this.session_.publish(T.GATEWAY_CONNECT, JSON.stringify(body), { qos: 1 }, done);
    });
    if (options.batch !== false) {
      const batch = options.batch ?? {};
      // A batch stays under the server's maxPayloadSize, less room for the topic and headers.
      const cap = () => {
        const max = this.device.limits ? this.device.limits.maxPayloadSize : 0;
        return max > 0 ? Math.max(64, max - 64) : 0;
      };
      this.telemetryBatch_ = new GatewayBatch(
        'telemetry',
        this.clock_,
        batch,
        (text, points) => this.sendWhenReady_(T.GATEWAY_TELEMETRY, text, telemetryPace(points)),
        cap,
      );
      this.attributesBatch_ = new GatewayBatch('attributes', this.clock_, batch, (text) => this.sendWhenReady_(T.GATEWAY_ATTRIBUTES, text), cap);
    }

    const self = this;
    this.host_ = {
      get log() {
        return self.log_;
      },
      get connected() {
        return self.session_.connected && !self.closed_;
      },
      get requestTimeoutMs() {
        return self.requestTimeoutMs_;
      },
      childTelemetry: (child, data) => this.childTelemetry_(child, data),
      childAttributes: (child, attributes) => this.childAttributes_(child, attributes),
      childAttributeRequest: (child, client, keys, timeoutMs) => this.requestScope_(child, client, keys, timeoutMs),
      childClaim: (child, body) => this.publishJson_(T.GATEWAY_CLAIM, { [child.name]: body }),
      disconnectDevice: (name) => this.disconnectDevice(name),
      newRpcRegistry: () => new RpcRegistry({ clock: this.clock_, ...this.rpcOptions_ }),
    };

    this.ownsDevice_ = !options.device;
    this.device =
      options.device ??
      new DeviceClient({
        session: this.session_,
        clock: this.clock_,
        log: this.log_,
        rpc: this.rpcOptions_,
        gateway: true,
        ...(options.sessionLimits === false ? { sessionLimits: false } : {}),
      });
    this.unlisten_.push(this.device.onRpc(RENAMED, (params) => this.onRenamed_(params)));
    this.unlisten_.push(this.device.onRpc(DELETED, (params) => this.onDeleted_(params)));

    this.unlisten_.push(this.session_.events.on('message', this.onMessage_));
    this.unlisten_.push(this.session_.events.on('connect', () => this.onConnect_()));
    this.unlisten_.push(
      this.session_.events.on('disconnect', () => {
        this.announcing_ = false;
        this.announcer_.stop();
      }),
    );
    const report = (filter: string) => (error?: MqttError) => {
      if (error) this.log_.error('subscription to ' + filter + ' failed: ' + describeError(error));
    };
    for (const filter of [T.GATEWAY_ATTRIBUTES, T.GATEWAY_RPC, T.GATEWAY_ATTRIBUTES_RESPONSE]) {
      this.session_.subscribe(filter, 1, report(filter));
    }
  }

  /** True while the gateway's MQTT session is connected. */
  get connected(): boolean {
    return this.session_.connected && !this.closed_;
  }

  /** Connected children: how many, and the bounded stores, for tests and diagnostics. */
  get stats(): { children: number; pendingRequests: number; announcing: number; waitingSends: number; runningRpc: number } {
    return {
      children: this.children_.size,
      pendingRequests: this.requests_.size,
      announcing: this.announcer_.queued,
      waitingSends: this.waiting_.length,
      runningRpc: this.runningRpc_,
    };
  }

  /** The handle of a connected child, or undefined. */
  child(name: string): GatewayChild | undefined {
    return this.children_.get(name);
  }

  /** Names of the connected children. */
  childNames(): string[] {
    return Array.from(this.children_.keys());
  }

  /**
   * Connects a child device (v1/gateway/connect, now when online and again after every reconnect)
   * and returns its handle. `type` is the device profile, used by the server only when it creates
   * the device. Connecting a name that is already connected returns the same handle.
   */
  connectDevice(name: string, type?: string): GatewayChild {
    if (this.closed_) throw new TbError('closed', 'the gateway client was closed');
    const problem = checkName(name, 'device name') ?? (type === undefined ? undefined : checkName(type, 'device type'));
    if (problem) throw invalidArgument(problem);
    const existing = this.children_.get(name);
    if (existing) return existing;
    if (this.children_.size >= this.maxChildren_) {
      throw invalidArgument('too many child devices (cap ' + this.maxChildren_ + '): disconnect one first');
    }
    const child = new GatewayChild(this.host_, name, type);
    this.children_.set(name, child);
    if (this.announcing_) this.announcer_.add(child);
    return child;
  }

  /**
   * Disconnects a child (v1/gateway/disconnect): the server ends its session, the handle is
   * detached. Resolves at once for a name that is not connected.
   */
  disconnectDevice(name: string): Promise<void> {
    const child = this.children_.get(name);
    if (!child) return Promise.resolve();
    this.forget_(child);
    if (!this.session_.connected || this.closed_) return Promise.resolve();
    return this.publishJson_(T.GATEWAY_DISCONNECT, { device: name });
  }

  /**
   * Telemetry of several children in one message (QoS 1): `{"D1":[{ts,values}|{flat}],...}`. A
   * single entry is wrapped in an array. Every name must be a connected child.
   */
  sendTelemetry(data: GatewayTelemetry): Promise<void> {
    const body: { [device: string]: JsonValue } = {};
    const problem = this.eachDevice_(data, 'telemetry', (name, value) => {
      const bad = checkTelemetry(value);
      if (bad) return bad;
      body[name] = (Array.isArray(value) ? value : [value]) as JsonValue;
      return undefined;
    });
    if (problem) return Promise.reject(invalidArgument(problem));
    const limits = this.device.limits;
    // ThingsBoard counts a gateway message's data points across all its devices.
    let points = 0;
    if (limits && limits.countsPoints) for (const name of Object.keys(body)) points += telemetryPoints(body[name]);
    return this.sendJsonWhenReady_(T.GATEWAY_TELEMETRY, body, telemetryPace(points));
  }

  /** Client attributes of several children in one message: `{"D1":{...},...}`. */
  sendAttributes(data: GatewayAttributes): Promise<void> {
    const problem = this.eachDevice_(data, 'attributes', (_name, value) => checkAttributes(value));
    if (problem) return Promise.reject(invalidArgument(problem));
    return this.sendJsonWhenReady_(T.GATEWAY_ATTRIBUTES, data);
  }

  /** Claims several children in one message: `{"D1":{"secretKey":..,"durationMs":..},...}`. */
  claim(claims: GatewayClaims): Promise<void> {
    const body: JsonObject = {};
    let error: TbError | undefined;
    const problem = this.eachDevice_(claims, 'claim', (name, value) => {
      const b = claimBody(value as ClaimOptions);
      if (b instanceof TbError) {
        error = b;
        return b.message;
      }
      body[name] = b;
      return undefined;
    });
    if (error) return Promise.reject(error);
    if (problem) return Promise.reject(invalidArgument(problem));
    return this.publishJson_(T.GATEWAY_CLAIM, body);
  }

  /**
   * A gateway-wide server-side RPC method: answers for every child that did not register `method`
   * itself; the handler gets the child's name first.
   */
  onChildRpc(method: string, handler: GatewayRpcHandler): () => void {
    if (typeof handler !== 'function') throw invalidArgument('RPC handler for ' + method + ' must be a function');
    return this.defaults_.register(method, (params, request) => handler(this.invokingDevice_, params, request));
  }

  /** Shared attribute updates of every child (after the child's own listeners). */
  onChildSharedAttributes(listener: GatewaySharedListener): () => void {
    if (typeof listener !== 'function') throw invalidArgument('listener must be a function');
    if (this.sharedListeners_.length >= 8) throw invalidArgument('too many gateway shared attribute listeners (cap 8)');
    this.sharedListeners_.push(listener);
    return () => {
      const i = this.sharedListeners_.indexOf(listener);
      if (i >= 0) this.sharedListeners_.splice(i, 1);
    };
  }

  /** Sends what the batches collected now instead of at the end of the tick (or the batch delay). */
  flush(): void {
    if (this.telemetryBatch_) this.telemetryBatch_.flush();
    if (this.attributesBatch_) this.attributesBatch_.flush();
  }

  /**
   * Stops listening, fails pending requests and batched sends, detaches every child. The session
   * belongs to the caller; a device client the gateway created is closed too.
   */
  close(): void {
    if (this.closed_) return;
    this.closed_ = true;
    for (const off of this.unlisten_) off();
    const closed = new TbError('closed', 'the gateway client was closed');
    this.announcer_.close();
    if (this.telemetryBatch_) this.telemetryBatch_.close(closed);
    if (this.attributesBatch_) this.attributesBatch_.close(closed);
    const waiting = this.waiting_;
    this.waiting_ = [];
    for (const w of waiting) w.reject(closed);
    this.requests_.failAll(closed);
    for (const child of this.children_.values()) child.detach();
    this.children_.clear();
    if (this.ownsDevice_) this.device.close();
  }

  // ---- session events ----

  private onConnect_(): void {
    this.recentRpcIds_.length = 0;
    // The server forgot every child session with the old connection: announce them all again.
    this.announcing_ = true;
    this.announcer_.restart(Array.from(this.children_.values()));
  }

  /** The session's 'message' listener itself (an arrow: no forwarding frame on the XS stack). */
  private readonly onMessage_ = (topic: string, payload: Uint8Array, info: MessageInfo): void => {
    switch (topic) {
      case T.GATEWAY_RPC:
        this.onRpc_(payload, info.dup);
        return;
      case T.GATEWAY_ATTRIBUTES:
        this.onSharedPush_(payload);
        return;
      case T.GATEWAY_ATTRIBUTES_RESPONSE:
        this.onAttributeResponse_(payload);
        return;
    }
    // Anything else belongs to the device client (v1/devices/me/*).
  };

  // ---- inbound ----

  private onSharedPush_(payload: Uint8Array): void {
    const body = parseJson(payload);
    const update = body instanceof Error || !isObject(body) || body.data === undefined ? undefined : parseSharedUpdate(body.data);
    if (!update || !isObject(body) || !isString(body.device)) {
      this.log_.warn('gateway shared attribute update ignored, not {"device":"D","data":{..}}: ' + preview(payload));
      return;
    }
    const name = body.device;
    const child = this.children_.get(name);
    if (!child) {
      this.log_.warn('shared attribute update for unknown child ' + name + ' ignored');
      return;
    }
    child.deliverShared(update);
    for (const listener of this.sharedListeners_.slice()) {
      try {
        listener(name, update);
      } catch (error) {
        this.log_.error('gateway shared attribute listener failed: ' + describeError(error));
      }
    }
  }

  private onRpc_(payload: Uint8Array, dup: boolean): void {
    const body = parseJson(payload);
    if (body instanceof Error || !isObject(body) || !isNonEmptyString(body.device)) {
      this.log_.warn('gateway RPC ignored, not {"device":"D","data":{..}}: ' + preview(payload));
      return;
    }
    const name = body.device;
    const data = body.data;
    if (!isObject(data) || typeof data.id !== 'number' || !Number.isInteger(data.id)) {
      // Without an id there is nothing to answer to.
      this.log_.warn('gateway RPC for ' + name + ' ignored, "data" has no integer "id": ' + preview(payload));
      return;
    }
    const id = data.id;
    const key = name + '\n' + id;
    if (dup && this.recentRpcIds_.indexOf(key) >= 0) {
      this.log_.debug('redelivered RPC ' + id + ' for ' + name + ' skipped');
      return;
    }
    this.recentRpcIds_.push(key);
    if (this.recentRpcIds_.length > RECENT_RPC_IDS) this.recentRpcIds_.shift();
    const send = (value: JsonValue) => {
      this.publishJson_(T.GATEWAY_RPC, { device: name, id, data: value }).catch((error: unknown) =>
        this.log_.error('RPC ' + id + ' reply for ' + name + ' not sent: ' + describeError(error)),
      );
    };
    const child = this.children_.get(name);
    if (!child) {
      send({ error: 'unknown device: ' + name });
      return;
    }
    if (this.runningRpc_ >= this.maxConcurrentRpc_) {
      send({ error: 'busy: ' + this.runningRpc_ + ' RPCs are still running on the gateway' });
      return;
    }
    const method = isString(data.method) ? data.method : '';
    const registry = child.rpcFor(method) ?? this.defaults_;
    this.invokingDevice_ = name;
    let answer: JsonValue | undefined;
    try {
      this.runningRpc_++;
      answer = registry.invoke(data, id, (value) => {
        this.runningRpc_--;
        send(value);
      });
    } finally {
      this.invokingDevice_ = '';
    }
    if (answer === undefined) return; // a promise: the registry replies when it settles
    this.runningRpc_--;
    send(answer);
  }

  private onAttributeResponse_(payload: Uint8Array): void {
    const body = parseJson(payload);
    if (body instanceof Error || !isObject(body) || typeof body.id !== 'number' || !Number.isInteger(body.id)) {
      this.log_.warn('gateway attribute response ignored, no integer "id": ' + preview(payload));
      return;
    }
    if (!this.requests_.resolve(body.id, body)) this.log_.debug('gateway attribute response ' + body.id + ' matches no pending request');
  }

  private onRenamed_(params: JsonValue): JsonValue {
    let pairs = params;
    if (isString(pairs)) {
      const parsed = parseText(pairs);
      if (parsed !== undefined) pairs = parsed;
    }
    if (!isObject(pairs)) {
      this.log_.warn(RENAMED + ' ignored, params are not {"old":"new"}');
      return {};
    }
    for (const oldName of Object.keys(pairs)) {
      const newName = pairs[oldName];
      if (!isString(newName) || checkName(newName, 'name')) {
        this.log_.warn(RENAMED + ': bad new name for ' + oldName);
        continue;
      }
      this.rename_(oldName, newName);
    }
    return {};
  }

  private onDeleted_(params: JsonValue): JsonValue {
    const names = Array.isArray(params) ? params : [params];
    for (const name of names) {
      if (!isString(name)) {
        this.log_.warn(DELETED + ' ignored, params are not a device name');
        continue;
      }
      const child = this.children_.get(name);
      if (!child) {
        this.log_.info(DELETED + ': ' + name + ' is not a connected child');
        continue;
      }
      this.log_.info('child ' + name + ' was deleted on the server');
      this.forget_(child);
      this.events.emit('deleted', name);
    }
    return {};
  }

  private rename_(oldName: string, newName: string): void {
    const child = this.children_.get(oldName);
    if (!child || oldName === newName) {
      if (!child) this.log_.info(RENAMED + ': ' + oldName + ' is not a connected child');
      return;
    }
    const clash = this.children_.get(newName);
    if (clash) {
      this.log_.warn(RENAMED + ': ' + newName + ' was already connected; that handle is detached');
      this.forget_(clash);
    }
    this.children_.delete(oldName);
    this.children_.set(newName, child);
    child.renameTo(newName);
    this.log_.info('child ' + oldName + ' was renamed ' + newName);
    // The child session on the server follows the new name from now on.
    if (this.announcing_) this.announcer_.add(child);
    this.events.emit('renamed', oldName, newName);
  }

  // ---- children's sends ----

  private childTelemetry_(child: GatewayChild, data: TelemetryInput): Promise<void> {
    const text = stringify(data);
    if (text instanceof Error) return Promise.reject(invalidArgument(child.name + ': cannot send telemetry: ' + text.message));
    const limits = this.device.limits;
    const points = limits && limits.countsPoints ? telemetryPoints(data) : 0;
    if (this.telemetryBatch_) return this.telemetryBatch_.add(child, Array.isArray(data) ? text.slice(1, -1) : text, points);
    const wrapped = '{' + JSON.stringify(child.name) + ':' + (Array.isArray(data) ? text : '[' + text + ']') + '}';
    return this.sendWhenReady_(T.GATEWAY_TELEMETRY, wrapped, telemetryPace(points));
  }

  private childAttributes_(child: GatewayChild, attributes: JsonObject): Promise<void> {
    const text = stringify(attributes);
    if (text instanceof Error) return Promise.reject(invalidArgument(child.name + ': cannot send attributes: ' + text.message));
    if (this.attributesBatch_) return this.attributesBatch_.add(child, text.slice(1, -1));
    return this.sendWhenReady_(T.GATEWAY_ATTRIBUTES, '{' + JSON.stringify(child.name) + ':' + text + '}');
  }

  /** One attribute request for one scope; resolves with key -> value. */
  private requestScope_(child: GatewayChild, client: boolean, keys: string[], timeoutMs: number): Promise<JsonObject> {
    const name = child.name;
    const { id, promise } = this.requests_.open(timeoutMs);
    if (id >= 0) {
      const body: JsonObject = keys.length === 1 ? { id, device: name, client, key: keys[0] } : { id, device: name, client, keys };
      // Not sent at all once it timed out (offline meanwhile): its id may be reused by then.
      this.publishJson_(T.GATEWAY_ATTRIBUTES_REQUEST, body, this.clock_.now() + timeoutMs).catch((error: unknown) => this.requests_.fail(id, notSent(error)));
    }
    return promise.then((response) => {
        if (response.device !== name && response.device !== child.name) {
          throw new TbError('bad-response', 'attribute response for ' + String(response.device) + ' to a request for ' + name);
        }
        if (response.values !== undefined) {
          if (!isObject(response.values)) throw new TbError('bad-response', 'attribute response "values" is not an object');
          return response.values;
        }
        if (response.value === undefined) return {}; // none of the keys exists
        if (keys.length === 1) return { [keys[0] as string]: response.value };
        // The server answers "value" without a key when only one of several keys exists: ask key by key.
        return this.requestEach_(child, client, keys, timeoutMs);
      });
  }

  private async requestEach_(child: GatewayChild, client: boolean, keys: string[], timeoutMs: number): Promise<JsonObject> {
    const result: JsonObject = {};
    for (const key of keys) {
      const one = await this.requestScope_(child, client, [key], timeoutMs);
      if (one[key] !== undefined) result[key] = one[key] as JsonValue;
    }
    return result;
  }

  // ---- outbound ----

  /** Checks a {device: value} map: an object, at least one entry, every name a connected child. */
  private eachDevice_(data: unknown, what: string, check: (name: string, value: unknown) => string | undefined): string | undefined {
    if (this.closed_) return 'the gateway client was closed';
    if (!isObject(data)) return 'gateway ' + what + ' must be an object {"Device":...}';
    const names = Object.keys(data);
    if (names.length === 0) return 'gateway ' + what + ' names no device';
    for (const name of names) {
      if (!this.children_.has(name)) return name + ' is not a connected child: call connectDevice first';
      const problem = check(name, data[name]);
      if (problem) return name + ': ' + problem;
    }
    return undefined;
  }

  private sendJsonWhenReady_(topic: string, value: unknown, options: PublishOptions = GATEWAY_QOS1): Promise<void> {
    const text = stringify(value);
    if (text instanceof Error) return Promise.reject(invalidArgument('cannot send ' + topic + ': ' + text.message));
    return this.sendWhenReady_(topic, text, options);
  }

  /**
   * Publishes children's data once every pending announcement was handed to the session, so a
   * child's connect always precedes its data on the wire. Bounded.
   */
  private sendWhenReady_(topic: string, text: string, options: PublishOptions = GATEWAY_QOS1): Promise<void> {
    if (this.closed_) return Promise.reject(new TbError('closed', 'the gateway client was closed'));
    const tooLarge = this.device.limits?.payloadProblem(topic, text);
    if (tooLarge) return Promise.reject(tooLarge);
    if (this.announcer_.idle && this.waiting_.length === 0) return this.session_.publishAsync(topic, text, options);
    if (this.waiting_.length >= MAX_WAITING_SENDS) {
      return Promise.reject(new TbError('too-many-pending', MAX_WAITING_SENDS + ' gateway messages already wait for child announcements'));
    }
    return new Promise<void>((resolve, reject) => {
      this.waiting_.push({ topic, text, options, resolve, reject });
      if (this.waiting_.length === 1) this.announcer_.whenIdle(() => this.releaseWaiting_());
    });
  }

  private releaseWaiting_(): void {
    const list = this.waiting_;
    this.waiting_ = [];
    for (const w of list) this.session_.publishAsync(w.topic, w.text, w.options).then(w.resolve, w.reject);
  }

  /** `expiresAt`: a request's deadline (PublishOptions.expiresAt); none for data. */
  private publishJson_(topic: string, value: unknown, expiresAt?: number): Promise<void> {
    if (this.closed_) return Promise.reject(new TbError('closed', 'the gateway client was closed'));
    const text = stringify(value);
    if (text instanceof Error) return Promise.reject(invalidArgument('cannot send ' + topic + ': ' + text.message));
    const tooLarge = this.device.limits?.payloadProblem(topic, text);
    if (tooLarge) return Promise.reject(tooLarge);
    return this.session_.publishAsync(topic, text, { qos: 1, expiresAt });
  }

  /** Removes a child from the registry and detaches its handle. */
  private forget_(child: GatewayChild): void {
    this.children_.delete(child.name);
    this.announcer_.remove(child);
    child.detach();
  }
}

function parseText(text: string): JsonValue | undefined {
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    return undefined;
  }
}

