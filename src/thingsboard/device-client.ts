import type { Clock } from '../platform/clock';
import { describeError } from '../platform/errors';
import type { Log } from '../platform/log';
import { silentLog } from '../platform/log';
import type { JsonValue } from '../platform/store';
import type { MqttError } from '../mqtt/errors';
import type { MessageInfo, MqttSession, PublishOptions } from '../mqtt/session';
import { invalidArgument, notSent, TbError } from './errors';
import { isObject, parseJson, preview, stringify, type JsonObject } from './json';
import { PendingRequests } from './pending-requests';
import { RpcRegistry, type RpcHandler, type RpcRegistryOptions } from './rpc-registry';
import { parseSharedUpdate, type SharedAttributesListener } from './shared-attributes';
import type { AttributeRequest, AttributesResponse, ClaimOptions, TbDevice } from './tb-device';
import { PACE_CONTROL, SessionLimits } from './session-limits';
import { checkAttributes, checkTelemetry, telemetryPoints, type TelemetryInput } from './telemetry';
import * as T from './topics';
import { isIntegerIn, isNonEmptyString, isString } from '../platform/guards';

export interface DeviceClientOptions {
  session: MqttSession;
  clock: Clock;
  log?: Log;
  /** Attribute requests and client-side RPC fail after this long. Default 10 s. */
  requestTimeoutMs?: number;
  /** Requests of each kind waiting at once. Default 8. */
  maxPendingRequests?: number;
  rpc?: Omit<RpcRegistryOptions, 'clock'>;
  /** Ask ThingsBoard for the session limits after every connect and obey them (SessionLimits). Default true. */
  sessionLimits?: boolean;
  /** How long publishes wait for the first getSessionLimits answer after a CONNACK. Default 5 s. */
  sessionLimitsTimeoutMs?: number;
  /** The client is a gateway's own device API: the gateway's rate limits apply. */
  gateway?: boolean;
}

/** How many recent server RPC ids are remembered to skip a redelivered (DUP) request. */
const RECENT_RPC_IDS = 8;

/** Every device API message goes with QoS 1 (ThingsBoard: PUBACK when it was accepted). */
const QOS1: PublishOptions = Object.freeze({ qos: 1 });
/** Telemetry when data points are not counted: pace 1 marks it as telemetry for the pacer. */
const TELEMETRY: PublishOptions = Object.freeze({ qos: 1, pace: 1 });
/**
 * The request as text, not a frozen object to stringify: on a Moddable device a module's objects
 * are preloaded into flash, and XS's JSON.stringify marks each object it visits (cycle check),
 * which throws "read only value" for one in flash (seen in Moddable's simulator; xsnap has no
 * preload, so the XS tests here cannot see it).
 */
const LIMITS_REQUEST = '{"method":"getSessionLimits","params":{}}';

/**
 * The ThingsBoard MQTT Device API (v1 topics) over an MqttSession: telemetry, client attributes,
 * attribute requests, shared attribute updates, server-side and client-side RPC, claiming.
 * Subscriptions are made once and the session restores them after every reconnect.
 */
export class DeviceClient implements TbDevice {
  private readonly session_: MqttSession;
  private readonly clock_: Clock;
  private readonly log_: Log;
  private readonly requestTimeoutMs_: number;
  private readonly attributeRequests_: PendingRequests<AttributesResponse>;
  private readonly rpcCalls_: PendingRequests<JsonValue>;
  private readonly rpc_: RpcRegistry;
  private readonly sharedListeners_: SharedAttributesListener[] = [];
  private readonly recentRpcIds_: string[] = [];
  private readonly limitsTimeoutMs_: number;
  /** The server's session limits, obeyed; undefined when sessionLimits is off. */
  readonly limits: SessionLimits | undefined;
  private closed_ = false;

  constructor(options: DeviceClientOptions) {
    this.session_ = options.session;
    this.clock_ = options.clock;
    this.log_ = options.log ?? silentLog;
    this.requestTimeoutMs_ = options.requestTimeoutMs ?? 10_000;
    const max = options.maxPendingRequests ?? 8;
    this.attributeRequests_ = new PendingRequests(this.clock_, max, 'attribute request');
    this.rpcCalls_ = new PendingRequests(this.clock_, max, 'client-side RPC');
    this.rpc_ = new RpcRegistry({ clock: this.clock_, ...options.rpc });
    this.limitsTimeoutMs_ = options.sessionLimitsTimeoutMs ?? 5000;
    if (!(this.limitsTimeoutMs_ > 0)) throw invalidArgument('sessionLimitsTimeoutMs must be > 0');
    this.limits = options.sessionLimits === false ? undefined : new SessionLimits(this.log_, this.limitsTimeoutMs_, options.gateway === true);
    // Set before the first connection, so that its CONNACK starts the hold for the first answer.
    if (this.limits) this.session_.setPacer(this.limits);

    // Taken off again by close() with off(): the unlisten closures on() returns would be kept
    // for the client's life (about 11 heap slots each on XS).
    this.session_.events.on('message', this.onMessage_);
    this.session_.events.on('connect', this.onConnect_);
    // One callback for the four (the session's errors name the filter): a closure per filter
    // would be about 11 heap slots each on XS, for as long as the client lives.
    const report = (error?: MqttError) => {
      if (error) this.log_.error('subscription failed: ' + describeError(error));
    };
    for (const filter of [T.DEVICE_ATTRIBUTES, T.DEVICE_ATTRIBUTES_RESPONSE_FILTER, T.DEVICE_RPC_REQUEST_FILTER, T.DEVICE_RPC_RESPONSE_FILTER]) {
      this.session_.subscribe(filter, 1, report);
    }
  }

  get connected(): boolean {
    return this.session_.connected;
  }

  sendTelemetry(data: TelemetryInput): Promise<void> {
    const problem = checkTelemetry(data);
    if (problem) return Promise.reject(invalidArgument(problem));
    return this.publishJson_(T.DEVICE_TELEMETRY, data, telemetryOptions(this.limits, data));
  }

  sendAttributes(attributes: JsonObject): Promise<void> {
    const problem = checkAttributes(attributes);
    if (problem) return Promise.reject(invalidArgument(problem));
    return this.publishJson_(T.DEVICE_ATTRIBUTES, attributes);
  }

  /**
   * Asks for client and/or shared attributes. Keys go as comma-separated strings (a JSON array makes
   * the server drop the connection); no keys at all asks for every attribute.
   */
  requestAttributes(request: AttributeRequest = {}, timeoutMs = this.requestTimeoutMs_): Promise<AttributesResponse> {
    const body: JsonObject = {};
    for (const [field, keys] of [
      ['clientKeys', request.clientKeys],
      ['sharedKeys', request.sharedKeys],
    ] as const) {
      if (keys === undefined) continue;
      const problem = checkKeys(keys);
      if (problem) return Promise.reject(invalidArgument(field + ': ' + problem));
      body[field] = keys.join(',');
    }
    const { id, promise } = this.attributeRequests_.open(timeoutMs);
    // Not sent at all once it timed out (offline meanwhile): its id may be reused by then.
    if (id >= 0) {
      this.publishJson_(T.DEVICE_ATTRIBUTES_REQUEST + id, body, { qos: 1, expiresAt: this.clock_.now() + timeoutMs }).catch((error: unknown) => this.attributeRequests_.fail(id, notSent(error)));
    }
    return promise;
  }

  onSharedAttributes(listener: SharedAttributesListener): () => void {
    this.sharedListeners_.push(listener);
    return () => {
      const i = this.sharedListeners_.indexOf(listener);
      if (i >= 0) this.sharedListeners_.splice(i, 1);
    };
  }

  /** Registers a server-side RPC method by its exact name; before or after connecting. */
  onRpc(method: string, handler: RpcHandler): () => void {
    return this.rpc_.register(method, handler);
  }

  /** Client-side RPC: asks the server and resolves with its answer (any JSON). */
  callRpc(method: string, params: JsonValue = {}, timeoutMs = this.requestTimeoutMs_): Promise<JsonValue> {
    if (!isNonEmptyString(method)) {
      // The server drops a connection whose request has no method.
      return Promise.reject(invalidArgument('client-side RPC needs a method name'));
    }
    const { id, promise } = this.rpcCalls_.open(timeoutMs);
    if (id >= 0) {
      this.publishJson_(T.DEVICE_RPC_REQUEST + id, { method, params }, { qos: 1, expiresAt: this.clock_.now() + timeoutMs }).catch((error: unknown) => this.rpcCalls_.fail(id, notSent(error)));
    }
    return promise;
  }

  claim(options: ClaimOptions = {}): Promise<void> {
    const body: JsonObject = {};
    if (options.secretKey !== undefined) {
      if (!isString(options.secretKey)) return Promise.reject(invalidArgument('claim secretKey must be a string'));
      body.secretKey = options.secretKey;
    }
    if (options.durationMs !== undefined) {
      if (!isIntegerIn(options.durationMs, 1)) {
        return Promise.reject(invalidArgument('claim durationMs must be a positive integer'));
      }
      body.durationMs = options.durationMs;
    }
    return this.publishJson_(T.DEVICE_CLAIM, body);
  }

  /** Stops listening and fails pending requests; the session itself belongs to the caller. */
  close(): void {
    if (this.closed_) return;
    this.closed_ = true;
    this.session_.events.off('message', this.onMessage_);
    this.session_.events.off('connect', this.onConnect_);
    if (this.limits) this.session_.setPacer(undefined);
    const closed = new TbError('closed', 'the device client was closed');
    this.attributeRequests_.failAll(closed);
    this.rpcCalls_.failAll(closed);
  }

  // ---- inbound ----

  private readonly onConnect_ = (): void => {
    this.recentRpcIds_.length = 0;
    if (this.limits) this.askLimits_();
  };

  /**
   * Asks getSessionLimits as a control message: ahead of what is queued, and not held by the pacer
   * (whose hold waits for this very answer).
   */
  private askLimits_(): void {
    const timeoutMs = this.limitsTimeoutMs_;
    const { id, promise } = this.rpcCalls_.open(timeoutMs);
    promise.then(this.onLimits_, this.onLimitsFailed_);
    if (id < 0) return;
    const options: PublishOptions = { qos: 1, expiresAt: this.clock_.now() + timeoutMs, pace: PACE_CONTROL, first: true };
    this.session_.publishAsync(T.DEVICE_RPC_REQUEST + id, LIMITS_REQUEST, options).catch((error: unknown) => this.rpcCalls_.fail(id, notSent(error)));
  }

  private readonly onLimits_ = (answer: JsonValue): void => {
    const limits = this.limits;
    if (!limits || this.closed_) return;
    const problem = limits.apply(answer, this.clock_.now());
    if (problem) this.log_.warn(problem + '; safe defaults kept');
    this.session_.setMaxInflight(limits.maxInflight);
    this.session_.setPacer(limits.pacing ? limits : undefined);
    this.log_.info('session limits: ' + stringify(answer) + ' (in flight ' + this.session_.maxInflight + ')');
  };

  private readonly onLimitsFailed_ = (error: unknown): void => {
    const limits = this.limits;
    if (!limits || this.closed_) return;
    limits.giveUp();
    this.log_.warn('no session limits (' + describeError(error) + '); safe defaults kept');
    this.session_.setPacer(limits.pacing ? limits : undefined);
  };

  /** The session's 'message' listener itself (an arrow: no forwarding frame on the XS stack). */
  private readonly onMessage_ = (topic: string, payload: Uint8Array, info: MessageInfo): void => {
    if (topic === T.DEVICE_ATTRIBUTES) {
      this.onSharedPush_(payload);
      return;
    }
    let id = T.topicSuffix(topic, T.DEVICE_RPC_REQUEST);
    if (id !== undefined) {
      this.onServerRpc_(id, payload, info.dup);
      return;
    }
    id = T.topicSuffix(topic, T.DEVICE_ATTRIBUTES_RESPONSE);
    if (id !== undefined) {
      this.onAttributeResponse_(id, payload);
      return;
    }
    id = T.topicSuffix(topic, T.DEVICE_RPC_RESPONSE);
    if (id !== undefined) {
      this.onRpcResponse_(id, payload);
      return;
    }
    this.log_.debug('message on unexpected topic ' + topic + ' ignored');
  };

  private onSharedPush_(payload: Uint8Array): void {
    const body = parseJson(payload);
    const update = body instanceof Error ? undefined : parseSharedUpdate(body);
    if (!update) {
      this.log_.warn('shared attribute update not a JSON object, ignored: ' + preview(payload));
      return;
    }
    for (const listener of this.sharedListeners_.slice()) {
      try {
        listener(update);
      } catch (error) {
        this.log_.error('shared attribute listener failed: ' + describeError(error));
      }
    }
  }

  private onServerRpc_(id: string, payload: Uint8Array, dup: boolean): void {
    if (dup && this.recentRpcIds_.indexOf(id) >= 0) {
      this.log_.debug('redelivered RPC request ' + id + ' skipped');
      return;
    }
    this.recentRpcIds_.push(id);
    if (this.recentRpcIds_.length > RECENT_RPC_IDS) this.recentRpcIds_.shift();
    const body = parseJson(payload);
    if (body instanceof Error) {
      this.log_.warn('RPC request ' + id + ' is not JSON: ' + preview(payload));
      this.reply_(id, { error: 'request is not valid JSON' });
      return;
    }
    // A handler that answers at once is answered here, one frame up from the handler, not from
    // inside the registry (stack depth, see MqttSession).
    const answer = this.rpc_.invoke(body, id, (value) => this.reply_(id, value));
    if (answer !== undefined) this.reply_(id, answer);
  }

  private reply_(id: string, value: JsonValue): void {
    const text = stringify(value);
    if (text instanceof Error) {
      this.log_.error('RPC ' + id + ' reply cannot be sent as JSON: ' + text.message);
      return;
    }
    const tooLarge = this.limits?.payloadProblem(T.DEVICE_RPC_RESPONSE + id, text);
    if (tooLarge) {
      // The caller on the server gets a short error now instead of a timeout.
      this.log_.error('RPC ' + id + ' reply not sent: ' + tooLarge.message);
      this.session_.publish(T.DEVICE_RPC_RESPONSE + id, '{"error":"reply over the server\'s maxPayloadSize"}', QOS1);
      return;
    }
    this.session_.publish(T.DEVICE_RPC_RESPONSE + id, text, QOS1, (error) => {
      if (error) this.log_.error('RPC ' + id + ' reply not sent: ' + describeError(error));
    });
  }

  private onAttributeResponse_(idText: string, payload: Uint8Array): void {
    this.answer_(this.attributeRequests_, 'attribute response ', idText, payload, (body) =>
      isObject(body) && optionalObject(body.client) && optionalObject(body.shared)
        ? { client: (body.client as JsonObject | undefined) ?? {}, shared: (body.shared as JsonObject | undefined) ?? {} }
        : new TbError('bad-response', 'attribute response is not {"client":{..},"shared":{..}}: ' + preview(payload)),
    );
  }

  private onRpcResponse_(idText: string, payload: Uint8Array): void {
    this.answer_(this.rpcCalls_, 'RPC response ', idText, payload, (body) => body);
  }

  /** Settles the pending request `idText` names with `read`'s result for the JSON payload. */
  private answer_<T>(requests: PendingRequests<T>, what: string, idText: string, payload: Uint8Array, read: (body: JsonValue) => T | TbError): void {
    const id = requestId(idText);
    if (id === undefined || !requests.has(id)) {
      this.log_.debug(what + idText + ' matches no pending request');
      return;
    }
    const body = parseJson(payload);
    const result = body instanceof Error ? new TbError('bad-response', what + 'is not JSON: ' + preview(payload)) : read(body);
    if (result instanceof TbError) requests.fail(id, result);
    else requests.resolve(id, result);
  }

  // ---- outbound ----

  /** Requests pass their deadline as `options.expiresAt` (PublishOptions); telemetry its pace. */
  private publishJson_(topic: string, value: unknown, options: PublishOptions = QOS1): Promise<void> {
    if (this.closed_) return Promise.reject(new TbError('closed', 'the device client was closed'));
    const text = stringify(value);
    if (text instanceof Error) return Promise.reject(invalidArgument('cannot send ' + topic + ': ' + text.message));
    const tooLarge = this.limits?.payloadProblem(topic, text);
    if (tooLarge) return Promise.reject(tooLarge);
    return this.session_.publishAsync(topic, text, options);
  }
}

/** QoS 1 with the telemetry pace: its data points when the server limits them, else 1. */
export function telemetryOptions(limits: SessionLimits | undefined, data: unknown): PublishOptions {
  return telemetryPace(limits !== undefined && limits.countsPoints ? telemetryPoints(data) : 0);
}

/** QoS 1 telemetry options for a message of `points` data points (0: not counted). */
export function telemetryPace(points: number): PublishOptions {
  return points > 0 ? { qos: 1, pace: points } : TELEMETRY;
}

function checkKeys(keys: unknown): string | undefined {
  if (!Array.isArray(keys)) return 'keys must be an array of strings';
  for (const k of keys) {
    if (!isNonEmptyString(k)) return 'keys must be non-empty strings';
    if (k.indexOf(',') >= 0) return 'key "' + k + '" contains a comma, which the request format cannot carry';
  }
  return undefined;
}

function optionalObject(value: JsonValue | undefined): boolean {
  return value === undefined || isObject(value);
}

function requestId(text: string): number | undefined {
  if (!/^\d{1,10}$/.test(text)) return undefined;
  const id = Number(text);
  return id <= 0x7fffffff ? id : undefined;
}

