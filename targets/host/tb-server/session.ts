/** One MQTT connection as ThingsBoard sees it, and the table of live sessions. */
import type { MqttConn } from './conn';
import type { SessionLimiters } from './rate-limits';
import type { DeviceRecord } from './registry';
import { matchFilter } from './topics';

export type SessionKind = 'device' | 'gateway' | 'provision';

export interface Session {
  readonly seq: number;
  readonly kind: SessionKind;
  readonly conn: MqttConn;
  /** The MQTT client id the device sent (or the one assigned at MQTT 5 for an empty one). */
  readonly clientId: string;
  /** 3 (MQTT 3.1), 4 (3.1.1) or 5. */
  readonly protocolVersion: number;
  /** Absent for provisioning sessions. */
  readonly device?: DeviceRecord;
  /** Device name, or `provision(<clientId>)`. */
  readonly label: string;
  /** Accepted subscribe filters and their granted QoS. */
  readonly subs: Map<string, number>;
  /** Gateway only: child devices with a live session through this gateway. */
  readonly children: Map<string, DeviceRecord>;
  closed: boolean;
  timer?: NodeJS.Timeout;
  /** The rate limits this session's uplink is held to (device and gateway sessions). */
  limiters?: SessionLimiters;
  /** QoS 1 downlink awaiting the device's PUBACK, and what waits behind the in-flight cap. */
  downInflight: number;
  /** How many may be unacknowledged: maxInflightMessages, or the client's Receive Maximum if lower. */
  readonly downWindow: number;
  downQueue: { topic: string; payload: Buffer }[];
  /** OTA: the chunk size each request id asked (an empty request payload reuses it); at most 16. */
  fwChunkSizes: Map<string, number>;
}

/** Granted QoS of the first subscription matching the topic, if any. */
export function subscribedQos(s: Session, topic: string): number | undefined {
  for (const [filter, qos] of s.subs) if (matchFilter(filter, topic)) return qos;
  return undefined;
}

export class SessionTable {
  private seq = 0;
  private readonly byConn = new Map<MqttConn, Session>();
  private readonly byDevice = new Map<string, Session>();
  private readonly childOwner = new Map<string, Session>();

  nextSeq(): number {
    return ++this.seq;
  }

  /** Adds a session; returns the session of the same device it replaces (to be closed), if any. */
  add(s: Session): Session | undefined {
    this.byConn.set(s.conn, s);
    if (!s.device) return undefined;
    const old = this.byDevice.get(s.device.id);
    this.byDevice.set(s.device.id, s);
    return old !== s ? old : undefined;
  }

  /** Forgets a session and its gateway children; returns the children dropped. */
  remove(s: Session): DeviceRecord[] {
    s.closed = true;
    if (s.timer) clearTimeout(s.timer);
    this.byConn.delete(s.conn);
    if (s.device && this.byDevice.get(s.device.id) === s) this.byDevice.delete(s.device.id);
    const dropped = [...s.children.values()];
    for (const child of dropped) this.detachChild(s, child);
    return dropped;
  }

  ofConn(c: MqttConn): Session | undefined {
    return this.byConn.get(c);
  }

  ofDevice(d: DeviceRecord): Session | undefined {
    return this.byDevice.get(d.id);
  }

  gatewayOf(child: DeviceRecord): Session | undefined {
    return this.childOwner.get(child.id);
  }

  attachChild(gw: Session, child: DeviceRecord): boolean {
    const prev = this.childOwner.get(child.id);
    if (prev === gw) return false;
    if (prev) prev.children.delete(child.name);
    this.childOwner.set(child.id, gw);
    gw.children.set(child.name, child);
    return true;
  }

  detachChild(gw: Session, child: DeviceRecord): void {
    gw.children.delete(child.name);
    if (this.childOwner.get(child.id) === gw) this.childOwner.delete(child.id);
  }

  all(): Session[] {
    return [...this.byConn.values()];
  }
}
