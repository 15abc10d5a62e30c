/** Shared types of the local ThingsBoard-compatible server. */
import type { Json } from './json';
import type { DeviceRegistry } from './registry';

export type { Json, JsonObject } from './json';

export interface DeviceSpec {
  name: string;
  token: string;
  type?: string;
}

export interface GatewaySpec {
  name: string;
  token: string;
  type?: string;
}

export interface BasicDeviceSpec {
  name: string;
  clientId: string;
  username: string;
  password: string;
  type?: string;
}

/** Rate limit strings as ThingsBoard reports them ("N:seconds,..."; "" = no limit). Not enforced. */
export interface RateLimits {
  messages: string;
  telemetryMessages: string;
  telemetryDataPoints: string;
}

export interface TbServerOptions {
  /** MQTT port; 0 (default) picks a free port. */
  mqttPort?: number;
  /** HTTP admin API port; 0 (default) picks a free port. */
  httpPort?: number;
  /** Address both servers bind to; default 127.0.0.1. */
  host?: string;
  devices?: DeviceSpec[];
  gateways?: GatewaySpec[];
  basicDevices?: BasicDeviceSpec[];
  /** Device provisioning profile (create-new strategy). Without it every request gets NOT_FOUND. */
  provision?: { key: string; secret: string };
  /** Receives one human-readable line per event. */
  log?: (line: string) => void;
  /** Default server-side RPC timeout; default 10000 ms. */
  rpcTimeoutMs?: number;
  /** Smallest timeout the REST RPC API accepts (ThingsBoard: 5000 ms); default 5000. sendRpc() ignores it. */
  rpcMinTimeoutMs?: number;
  /** Max MQTT packet size including headers; default 65536. Larger: the connection is closed. */
  maxPayloadBytes?: number;
  /**
   * QoS 1 messages to one device awaiting its PUBACK; more wait (bounded) until one is
   * acknowledged. Reported by getSessionLimits as maxInflightMessages. Default 100.
   */
  maxInflightMessages?: number;
  /** A provisioning session is closed this long after its answer; default 60000 ms. */
  provisionCloseMs?: number;
  /** Idle sessions (no bytes either way) are dropped after this; default 600000 ms. */
  idleTimeoutMs?: number;
  /** Reported by the client-side RPC `getSessionLimits`; default "" (no limit) each. */
  rateLimits?: Partial<RateLimits>;
  /** Reported by `getSessionLimits` to gateways as `gatewayRateLimits`. */
  gatewayRateLimits?: Partial<RateLimits>;
  /** Client-side RPC handlers by method name (in addition to the built-in ones). */
  clientRpc?: Record<string, ClientRpcHandler>;
  /** Share a registry between server instances (restart tests). */
  registry?: DeviceRegistry;
}

/** Answers a client-side RPC: the returned JSON is published on the response topic. */
export type ClientRpcHandler = (params: Json, device: { name: string; type: string }) => Json;

/** Everything that flows, for `npm start` and for tests. */
export type TbEvent =
  | { type: 'connected'; device: string; kind: 'device' | 'gateway' | 'provision'; clientId: string; protocolVersion: number }
  | { type: 'disconnected'; device: string; kind: 'device' | 'gateway' | 'provision' }
  /** A refused CONNECT: the CONNACK code sent (at the connection's level) and why. */
  | { type: 'rejected'; returnCode: number; protocolVersion: number; reason: string; clientId: string; remote: string; username?: string }
  /** An older session of the device closed by a new connection with its credentials (ThingsBoard: one session per device). */
  | { type: 'evicted'; device: string; clientId: string; by: string }
  | { type: 'uplink'; device: string; topic: string; payload: string }
  | { type: 'downlink'; device: string; topic: string; payload: string }
  /** A broken rule; the session is closed unless `kept`. */
  | { type: 'violation'; device: string; reason: string; kept?: true }
  | { type: 'suback'; device: string; filter: string; granted: number }
  | { type: 'child'; gateway: string; device: string; connected: boolean }
  | { type: 'provisioned'; device: string; status: string }
  | { type: 'rpc'; device: string; id: number; method: string; outcome: 'sent' | 'reply' | 'timeout' | 'no-connection' }
  | { type: 'ota'; device: string; detail: string }
  /** A claim request from the device side, or a customer's claim over REST and its outcome. */
  | { type: 'claim'; device: string; detail: string };

export type TbEventListener = (event: TbEvent) => void;
