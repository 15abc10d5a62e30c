import type { DeviceCredentials } from '../../src/thingsboard/credentials';
import type { ProvisionRequest } from '../../src/thingsboard/provisioning';
import { RECONNECT_DEFAULTS, type BackoffOptions } from '../../src/mqtt/backoff';
import { MAX_CHUNK_BYTES } from '../../src/thingsboard/firmware-update';

/**
 * The firmware's settings from Moddable's `mc/config`: the manifest's `config` object, overridden
 * by `key=value` arguments on the mcconfig command line (those arrive as strings). Pure: takes the
 * object, so it is tested on Node.
 */

/** Every key the firmware reads, with what it means: the README table and a test come from this. */
export const CONFIG_KEYS = Object.freeze({
  ssid: 'Wi-Fi network; Moddable joins it before main runs (ESP32)',
  password: 'Wi-Fi password',
  sntp: 'SNTP server Moddable asks for the time before main runs (ESP32); the firmware retries it if that failed',
  tbHost: 'ThingsBoard host name or IPv4 address',
  tbPort: 'MQTT port (1883; 8883 with tbTls)',
  tbToken: 'device access token',
  tbClientId: 'MQTT client id (MQTT basic credentials; default tbxs-<random>)',
  tbUsername: 'MQTT basic credentials: user name',
  tbPassword: 'MQTT basic credentials: password',
  tbProvisionKey: 'provision device key (used when no token is configured or stored)',
  tbProvisionSecret: 'provision device secret',
  tbDeviceName: 'device name asked for when provisioning',
  tbTls: '1 or true: MQTT over TLS 1.2 (embedded:io/socket/tcp/tls)',
  tbTlsCa: 'name of a DER CA certificate added to the manifest "resources" (default: the caNNN.der of the Moddable CA store added there)',
  tbTlsVerify: 'false: skip certificate verification (testing only)',
  board: 'pin map: devkitc or nodemcu-32s',
  batteryScale: 'battery ADC calibration: volts per ADC step',
  batteryOffset: 'battery ADC calibration: volts added',
  telemetryMs: 'telemetry period in ms (shared attribute telemetryIntervalMs overrides it)',
  tbReconnectMinMs: 'first reconnect delay in ms (default 1000), doubling each failed attempt',
  tbReconnectMaxMs: 'longest reconnect delay in ms (default 60000)',
  tbReconnectJitter: 'random share of each reconnect delay, 0..1 (default 0.5)',
  tbPersistOutbox: '1 or true: keep telemetry in flash (Preference) until the server acknowledged it, replayed after a reset',
  tbOutboxWriteMs: 'with tbPersistOutbox: a reading unacknowledged this long (ms, default 10000) is written to flash, in batches',
  fwVersion: 'the version this build reports as current_fw_version (default 0.1.0); give each OTA image its own',
  tbOta: 'false: ignore firmware updates announced by ThingsBoard (default true: OTA over MQTT into the OTA partitions)',
  tbOtaChunkBytes: 'OTA chunk size in bytes asked per request (default 4096, at most 65472)',
  tbOtaBytes: 'size of the smaller OTA app partition in bytes (default 2031616, what mcconfig makes of the default table)',
} as const);

/** The version a build reports when the manifest's config names none. */
export const DEFAULT_FIRMWARE_VERSION = '0.1.0';
/** mcconfig splits the default 0x3F0000 factory partition into 0x1F0000 and 0x1FE000 (tools/mcmanifest.js). */
export const DEFAULT_OTA_PARTITION_BYTES = 0x1f0000;

export type ConfigKey = keyof typeof CONFIG_KEYS;

export interface FirmwareConfig {
  host: string;
  port: number;
  tls: boolean;
  tlsCa?: string;
  tlsVerify: boolean;
  credentials?: DeviceCredentials;
  provisioning?: ProvisionRequest;
  clientId?: string;
  board: string;
  batteryScale?: number;
  batteryOffset?: number;
  telemetryMs?: number;
  ssid?: string;
  password?: string;
  sntp?: string;
  /** The session's reconnect backoff where the config sets it (MqttSessionOptions.reconnect). */
  reconnect?: Partial<BackoffOptions>;
  /** Store-and-forward telemetry (FirmwareOptions.persistOutbox); undefined: off. */
  persistOutbox?: { writeAfterMs?: number };
  /** current_fw_version. */
  firmwareVersion: string;
  /** Firmware updates over MQTT. */
  ota: boolean;
  otaChunkBytes?: number;
  /** The update partition's size: larger images fail before the download. */
  otaBytes: number;
}

/** Reads mc/config; throws an Error naming the key when a value is unusable. */
export function readConfig(config: Record<string, unknown>): FirmwareConfig {
  const host = text(config, 'tbHost');
  if (!host) throw new Error('no ThingsBoard host: pass tbHost=<name or address> to mcconfig');
  const tls = flag(config, 'tbTls') ?? false;
  const port = integer(config, 'tbPort', 1, 65535) ?? (tls ? 8883 : 1883);
  const token = text(config, 'tbToken');
  const username = text(config, 'tbUsername');
  const clientId = text(config, 'tbClientId');
  let credentials: DeviceCredentials | undefined;
  if (token) credentials = { type: 'ACCESS_TOKEN', token };
  else if (username) credentials = { type: 'MQTT_BASIC', clientId: clientId ?? '', username, password: text(config, 'tbPassword') ?? '' };
  const key = text(config, 'tbProvisionKey');
  const secret = text(config, 'tbProvisionSecret');
  if ((key && !secret) || (!key && secret)) throw new Error('provisioning needs both tbProvisionKey and tbProvisionSecret');
  const provisioning: ProvisionRequest | undefined = key && secret ? { provisionDeviceKey: key, provisionDeviceSecret: secret, deviceName: text(config, 'tbDeviceName') } : undefined;
  return {
    host,
    port,
    tls,
    tlsCa: text(config, 'tbTlsCa'),
    tlsVerify: flag(config, 'tbTlsVerify') ?? true,
    credentials,
    provisioning,
    clientId,
    board: text(config, 'board') ?? 'devkitc',
    batteryScale: number(config, 'batteryScale'),
    batteryOffset: number(config, 'batteryOffset'),
    telemetryMs: integer(config, 'telemetryMs', 500, 86_400_000),
    ssid: text(config, 'ssid'),
    password: text(config, 'password'),
    sntp: text(config, 'sntp'),
    reconnect: reconnect(config),
    persistOutbox: persistOutbox(config),
    firmwareVersion: text(config, 'fwVersion') ?? DEFAULT_FIRMWARE_VERSION,
    ota: flag(config, 'tbOta') ?? true,
    otaChunkBytes: integer(config, 'tbOtaChunkBytes', 64, MAX_CHUNK_BYTES),
    otaBytes: integer(config, 'tbOtaBytes', 65_536, 16 * 1024 * 1024) ?? DEFAULT_OTA_PARTITION_BYTES,
  };
}

function persistOutbox(config: Record<string, unknown>): { writeAfterMs?: number } | undefined {
  const writeAfterMs = integer(config, 'tbOutboxWriteMs', 100, 3_600_000);
  if (!flag(config, 'tbPersistOutbox')) {
    if (writeAfterMs !== undefined) throw new Error('tbOutboxWriteMs is for tbPersistOutbox=1');
    return undefined;
  }
  return writeAfterMs === undefined ? {} : { writeAfterMs };
}

function reconnect(config: Record<string, unknown>): Partial<BackoffOptions> | undefined {
  const out: Partial<BackoffOptions> = {};
  const initialMs = integer(config, 'tbReconnectMinMs', 1, 86_400_000);
  const maxMs = integer(config, 'tbReconnectMaxMs', 1, 86_400_000);
  const jitter = number(config, 'tbReconnectJitter');
  if (initialMs !== undefined) out.initialMs = initialMs;
  if (maxMs !== undefined) out.maxMs = maxMs;
  if (jitter !== undefined) {
    if (!(jitter >= 0 && jitter <= 1)) throw new Error('tbReconnectJitter=' + jitter + ': a number 0..1');
    out.jitter = jitter;
  }
  // The session's defaults where one side is not given.
  const min = initialMs ?? RECONNECT_DEFAULTS.initialMs;
  const max = maxMs ?? RECONNECT_DEFAULTS.maxMs;
  if (min > max) throw new Error('tbReconnectMinMs=' + min + ' is over tbReconnectMaxMs=' + max);
  return initialMs === undefined && maxMs === undefined && jitter === undefined ? undefined : out;
}

function text(config: Record<string, unknown>, key: ConfigKey): string | undefined {
  const value = config[key];
  if (value === undefined || value === null) return undefined;
  const s = String(value).trim();
  return s === '' ? undefined : s;
}

function number(config: Record<string, unknown>, key: ConfigKey): number | undefined {
  const s = text(config, key);
  if (s === undefined) return undefined;
  const n = Number(s);
  if (!Number.isFinite(n)) throw new Error(key + '=' + s + ': not a number');
  return n;
}

function integer(config: Record<string, unknown>, key: ConfigKey, min: number, max: number): number | undefined {
  const n = number(config, key);
  if (n === undefined) return undefined;
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(key + '=' + n + ': an integer ' + min + '..' + max);
  return n;
}

function flag(config: Record<string, unknown>, key: ConfigKey): boolean | undefined {
  const value = config[key];
  if (value === undefined || value === null || value === '') return undefined;
  if (value === true || value === 1) return true;
  if (value === false || value === 0) return false;
  const s = String(value).trim().toLowerCase();
  if (s === '1' || s === 'true' || s === 'yes' || s === 'on') return true;
  if (s === '0' || s === 'false' || s === 'no' || s === 'off') return false;
  throw new Error(key + '=' + String(value) + ': use true or false');
}
