import type { JsonValue } from '../platform/store';
import type { JsonObject } from './json';
import type { RpcHandler } from './rpc-registry';
import type { SharedAttributesListener } from './shared-attributes';
import type { TelemetryInput } from './telemetry';

export interface AttributeRequest {
  clientKeys?: string[];
  sharedKeys?: string[];
}

export interface AttributesResponse {
  client: JsonObject;
  shared: JsonObject;
}

export interface ClaimOptions {
  secretKey?: string;
  durationMs?: number;
}

/**
 * What firmware asks of a ThingsBoard device, whether it talks directly (DeviceClient) or through a
 * gateway (a gateway's child handle): firmware code does not care which. The methods returning a
 * promise report every failure by rejecting it; they never throw.
 */
export interface TbDevice {
  readonly connected: boolean;
  sendTelemetry(data: TelemetryInput): Promise<void>;
  sendAttributes(attributes: JsonObject): Promise<void>;
  requestAttributes(request?: AttributeRequest, timeoutMs?: number): Promise<AttributesResponse>;
  onSharedAttributes(listener: SharedAttributesListener): () => void;
  onRpc(method: string, handler: RpcHandler): () => void;
  claim(options?: ClaimOptions): Promise<void>;
}

export type { JsonValue };
