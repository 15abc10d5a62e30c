import { readFileSync } from 'node:fs';
import type { TlsOptions } from '../../../src/platform/socket';
import type { DeviceConnectionConfig } from '../../../src/thingsboard/device-connection';
import { MAX_TELEMETRY_INTERVAL_MS, MIN_TELEMETRY_INTERVAL_MS } from '../../../src/app/settings';
import { MAX_CHUNK_BYTES as MAX_OTA_CHUNK_BYTES } from '../../../src/thingsboard/firmware-update';
import { parseFlags, UsageError } from './args';
import { RECONNECT_FLAGS, RECONNECT_USAGE, reconnectFromFlags } from './reconnect-options';

export const DEVICE_USAGE =
  'tbxs device --host H --port P (--token T | --client-id C --username U --password W | --provision-key K --provision-secret S [--device-name N]) [--tls --ca FILE [--cert FILE --key FILE]] [--state-dir DIR] [--engine node|xs [--xs-stack SLOTS]] [--telemetry-ms MS] [--persist-outbox [--outbox-write-ms MS]] [--ota-dir DIR [--ota-chunk-bytes N]] ' + RECONNECT_USAGE;

const SPEC = {
  host: 'string',
  port: 'port',
  token: 'string',
  'client-id': 'string',
  username: 'string',
  password: 'string',
  'provision-key': 'string',
  'provision-secret': 'string',
  'device-name': 'string',
  tls: 'boolean',
  ca: 'string',
  cert: 'string',
  key: 'string',
  'state-dir': 'string',
  engine: 'string',
  'xs-stack': 'count',
  verbose: 'boolean',
  'telemetry-ms': 'string',
  'persist-outbox': 'boolean',
  'outbox-write-ms': 'string',
  'ota-dir': 'string',
  'ota-chunk-bytes': 'string',
  ...RECONNECT_FLAGS,
} as const;

export interface DeviceCommandOptions {
  config: DeviceConnectionConfig;
  stateDir: string;
  engine: 'node' | 'xs';
  /** The XS stack in slots (--engine xs); undefined: manifest.json's creation.stack. */
  xsStack?: number;
  name: string;
  verbose: boolean;
  /** --telemetry-ms: the telemetry period at start (the manifest's telemetryMs; a shared attribute overrides it). */
  telemetryMs?: number;
  /** --persist-outbox: telemetry kept in the state directory until acknowledged (TelemetryOutbox); --outbox-write-ms its writeAfterMs. */
  persistOutbox?: { writeAfterMs?: number };
  /**
   * --ota-dir: firmware updates over MQTT are written to DIR/firmware.bin (after the checksum
   * matched) and the firmware restarts in-process as DIR/firmware.json's version;
   * --ota-chunk-bytes the chunk size asked for.
   */
  ota?: { dir: string; chunkBytes?: number };
}


/** Reads the device flags; every mistake is a UsageError with one line a person can act on. */
export function parseDeviceOptions(args: string[]): DeviceCommandOptions {
  const f = parseFlags(args, SPEC);
  if (!f.host) throw new UsageError('--host is required');
  if (f.port === undefined || f.port === 0) throw new UsageError('--port is required (1..65535)');
  const basic = f['client-id'] !== undefined || f.username !== undefined || f.password !== undefined;
  const provisioning = f['provision-key'] !== undefined || f['provision-secret'] !== undefined;
  const ways = [f.token !== undefined, basic, provisioning].filter(Boolean).length;
  if (ways === 0) throw new UsageError('a credential is required: --token, or --client-id/--username/--password, or --provision-key/--provision-secret');
  if (ways > 1) throw new UsageError('give one kind of credential: --token, basic (--client-id/--username/--password) or provisioning keys');
  if (provisioning && (!f['provision-key'] || !f['provision-secret'])) throw new UsageError('--provision-key and --provision-secret go together');
  if (basic && !f['client-id'] && !f.username) throw new UsageError('basic credentials need --client-id or --username');
  if (basic && f.password !== undefined && !f.username) throw new UsageError('--password needs --username');
  if (f['device-name'] !== undefined && !provisioning) throw new UsageError('--device-name is for provisioning (with --provision-key)');
  if ((f.cert === undefined) !== (f.key === undefined)) throw new UsageError('--cert and --key go together');
  if (!f.tls && (f.ca || f.cert)) throw new UsageError('--ca, --cert and --key need --tls');
  const engine = f.engine ?? 'node';
  if (engine !== 'node' && engine !== 'xs') throw new UsageError('--engine must be node or xs, got "' + engine + '"');
  const xsStack = f['xs-stack'];
  if (xsStack !== undefined && engine !== 'xs') throw new UsageError('--xs-stack is for --engine xs');
  if (xsStack !== undefined && (xsStack < 64 || xsStack > 65536)) throw new UsageError('--xs-stack must be 64..65536 slots, got ' + xsStack);

  const config: DeviceConnectionConfig = { host: f.host, port: f.port };
  const reconnect = reconnectFromFlags(f);
  if (reconnect) config.session = { reconnect };
  if (f.tls) config.tls = readTls(f.ca, f.cert, f.key);
  let name: string;
  if (f.token !== undefined) {
    config.credentials = { type: 'ACCESS_TOKEN', token: f.token };
    name = 'token-' + f.token.slice(0, 8);
  } else if (basic) {
    const clientId = f['client-id'] ?? f.username ?? '';
    config.credentials = { type: 'MQTT_BASIC', clientId, username: f.username ?? '', password: f.password ?? '' };
    name = clientId;
  } else {
    config.provisioning = {
      provisionDeviceKey: f['provision-key'] as string,
      provisionDeviceSecret: f['provision-secret'] as string,
      deviceName: f['device-name'],
    };
    name = f['device-name'] ?? 'provisioned';
  }
  const safe = name.replace(/[^A-Za-z0-9._-]/g, '_');
  const options: DeviceCommandOptions = { config, stateDir: f['state-dir'] ?? '.state/' + safe, engine, xsStack, name, verbose: f.verbose === true };
  const ms = f['telemetry-ms'];
  if (ms !== undefined) {
    const n = Number(ms);
    if (!/^\d+$/.test(ms) || n < MIN_TELEMETRY_INTERVAL_MS || n > MAX_TELEMETRY_INTERVAL_MS) {
      throw new UsageError('--telemetry-ms must be a whole number ' + MIN_TELEMETRY_INTERVAL_MS + '..' + MAX_TELEMETRY_INTERVAL_MS + ', got "' + ms + '"');
    }
    options.telemetryMs = n;
  }
  const writeMs = f['outbox-write-ms'];
  if (writeMs !== undefined && !f['persist-outbox']) throw new UsageError('--outbox-write-ms is for --persist-outbox');
  if (f['persist-outbox']) {
    options.persistOutbox = {};
    if (writeMs !== undefined) {
      const n = Number(writeMs);
      if (!/^\d+$/.test(writeMs) || n < 100 || n > 3_600_000) throw new UsageError('--outbox-write-ms must be a whole number 100..3600000, got "' + writeMs + '"');
      options.persistOutbox.writeAfterMs = n;
    }
  }
  const chunk = f['ota-chunk-bytes'];
  if (chunk !== undefined && f['ota-dir'] === undefined) throw new UsageError('--ota-chunk-bytes is for --ota-dir');
  if (f['ota-dir'] !== undefined) {
    if (f['ota-dir'] === '') throw new UsageError('--ota-dir needs a directory');
    options.ota = { dir: f['ota-dir'] };
    if (chunk !== undefined) {
      const n = Number(chunk);
      if (!/^\d+$/.test(chunk) || n < 64 || n > MAX_OTA_CHUNK_BYTES) throw new UsageError('--ota-chunk-bytes must be a whole number 64..' + MAX_OTA_CHUNK_BYTES + ', got "' + chunk + '"');
      options.ota.chunkBytes = n;
    }
  }
  return options;
}

function readTls(ca: string | undefined, cert: string | undefined, key: string | undefined): TlsOptions {
  const read = (file: string, what: string) => {
    try {
      return readFileSync(file, 'utf8');
    } catch (error) {
      throw new UsageError('cannot read ' + what + ' file ' + file + ': ' + (error as Error).message);
    }
  };
  const tls: TlsOptions = {};
  if (ca) tls.ca = read(ca, '--ca');
  if (cert) tls.cert = read(cert, '--cert');
  if (key) tls.key = read(key, '--key');
  return tls;
}
