import { describeError } from '../platform/errors';
import type { Log } from '../platform/log';
import type { JsonValue } from '../platform/store';
import { invalidArgument, TbError } from './errors';
import type { JsonObject } from './json';
import type { RpcHandler, RpcRegistry } from './rpc-registry';
import type { SharedAttributesListener, SharedAttributesUpdate } from './shared-attributes';
import type { AttributeRequest, AttributesResponse, ClaimOptions, TbDevice } from './tb-device';
import { checkAttributes, checkTelemetry, type TelemetryInput } from './telemetry';
import { isIntegerIn, isNonEmptyString, isString } from '../platform/guards';

/** Longest device name or type the gateway accepts (ThingsBoard's column is 255 characters). */
export const MAX_NAME_LENGTH = 255;
/** Keys per scope in one child attribute request. */
export const MAX_REQUEST_KEYS = 64;
/** Shared attribute listeners per child. */
const MAX_LISTENERS = 8;

/** What a child handle asks of its gateway; GatewayClient implements it. */
export interface ChildHost {
  readonly log: Log;
  readonly connected: boolean;
  readonly requestTimeoutMs: number;
  childTelemetry(child: GatewayChild, data: TelemetryInput): Promise<void>;
  childAttributes(child: GatewayChild, attributes: JsonObject): Promise<void>;
  childAttributeRequest(child: GatewayChild, client: boolean, keys: string[], timeoutMs: number): Promise<JsonObject>;
  childClaim(child: GatewayChild, body: JsonObject): Promise<void>;
  disconnectDevice(name: string): Promise<void>;
  newRpcRegistry(): RpcRegistry;
}

/**
 * One device behind a gateway (GatewayClient.connectDevice). Implements TbDevice, so firmware code
 * does not care whether it talks to ThingsBoard directly or through a gateway. The server offers no
 * client-side RPC to children, so there is none here. After disconnect (or a delete notice from the
 * server) the handle is dead: `connected` is false and every send rejects with 'closed'.
 */
export class GatewayChild implements TbDevice {
  private nameValue_: string;
  private attached_ = true;
  private rpc_: RpcRegistry | undefined;
  private readonly sharedListeners_: SharedAttributesListener[] = [];

  constructor(
    private readonly host_: ChildHost,
    name: string,
    /** Device profile name sent with every announcement; the server uses it only when it creates the device. */
    readonly type: string | undefined,
  ) {
    this.nameValue_ = name;
  }

  /** The device name; follows rename notices from the server. */
  get name(): string {
    return this.nameValue_;
  }

  /** True while the gateway's session is up and this child is still attached to the gateway. */
  get connected(): boolean {
    return this.attached_ && this.host_.connected;
  }

  /** False once disconnected or deleted; the handle cannot come back (connectDevice gives a new one). */
  get attachedToGateway(): boolean {
    return this.attached_;
  }

  sendTelemetry(data: TelemetryInput): Promise<void> {
    const dead = this.deadError_();
    if (dead) return Promise.reject(dead);
    const problem = checkTelemetry(data);
    if (problem) return Promise.reject(invalidArgument(this.nameValue_ + ': ' + problem));
    return this.host_.childTelemetry(this, data);
  }

  sendAttributes(attributes: JsonObject): Promise<void> {
    const dead = this.deadError_();
    if (dead) return Promise.reject(dead);
    const problem = checkAttributes(attributes);
    if (problem) return Promise.reject(invalidArgument(this.nameValue_ + ': ' + problem));
    return this.host_.childAttributes(this, attributes);
  }

  /**
   * Asks for client and/or shared attributes: one gateway request per scope, combined into
   * {client, shared}. The gateway API cannot ask for "all attributes", so name the keys.
   */
  requestAttributes(request: AttributeRequest = {}, timeoutMs = this.host_.requestTimeoutMs): Promise<AttributesResponse> {
    const dead = this.deadError_();
    if (dead) return Promise.reject(dead);
    if (typeof request !== 'object' || request === null) return Promise.reject(invalidArgument('attribute request must be an object'));
    const { clientKeys, sharedKeys } = request;
    if (clientKeys === undefined && sharedKeys === undefined) {
      return Promise.reject(invalidArgument('a gateway attribute request needs clientKeys and/or sharedKeys'));
    }
    for (const [field, keys] of [
      ['clientKeys', clientKeys],
      ['sharedKeys', sharedKeys],
    ] as const) {
      const problem = keys === undefined ? undefined : checkKeys(keys);
      if (problem) return Promise.reject(invalidArgument(field + ': ' + problem));
    }
    const empty: Promise<JsonObject> = Promise.resolve({});
    const client = clientKeys && clientKeys.length > 0 ? this.host_.childAttributeRequest(this, true, clientKeys.slice(), timeoutMs) : empty;
    const shared = sharedKeys && sharedKeys.length > 0 ? this.host_.childAttributeRequest(this, false, sharedKeys.slice(), timeoutMs) : empty;
    return Promise.all([client, shared]).then(([c, s]) => ({ client: c, shared: s }));
  }

  onSharedAttributes(listener: SharedAttributesListener): () => void {
    if (typeof listener !== 'function') throw invalidArgument('shared attribute listener must be a function');
    if (this.sharedListeners_.length >= MAX_LISTENERS) {
      throw invalidArgument('too many shared attribute listeners on ' + this.nameValue_ + ' (cap ' + MAX_LISTENERS + ')');
    }
    this.sharedListeners_.push(listener);
    return () => {
      const i = this.sharedListeners_.indexOf(listener);
      if (i >= 0) this.sharedListeners_.splice(i, 1);
    };
  }

  /** Registers a server-side RPC method of this child by exact name. */
  onRpc(method: string, handler: RpcHandler): () => void {
    if (!this.rpc_) this.rpc_ = this.host_.newRpcRegistry();
    return this.rpc_.register(method, handler);
  }

  claim(options: ClaimOptions = {}): Promise<void> {
    const dead = this.deadError_();
    if (dead) return Promise.reject(dead);
    const body = claimBody(options);
    if (body instanceof TbError) return Promise.reject(body);
    return this.host_.childClaim(this, body);
  }

  /** Detaches the child (v1/gateway/disconnect); the same as GatewayClient.disconnectDevice(name). */
  disconnect(): Promise<void> {
    if (!this.attached_) return Promise.resolve();
    return this.host_.disconnectDevice(this.nameValue_);
  }

  // ---- for GatewayClient only ----

  /** @internal The registry holding `method`, if this child registered it. */
  rpcFor(method: string): RpcRegistry | undefined {
    return this.rpc_ && this.rpc_.has(method) ? this.rpc_ : undefined;
  }

  /** @internal */
  renameTo(name: string): void {
    this.nameValue_ = name;
  }

  /** @internal */
  detach(): void {
    this.attached_ = false;
  }

  /** @internal */
  deliverShared(update: SharedAttributesUpdate): void {
    for (const listener of this.sharedListeners_.slice()) {
      try {
        listener(update);
      } catch (error) {
        this.host_.log.error('shared attribute listener of ' + this.nameValue_ + ' failed: ' + describeError(error));
      }
    }
  }

  private deadError_(): TbError | undefined {
    return this.attached_ ? undefined : new TbError('closed', 'child device ' + this.nameValue_ + ' is no longer attached to the gateway');
  }
}

/** Checks a device name (or type) given to the gateway; returns the problem or undefined. */
export function checkName(value: unknown, what: string): string | undefined {
  if (!isNonEmptyString(value)) return what + ' must be a non-empty string';
  if (value.length > MAX_NAME_LENGTH) return what + ' is longer than ' + MAX_NAME_LENGTH + ' characters';
  return undefined;
}

/** Gateway attribute requests carry keys as a JSON array, so any non-empty string is a key. */
function checkKeys(keys: unknown): string | undefined {
  if (!Array.isArray(keys)) return 'keys must be an array of strings';
  if (keys.length > MAX_REQUEST_KEYS) return 'more than ' + MAX_REQUEST_KEYS + ' keys';
  for (const k of keys) if (!isNonEmptyString(k)) return 'keys must be non-empty strings';
  return undefined;
}

/** The claim object of one device: {"secretKey":..,"durationMs":..}, both optional. */
export function claimBody(options: ClaimOptions): JsonObject | TbError {
  if (typeof options !== 'object' || options === null) return invalidArgument('claim options must be an object');
  const body: JsonObject = {};
  if (options.secretKey !== undefined) {
    if (!isString(options.secretKey)) return invalidArgument('claim secretKey must be a string');
    body.secretKey = options.secretKey;
  }
  if (options.durationMs !== undefined) {
    if (!isIntegerIn(options.durationMs, 1)) {
      return invalidArgument('claim durationMs must be a positive integer');
    }
    body.durationMs = options.durationMs;
  }
  return body;
}

export type { JsonValue };
