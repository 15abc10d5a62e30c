/** What the MQTT handlers, the HTTP API and the programmatic API share. */
import type { OtaCatalog } from './ota-catalog';
import type { DeviceRegistry } from './registry';
import type { RpcManager } from './rpc';
import type { Session, SessionTable } from './session';
import type { ClientRpcHandler, Json, RateLimits, TbEvent, TbEventListener } from './types';

export interface ResolvedOptions {
  host: string;
  maxPayloadBytes: number;
  maxInflightMessages: number;
  rpcTimeoutMs: number;
  rpcMinTimeoutMs: number;
  provisionCloseMs: number;
  idleTimeoutMs: number;
  provision?: { key: string; secret: string };
  rateLimits: RateLimits;
  gatewayRateLimits: RateLimits;
  clientRpc: Record<string, ClientRpcHandler>;
}

export interface Ctx {
  readonly registry: DeviceRegistry;
  readonly sessions: SessionTable;
  readonly rpc: RpcManager;
  readonly ota: OtaCatalog;
  readonly opts: ResolvedOptions;
  emit(event: TbEvent): void;
  /** Every later event (the dashboard's live stream); returns the unsubscribe function. */
  onEvent(fn: TbEventListener): () => void;
  /** Publishes to one session, QoS = granted QoS of the matching subscription, else 1. Bytes go as they are. */
  send(s: Session, topic: string, payload: Json | string | Uint8Array, qos?: number): void;
  /** Closes a session's connection (at MQTT 5 with a DISCONNECT carrying `reasonCode`, if given). */
  drop(s: Session, reason: string, reasonCode?: number): void;
}

/**
 * What a publish handler returns: work to run after the PUBACK (responses), or UNKNOWN_TOPIC for a
 * topic the API does not have (acknowledged, at MQTT 5 with reason 0x90 Topic Name invalid, as
 * ThingsBoard does). It throws ShapeError for a payload it cannot take.
 */
export type AfterAck = (() => void) | void | typeof UNKNOWN_TOPIC;
export const UNKNOWN_TOPIC = 'unknown-topic';
