/** Devices, their credentials and their data (attributes, latest telemetry, claims). */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Json } from './json';

export const LIMITS = {
  devices: 10_000,
  keysPerDevice: 1_000,
  historyPerKey: 1000,
  claimsKept: 1_000,
};

export type Credentials =
  | { type: 'ACCESS_TOKEN'; token: string }
  | { type: 'MQTT_BASIC'; clientId: string; userName: string; password: string };

export interface Entry {
  value: Json;
  ts: number;
}

export interface DeviceRecord {
  readonly id: string;
  readonly name: string;
  readonly type: string;
  readonly gateway: boolean;
  readonly credentials: Credentials;
  readonly createdTime: number;
  /** Name of the gateway that last reported this device as a child. */
  parentGateway?: string;
  readonly clientAttributes: Map<string, Entry>;
  readonly sharedAttributes: Map<string, Entry>;
  /** Latest value per key. */
  readonly telemetry: Map<string, Entry>;
  /** Up to LIMITS.historyPerKey values per key in ts order, one per ts (a later one with the same ts replaces it, as ThingsBoard's store does). */
  readonly history: Map<string, Entry[]>;
  /** Server-side RPC id sequence (ThingsBoard: per device actor, starts at 0). */
  rpcSeq: number;
  /** The OTA package assigned to this device itself (ThingsBoard's Device.firmwareId); its profile's applies otherwise. */
  firmwareId?: string;
  /** The package whose fw_* attributes were pushed last (undefined: none). */
  announcedFirmwareId?: string;
  /** The customer that claimed the device (undefined: not claimed; ThingsBoard's NULL_UUID). */
  customerId?: string;
}

export interface ClaimRecord {
  device: string;
  secretKey: string;
  durationMs: number;
  ts: number;
  /** Set once a REST claim used it (SUCCESS or CLAIMED): ThingsBoard removes the claiming data then. */
  redeemed?: true;
}

/** What a REST claim answers, and why (for the log). */
export interface ClaimOutcome {
  response: 'SUCCESS' | 'FAILURE' | 'CLAIMED';
  why: string;
}

/** The one customer of the local server (it has no users or customers of its own). */
export const LOCAL_CUSTOMER_ID = 'c1a1b000-0000-4000-8000-00000000c0de';

export interface NewDevice {
  name: string;
  type?: string;
  gateway?: boolean;
  token?: string;
  basic?: { clientId: string; userName: string; password: string };
}

export class RegistryError extends Error {}

/** Default claim duration of ThingsBoard (`security.claim.duration`). */
export const DEFAULT_CLAIM_MS = 86_400_000;

export function generateToken(): string {
  return randomBytes(15).toString('base64url').slice(0, 20);
}

export class DeviceRegistry {
  private readonly byName = new Map<string, DeviceRecord>();
  private readonly byId = new Map<string, DeviceRecord>();
  private readonly byToken = new Map<string, DeviceRecord>();
  private readonly basic: DeviceRecord[] = [];
  readonly claims: ClaimRecord[] = [];

  create(spec: NewDevice): DeviceRecord {
    const name = spec.name;
    if (typeof name !== 'string' || name.length === 0 || name.length > 255) throw new RegistryError('Device name is invalid');
    if (this.byName.has(name)) throw new RegistryError('Device with such name already exists!');
    if (this.byName.size >= LIMITS.devices) throw new RegistryError('Too many devices');
    let credentials: Credentials;
    if (spec.basic) {
      const { clientId, userName, password } = spec.basic;
      if (!clientId && !userName) throw new RegistryError('MQTT basic credentials need a clientId or a userName');
      if (this.findBasic(clientId, userName, password)) throw new RegistryError('Device credentials are already assigned to another device!');
      credentials = { type: 'MQTT_BASIC', clientId, userName, password };
    } else {
      const token = spec.token ?? generateToken();
      if (token.length === 0) throw new RegistryError('Access token is empty');
      if (this.byToken.has(token)) throw new RegistryError('Device credentials are already assigned to another device!');
      credentials = { type: 'ACCESS_TOKEN', token };
    }
    const rec: DeviceRecord = {
      id: randomUUID(),
      name,
      type: spec.type || 'default',
      gateway: spec.gateway === true,
      credentials,
      createdTime: Date.now(),
      clientAttributes: new Map(),
      sharedAttributes: new Map(),
      telemetry: new Map(),
      history: new Map(),
      rpcSeq: 0,
    };
    this.byName.set(name, rec);
    this.byId.set(rec.id, rec);
    if (credentials.type === 'ACCESS_TOKEN') this.byToken.set(credentials.token, rec);
    else this.basic.push(rec);
    return rec;
  }

  get(name: string): DeviceRecord | undefined {
    return this.byName.get(name);
  }

  getById(id: string): DeviceRecord | undefined {
    return this.byId.get(id);
  }

  byAccessToken(token: string): DeviceRecord | undefined {
    return this.byToken.get(token);
  }

  /** ThingsBoard order: clientId + userName, then clientId alone, then userName alone; password must match. */
  findBasic(clientId: string | undefined, userName: string | undefined, password: string | undefined): DeviceRecord | undefined {
    const pw = password ?? '';
    const match = (rec: DeviceRecord, useClient: boolean, useUser: boolean): boolean => {
      const c = rec.credentials;
      if (c.type !== 'MQTT_BASIC') return false;
      if (useClient !== (c.clientId !== '') || useUser !== (c.userName !== '')) return false;
      if (useClient && c.clientId !== clientId) return false;
      if (useUser && c.userName !== userName) return false;
      return c.password === '' || c.password === pw;
    };
    return (
      this.basic.find((r) => match(r, true, true)) ??
      this.basic.find((r) => match(r, true, false)) ??
      this.basic.find((r) => match(r, false, true))
    );
  }

  all(): DeviceRecord[] {
    return [...this.byName.values()];
  }

  /** Returns the existing device or creates a gateway child with the given type. */
  getOrCreateChild(name: string, type: string | undefined, gatewayName: string): DeviceRecord {
    let rec = this.byName.get(name);
    if (!rec) rec = this.create({ name, type: type || 'default' });
    rec.parentGateway = gatewayName;
    return rec;
  }

  saveTelemetry(rec: DeviceRecord, ts: number, values: Record<string, Json>): number {
    let n = 0;
    for (const [key, value] of Object.entries(values)) {
      if (value === null) continue;
      if (!rec.telemetry.has(key) && rec.telemetry.size >= LIMITS.keysPerDevice) continue;
      const prev = rec.telemetry.get(key);
      const entry = { value, ts };
      if (!prev || prev.ts <= ts) rec.telemetry.set(key, entry);
      let h = rec.history.get(key);
      if (!h) rec.history.set(key, (h = []));
      insertByTs(h, entry);
      if (h.length > LIMITS.historyPerKey) h.shift();
      n++;
    }
    return n;
  }

  /** Stores attributes; returns the keys stored. `null` values are skipped. */
  saveAttributes(map: Map<string, Entry>, values: Record<string, Json>, ts = Date.now()): string[] {
    const keys: string[] = [];
    for (const [key, value] of Object.entries(values)) {
      if (value === null) continue;
      if (!map.has(key) && map.size >= LIMITS.keysPerDevice) continue;
      map.set(key, { value, ts });
      keys.push(key);
    }
    return keys;
  }

  /** Records a claim unless one is still pending for the device. */
  claim(rec: DeviceRecord, secretKey: string, durationMs: number, now = Date.now()): boolean {
    const pending = this.claims.find((c) => c.device === rec.name && !c.redeemed && c.ts + c.durationMs > now);
    if (pending) return false;
    this.claims.push({ device: rec.name, secretKey, durationMs, ts: now });
    if (this.claims.length > LIMITS.claimsKept) this.claims.shift();
    return true;
  }

  /**
   * A customer's claim with `secretKey` (ThingsBoard's ClaimDevicesServiceImpl.claimDevice): the
   * device's latest claim request must be unexpired and carry the same key (both empty counts).
   * A wrong key leaves the request in place; a match is used up.
   */
  redeemClaim(rec: DeviceRecord, secretKey: string, customerId: string, now = Date.now()): ClaimOutcome {
    let latest: ClaimRecord | undefined;
    for (const c of this.claims) if (c.device === rec.name && !c.redeemed) latest = c;
    if (!latest) {
      return rec.customerId ? { response: 'CLAIMED', why: 'already claimed' } : { response: 'FAILURE', why: 'the device sent no claim request' };
    }
    if (now > latest.ts + latest.durationMs) return { response: 'FAILURE', why: `the claim request expired at ${new Date(latest.ts + latest.durationMs).toISOString()}` };
    if (secretKey !== latest.secretKey) return { response: 'FAILURE', why: 'wrong secretKey' };
    latest.redeemed = true;
    if (rec.customerId) return { response: 'CLAIMED', why: 'already claimed' };
    rec.customerId = customerId;
    return { response: 'SUCCESS', why: `claimed by customer ${customerId}` };
  }
}

/** Inserts in ts order (telemetry mostly arrives in order: a look from the end); same ts: replaced. */
function insertByTs(list: Entry[], entry: Entry): void {
  let i = list.length;
  while (i > 0 && list[i - 1].ts > entry.ts) i--;
  if (i > 0 && list[i - 1].ts === entry.ts) list[i - 1] = entry;
  else list.splice(i, 0, entry);
}
