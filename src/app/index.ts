export { Firmware } from './firmware';
export type { FirmwareOptions } from './firmware';
export type { FirmwareInfo } from './firmware-info';
export { describeFirmware } from './firmware-info';
export { DEFAULT_SETTINGS, MAX_TELEMETRY_INTERVAL_MS, MIN_TELEMETRY_INTERVAL_MS, SETTING_NAMES } from './settings';
export type { SettingName, Settings } from './settings';
export { SETTINGS_STORE_KEY } from './settings-store';
