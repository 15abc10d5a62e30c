/** Server-side RPC: ids per device, pending requests, timeouts, replies. Mirrors ThingsBoard's device actor. */
import type { DeviceRecord } from './registry';
import type { Json } from './types';

export type RpcErrorCode = 'TIMEOUT' | 'NO_ACTIVE_CONNECTION' | 'TOO_MANY_REQUESTS' | 'CLOSED';

export class RpcError extends Error {
  constructor(readonly code: RpcErrorCode, message: string = code) {
    super(message);
  }
}

export interface RpcRequest {
  readonly device: DeviceRecord;
  readonly id: number;
  readonly method: string;
  readonly params: Json;
  readonly oneway: boolean;
}

export interface RpcReply {
  /** The reply payload as published by the device (one-way: ""). */
  raw: string;
  /** `raw` parsed as JSON, or the string itself when it is not JSON (one-way: undefined). */
  value: Json | undefined;
}

interface Pending {
  req: RpcRequest;
  sent: boolean;
  timer: NodeJS.Timeout;
  resolve: (r: RpcReply) => void;
  reject: (e: RpcError) => void;
}

/** Sends a request to the device's live session; false when nothing is subscribed to RPC. */
export type RpcTransport = (req: RpcRequest) => boolean;

export const MAX_PENDING_RPC = 1_000;

export class RpcManager {
  private readonly pending = new Map<string, Map<number, Pending>>();
  private count = 0;
  transport: RpcTransport = () => false;
  onOutcome: (req: RpcRequest, outcome: 'sent' | 'reply' | 'timeout' | 'no-connection') => void = () => {};

  /**
   * Like ThingsBoard: sent at once when a session is subscribed, else kept pending and pushed when one
   * subscribes. One-way completes when sent; two-way when the reply arrives. At the timeout:
   * TIMEOUT if it was sent, NO_ACTIVE_CONNECTION if it never was.
   */
  send(device: DeviceRecord, method: string, params: Json, opts: { timeoutMs: number; oneway: boolean }): Promise<RpcReply> {
    if (this.count >= MAX_PENDING_RPC) return Promise.reject(new RpcError('TOO_MANY_REQUESTS', 'too many pending RPC requests'));
    const req: RpcRequest = { device, id: device.rpcSeq++, method, params, oneway: opts.oneway };
    if (device.rpcSeq > 0x7fffffff) device.rpcSeq = 0;
    return new Promise<RpcReply>((resolve, reject) => {
      const p: Pending = {
        req,
        sent: false,
        resolve,
        reject,
        timer: setTimeout(() => this.expire(p), Math.max(0, opts.timeoutMs)),
      };
      let map = this.pending.get(device.id);
      if (!map) this.pending.set(device.id, (map = new Map()));
      map.set(req.id, p);
      this.count++;
      this.trySend(p);
    });
  }

  /** Pushes every not-yet-sent request of the device (a session just subscribed). */
  flush(device: DeviceRecord): void {
    const map = this.pending.get(device.id);
    if (!map) return;
    for (const p of [...map.values()]) if (!p.sent) this.trySend(p);
  }

  /** A reply from the device; false if no two-way request with that id is pending. */
  reply(device: DeviceRecord, id: number, raw: string): boolean {
    const p = this.pending.get(device.id)?.get(id);
    if (!p || p.req.oneway) return false;
    this.finish(p);
    let value: Json;
    try {
      value = JSON.parse(raw) as Json;
    } catch {
      value = raw;
    }
    this.onOutcome(p.req, 'reply');
    p.resolve({ raw, value });
    return true;
  }

  pendingCount(): number {
    return this.count;
  }

  close(): void {
    for (const map of this.pending.values()) {
      for (const p of map.values()) {
        clearTimeout(p.timer);
        p.reject(new RpcError('CLOSED', 'server closed'));
      }
    }
    this.pending.clear();
    this.count = 0;
  }

  private trySend(p: Pending): void {
    if (!this.transport(p.req)) return;
    p.sent = true;
    this.onOutcome(p.req, 'sent');
    if (p.req.oneway) {
      this.finish(p);
      p.resolve({ raw: '', value: undefined });
    }
  }

  private expire(p: Pending): void {
    this.finish(p);
    this.onOutcome(p.req, p.sent ? 'timeout' : 'no-connection');
    p.reject(p.sent ? new RpcError('TIMEOUT', 'RPC timeout') : new RpcError('NO_ACTIVE_CONNECTION', 'no active connection'));
  }

  private finish(p: Pending): void {
    clearTimeout(p.timer);
    const map = this.pending.get(p.req.device.id);
    if (map?.delete(p.req.id)) this.count--;
    if (map && map.size === 0) this.pending.delete(p.req.device.id);
  }
}
