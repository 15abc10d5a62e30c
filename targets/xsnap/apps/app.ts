import type { JsonValue } from '../../../src/platform/store';
import type { Platform } from '../../../src/platform/platform';
import type { DeviceConnectionConfig } from '../../../src/thingsboard/device-connection';

/** What runs on top of the bridge platform inside the worker. */
export interface XsApp {
  /** Stops everything the app started (timers, sockets). */
  stop(): void;
  /** A JSON snapshot for the host (tests, diagnostics). */
  status(): JsonValue;
}

/** Starts an app; `name` is the device's name for the firmware's attributes. */
export type XsAppFactory = (platform: Platform, config: DeviceConnectionConfig, options: unknown, name: string) => Promise<XsApp>;
