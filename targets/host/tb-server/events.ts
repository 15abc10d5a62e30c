/** Event fan-out, one-line formatting for logs, and waiting for an event (tests). */
import type { TbEvent, TbEventListener } from './types';

const MAX_WAITERS = 1_000;
const MAX_SHOWN = 200;

function clip(s: string): string {
  return s.length > MAX_SHOWN ? `${s.slice(0, MAX_SHOWN)}... (${s.length} chars)` : s;
}

const LEVEL_NAME: Readonly<Record<number, string>> = Object.freeze({ 3: 'MQTT 3.1', 4: 'MQTT 3.1.1', 5: 'MQTT 5' });

function levelName(level: number): string {
  return LEVEL_NAME[level] ?? `level ${level}`;
}

function hex(n: number): string {
  return n.toString(16).padStart(2, '0');
}

export function formatEvent(e: TbEvent): string {
  switch (e.type) {
    case 'connected':
      return `[mqtt] ${e.device} connected (${e.kind}, ${levelName(e.protocolVersion)}, clientId "${e.clientId}")`;
    case 'disconnected':
      return `[mqtt] ${e.device} disconnected`;
    case 'rejected':
      return `[mqtt] refused ${e.remote} (${levelName(e.protocolVersion)}, clientId "${e.clientId}"${e.username !== undefined ? `, username "${e.username}"` : ''}): CONNACK 0x${hex(e.returnCode)}, ${e.reason}`;
    case 'evicted':
      return `[mqtt] ${e.device}: older session (clientId "${e.clientId}") closed: a new connection (clientId "${e.by}") has the same credentials`;
    case 'uplink':
      return `[mqtt] ${e.device} -> ${e.topic} ${clip(e.payload)}`;
    case 'downlink':
      return `[mqtt] ${e.device} <- ${e.topic} ${clip(e.payload)}`;
    case 'violation':
      return e.kept ? `[mqtt] ${e.device}: ${e.reason}` : `[mqtt] ${e.device} dropped: ${e.reason}`;
    case 'suback':
      return `[mqtt] ${e.device} subscribe ${e.filter} -> ${e.granted >= 0x80 ? `refused (0x${hex(e.granted)})` : `QoS ${e.granted}`}`;
    case 'child':
      return `[gateway] ${e.gateway}: child ${e.device} ${e.connected ? 'connected' : 'disconnected'}`;
    case 'provisioned':
      return `[provision] ${e.device || '(no name)'}: ${e.status}`;
    case 'rpc':
      return `[rpc] ${e.device} #${e.id} ${e.method}: ${e.outcome}`;
    case 'ota':
      return `[ota] ${e.device}: ${e.detail}`;
    case 'claim':
      return `[claim] ${e.device}: ${e.detail}`;
  }
}

interface Waiter {
  match: (e: TbEvent) => boolean;
  resolve: (e: TbEvent) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export class EventHub {
  private readonly listeners = new Set<TbEventListener>();
  private readonly waiters = new Set<Waiter>();

  constructor(private readonly log?: (line: string) => void) {}

  on(fn: TbEventListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  emit(e: TbEvent): void {
    if (this.log) this.log(formatEvent(e));
    for (const fn of this.listeners) fn(e);
    for (const w of [...this.waiters]) {
      if (!w.match(e)) continue;
      this.settle(w);
      w.resolve(e);
    }
  }

  /** Resolves with the first later event that matches; rejects after timeoutMs or on close(). */
  waitFor(match: (e: TbEvent) => boolean, timeoutMs: number): Promise<TbEvent> {
    if (this.waiters.size >= MAX_WAITERS) return Promise.reject(new Error('too many waiters'));
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        match,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.settle(w);
          reject(new Error(`no matching event within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.waiters.add(w);
    });
  }

  close(): void {
    for (const w of [...this.waiters]) {
      this.settle(w);
      w.reject(new Error('server closed'));
    }
    this.listeners.clear();
  }

  private settle(w: Waiter): void {
    clearTimeout(w.timer);
    this.waiters.delete(w);
  }
}
