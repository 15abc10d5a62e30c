import type { JsonValue } from '../../src/platform/store';
import type { JsonObject } from '../../src/thingsboard/json';
import type { RpcHandler } from '../../src/thingsboard/rpc-registry';
import type { SharedAttributesListener } from '../../src/thingsboard/shared-attributes';
import type { AttributeRequest, AttributesResponse, ClaimOptions, TbDevice } from '../../src/thingsboard/tb-device';
import type { TelemetryInput } from '../../src/thingsboard/telemetry';
import { EPOCH_KNOWN_AFTER_MS } from './clock';

/** The clock's view of real time: epoch ms for a Clock.now() value, undefined while unknown. */
export interface EpochSource {
  toEpoch(t: number): number | undefined;
}

/**
 * A TbDevice that makes telemetry time stamps real. The firmware stamps readings with Clock.now();
 * on a device whose clock has not learned the date yet (no SNTP answer) that is time since boot,
 * which ThingsBoard would file under 1970. Here {"ts", "values"} entries get ts mapped to epoch
 * milliseconds, or, while the date is unknown, are sent as plain values so the server stamps them
 * on arrival. Everything else passes through.
 */
export class TimeAwareDevice implements TbDevice {
  constructor(
    private readonly device_: TbDevice,
    private readonly time_: EpochSource,
  ) {}

  get connected(): boolean {
    return this.device_.connected;
  }

  sendTelemetry(data: TelemetryInput): Promise<void> {
    return this.device_.sendTelemetry(stampTelemetry(data, this.time_));
  }

  sendAttributes(attributes: JsonObject): Promise<void> {
    return this.device_.sendAttributes(attributes);
  }

  requestAttributes(request?: AttributeRequest, timeoutMs?: number): Promise<AttributesResponse> {
    return this.device_.requestAttributes(request, timeoutMs);
  }

  onSharedAttributes(listener: SharedAttributesListener): () => void {
    return this.device_.onSharedAttributes(listener);
  }

  onRpc(method: string, handler: RpcHandler): () => void {
    return this.device_.onRpc(method, handler);
  }

  claim(options?: ClaimOptions): Promise<void> {
    return this.device_.claim(options);
  }
}

/** Telemetry with clock time stamps turned into epoch ones (or dropped while the date is unknown). */
export function stampTelemetry(data: TelemetryInput, time: EpochSource): TelemetryInput {
  if (Array.isArray(data)) {
    let changed = false;
    const out = (data as JsonValue[]).map((entry) => {
      const mapped = stampEntry(entry, time);
      if (mapped !== entry) changed = true;
      return mapped;
    });
    return (changed ? out : data) as TelemetryInput;
  }
  return stampEntry(data as JsonValue, time) as TelemetryInput;
}

function stampEntry(entry: JsonValue, time: EpochSource): JsonValue {
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) return entry;
  const ts = entry.ts;
  const values = entry.values;
  if (typeof ts !== 'number' || values === undefined) return entry;
  // A date already (the telemetry outbox stamps what it keeps): no clock time is this large
  // once the clock started from 1970, and toEpoch is the identity when it did not.
  if (ts >= EPOCH_KNOWN_AFTER_MS) return entry;
  const epoch = time.toEpoch(ts);
  if (epoch === undefined) return values;
  return epoch === ts ? entry : { ts: epoch, values };
}
