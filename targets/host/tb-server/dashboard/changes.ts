/**
 * What changed in a device's stored data since the last look: new telemetry points (a later ts
 * than any seen, per key) and attribute scopes with any entry set or deleted. The registry
 * replaces an attribute's entry object on every save, so identity tells a change even within
 * one millisecond. Out-of-order points older than the newest seen are not reported (the page
 * gets them with the history on its next load).
 */
import type { DeviceRecord, Entry } from '../registry';
import type { AttributeEntry, AttributeScope, TelemetryPoints } from './protocol';

interface Seen {
  /** Per key, the newest ts reported. */
  telemetry: Map<string, number>;
  client: Map<string, Entry>;
  shared: Map<string, Entry>;
}

export interface DeviceChanges {
  /** Anything new at all (a point or an attribute scope). */
  any: boolean;
  /** The new points; only when asked for (a device nobody watches costs no copies). */
  points: TelemetryPoints;
  /** Scopes that changed, with all their entries now. */
  scopes: { scope: AttributeScope; entries: AttributeEntry[] }[];
}

export class ChangeTracker {
  private readonly seen = new Map<string, Seen>();

  /** Takes the device's present data as seen, so only what comes later is reported. */
  baseline(rec: DeviceRecord): void {
    const telemetry = new Map<string, number>();
    for (const [key, e] of rec.telemetry) telemetry.set(key, newestTs(rec.history.get(key)) ?? e.ts);
    this.seen.set(rec.id, { telemetry, client: new Map(rec.clientAttributes), shared: new Map(rec.sharedAttributes) });
  }

  /** What changed since the last call (all of it for a device never seen: it is new). */
  take(rec: DeviceRecord, withPoints: boolean): DeviceChanges {
    let seen = this.seen.get(rec.id);
    if (!seen) this.seen.set(rec.id, (seen = { telemetry: new Map(), client: new Map(), shared: new Map() }));
    const points: TelemetryPoints = {};
    let any = false;
    for (const [key, history] of rec.history) {
      const newest = newestTs(history);
      const after = seen.telemetry.get(key) ?? -Infinity;
      if (newest === undefined || newest <= after) continue;
      any = true;
      seen.telemetry.set(key, newest);
      if (!withPoints) continue;
      let i = history.length;
      while (i > 0 && history[i - 1].ts > after) i--;
      points[key] = history.slice(i).map((e) => [e.ts, e.value]);
    }
    const scopes: DeviceChanges['scopes'] = [];
    if (changed(rec.clientAttributes, seen.client)) {
      seen.client = new Map(rec.clientAttributes);
      scopes.push({ scope: 'CLIENT_SCOPE', entries: attributeEntries(rec.clientAttributes) });
    }
    if (changed(rec.sharedAttributes, seen.shared)) {
      seen.shared = new Map(rec.sharedAttributes);
      scopes.push({ scope: 'SHARED_SCOPE', entries: attributeEntries(rec.sharedAttributes) });
    }
    return { any: any || scopes.length > 0, points, scopes };
  }
}

function newestTs(history: Entry[] | undefined): number | undefined {
  return history && history.length > 0 ? history[history.length - 1].ts : undefined;
}

function changed(now: Map<string, Entry>, seen: Map<string, Entry>): boolean {
  if (now.size !== seen.size) return true;
  for (const [key, e] of now) if (seen.get(key) !== e) return true;
  return false;
}

/** ThingsBoard's REST shape, as GET .../values/attributes answers. */
export function attributeEntries(map: Map<string, Entry>): AttributeEntry[] {
  return [...map].map(([key, e]) => ({ key, value: e.value, lastUpdateTs: e.ts }));
}
