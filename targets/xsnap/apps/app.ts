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

export type XsAppFactory = (platform: Platform, config: DeviceConnectionConfig, options: unknown) => Promise<XsApp>;
