/**
 * When the server last heard from each device, as ThingsBoard's lastActivityTime,
 * lastConnectTime and lastDisconnectTime (which the local server's registry does not keep).
 * Fed from the event hub; one entry per registered device at most.
 */
import type { DeviceRegistry } from '../registry';
import type { TbEvent } from '../types';

export interface Activity {
  lastActivityTime: number | null;
  lastConnectTime: number | null;
  lastDisconnectTime: number | null;
}

const NONE: Activity = Object.freeze({ lastActivityTime: null, lastConnectTime: null, lastDisconnectTime: null });

/** The device names an event is about: a gateway's child event names both. */
export function eventDevices(e: TbEvent): string[] {
  if (e.type === 'child') return [e.gateway, e.device];
  return 'device' in e ? [e.device] : [];
}

/** Events that mean the device itself did something (a downlink or an RPC timeout does not). */
const FROM_DEVICE: ReadonlySet<TbEvent['type']> = new Set(['connected', 'disconnected', 'uplink', 'suback', 'child']);

export class ActivityLog {
  private readonly byId = new Map<string, Activity>();

  constructor(private readonly registry: DeviceRegistry) {}

  record(e: TbEvent, now = Date.now()): void {
    if (!FROM_DEVICE.has(e.type)) return;
    for (const name of eventDevices(e)) {
      const rec = this.registry.get(name);
      if (!rec) continue; // provisioning sessions, the broker itself
      const a = this.entry(rec.id);
      a.lastActivityTime = now;
      if (e.type === 'connected' || (e.type === 'child' && e.connected && name === e.device)) a.lastConnectTime = now;
      if (e.type === 'disconnected' || (e.type === 'child' && !e.connected && name === e.device)) a.lastDisconnectTime = now;
    }
  }

  /** Data stored for the device (a gateway's child speaks through its gateway's messages). */
  touch(id: string, now = Date.now()): void {
    this.entry(id).lastActivityTime = now;
  }

  get(id: string): Activity {
    return this.byId.get(id) ?? NONE;
  }

  private entry(id: string): Activity {
    let a = this.byId.get(id);
    if (!a) this.byId.set(id, (a = { ...NONE }));
    return a;
  }
}
