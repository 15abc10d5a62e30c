/**
 * What the dashboard's server side and its page exchange beyond ThingsBoard's REST: the device
 * list (`GET /dashboard/devices`) and the messages of the live stream (`GET /dashboard/events`,
 * server-sent events). Types only: the page (browser) and the server (Node) both import this file.
 */

/** JSON as the server stores it (the same shape as tb-server's Json, kept here free of Node). */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** One device as the dashboard lists it. Times are server milliseconds since the epoch. */
export interface DeviceSummary {
  id: string;
  name: string;
  type: string;
  gateway: boolean;
  /** A live session of its own or through a gateway (ThingsBoard's `active`). */
  active: boolean;
  /** Last time the server heard from it or stored data for it (ThingsBoard's `lastActivityTime`); null: never. */
  lastActivityTime: number | null;
  lastConnectTime: number | null;
  lastDisconnectTime: number | null;
  /** The gateway that last reported it as a child. */
  parentGateway: string | null;
  /** The OTA package assigned to the device itself. */
  firmwareId: string | null;
}

/** Per telemetry key, the new points, oldest first: [ts, value]. */
export type TelemetryPoints = Record<string, [number, JsonValue][]>;

/** ThingsBoard's attribute REST shape (`GET .../values/attributes/{scope}`). */
export interface AttributeEntry {
  key: string;
  value: JsonValue;
  lastUpdateTs: number;
}

export type AttributeScope = 'CLIENT_SCOPE' | 'SHARED_SCOPE';

/** The `data` of each server-sent event (all sent as the default `message` event). */
export type LiveMessage =
  /** First message on every (re)connect: the whole device list. */
  | { type: 'snapshot'; devices: DeviceSummary[] }
  /** Devices whose summary may have changed (online state, activity, gateway, firmware). */
  | { type: 'devices'; devices: DeviceSummary[] }
  /** New telemetry of the watched device (points with a later ts than any sent before). */
  | { type: 'telemetry'; deviceId: string; points: TelemetryPoints }
  /** The whole scope of the watched device, after any change in it. */
  | { type: 'attributes'; deviceId: string; scope: AttributeScope; entries: AttributeEntry[] }
  /** Log lines about the watched device (what `npm start` prints), oldest first. */
  | { type: 'log'; deviceId: string; lines: { ts: number; text: string }[] };
