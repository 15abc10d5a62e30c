/**
 * The watched device's telemetry in the page: per key, points in ts order, one per ts (as the
 * server's store), at most MAX_POINTS (the oldest go first). History from REST and live points
 * from the stream arrive in any order and overlap; merging by ts makes that harmless.
 */
import type { JsonValue, TelemetryPoints } from '../protocol';

/** As many as the server keeps per key. */
export const MAX_POINTS = 1000;

export class TelemetryStore {
  private readonly byKey = new Map<string, [number, JsonValue][]>();

  /** Merges points; returns the keys that changed. */
  add(points: TelemetryPoints): string[] {
    const changed: string[] = [];
    for (const [key, list] of Object.entries(points)) {
      if (list.length === 0) continue;
      let series = this.byKey.get(key);
      if (!series) this.byKey.set(key, (series = []));
      for (const p of list) insert(series, p);
      if (series.length > MAX_POINTS) series.splice(0, series.length - MAX_POINTS);
      changed.push(key);
    }
    return changed;
  }

  keys(): string[] {
    return [...this.byKey.keys()].sort();
  }

  series(key: string): readonly [number, JsonValue][] {
    return this.byKey.get(key) ?? [];
  }

  latest(key: string): [number, JsonValue] | undefined {
    const s = this.byKey.get(key);
    return s && s.length > 0 ? s[s.length - 1] : undefined;
  }

  /** A key is charted when its latest value is a number. */
  isNumeric(key: string): boolean {
    return typeof this.latest(key)?.[1] === 'number';
  }
}

/** Live points come in order: look from the end. Same ts: the newer value replaces it. */
function insert(series: [number, JsonValue][], p: [number, JsonValue]): void {
  let i = series.length;
  while (i > 0 && series[i - 1][0] > p[0]) i--;
  if (i > 0 && series[i - 1][0] === p[0]) series[i - 1] = p;
  else series.splice(i, 0, p);
}
