import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { startTbServer, type TbServer } from '../tb-server/index';
import { parseRateLimit, RateLimitSpecError } from '../tb-server/rate-limits';
import type { RateLimits, TbServerOptions } from '../tb-server/types';
import { nameAndToken, parseFlags, UsageError } from './args';

export const SERVER_USAGE =
  'tbxs server [--mqtt-port 1883] [--http-port 8080] [--host 127.0.0.1] [--device NAME:TOKEN]... [--gateway NAME:TOKEN]... [--provision-key K --provision-secret S] [--rate-limit KIND=SPEC]... [--gateway-rate-limit KIND=SPEC]... [--firmware DEVICE:TITLE:VERSION:FILE]...';

const RATE_KINDS: readonly (keyof RateLimits)[] = ['messages', 'telemetryMessages', 'telemetryDataPoints'];

const SPEC = {
  'mqtt-port': 'port',
  'http-port': 'port',
  host: 'string',
  device: 'list',
  gateway: 'list',
  'provision-key': 'string',
  'provision-secret': 'string',
  quiet: 'boolean',
  'rate-limit': 'list',
  'gateway-rate-limit': 'list',
  firmware: 'list',
} as const;

/** `--firmware DEVICE:TITLE:VERSION:FILE`: uploaded and assigned at start (the file may contain ':'). */
export interface FirmwareFlag {
  device: string;
  title: string;
  version: string;
  file: string;
}

export function parseFirmwareFlag(value: string): FirmwareFlag {
  const parts = value.split(':');
  if (parts.length < 4 || parts.slice(0, 3).some((p) => p === '') || parts.slice(3).join(':') === '') {
    throw new UsageError('--firmware must look like DEVICE:TITLE:VERSION:FILE, e.g. demo-device:tbxs:0.2.0:./firmware.bin; got "' + value + '"');
  }
  return { device: parts[0]!, title: parts[1]!, version: parts[2]!, file: parts.slice(3).join(':') };
}

interface Limits {
  rates: Partial<RateLimits>;
  maxPayloadBytes?: number;
  maxInflightMessages?: number;
}

/**
 * `--rate-limit KIND=SPEC`, repeatable: KIND one of messages, telemetryMessages,
 * telemetryDataPoints with SPEC as ThingsBoard writes it ("10:1,300:60"), or maxPayloadSize=N,
 * maxInflightMessages=N (not for the gateway flag).
 */
export function parseLimitFlags(values: string[], flag: string, sizes: boolean): Limits {
  const out: Limits = { rates: {} };
  for (const value of values) {
    const eq = value.indexOf('=');
    const kind = eq > 0 ? value.slice(0, eq) : '';
    const spec = value.slice(eq + 1).trim();
    if ((RATE_KINDS as readonly string[]).includes(kind)) {
      try {
        parseRateLimit(spec);
      } catch (e) {
        if (e instanceof RateLimitSpecError) throw new UsageError(flag + ' ' + kind + ': ' + e.message);
        throw e;
      }
      out.rates[kind as keyof RateLimits] = spec;
      continue;
    }
    if (sizes && (kind === 'maxPayloadSize' || kind === 'maxInflightMessages')) {
      const n = Number(spec);
      const min = kind === 'maxPayloadSize' ? 64 : 1;
      if (!/^\d+$/.test(spec) || n < min || n > 268_435_455) throw new UsageError(flag + ' ' + kind + ' must be a whole number ' + min + '..268435455, got "' + spec + '"');
      if (kind === 'maxPayloadSize') out.maxPayloadBytes = n;
      else out.maxInflightMessages = n;
      continue;
    }
    const kinds = RATE_KINDS.join(', ') + (sizes ? ', maxPayloadSize, maxInflightMessages' : '');
    throw new UsageError(flag + ' must look like KIND=SPEC with KIND one of ' + kinds + ', e.g. telemetryMessages=10:1,300:60; got "' + value + '"');
  }
  return out;
}

export function parseServerOptions(args: string[]): TbServerOptions & { quiet?: boolean; firmware?: FirmwareFlag[] } {
  const f = parseFlags(args, SPEC);
  if ((f['provision-key'] === undefined) !== (f['provision-secret'] === undefined)) {
    throw new UsageError('--provision-key and --provision-secret go together');
  }
  const limits = parseLimitFlags(f['rate-limit'] ?? [], '--rate-limit', true);
  const gateway = parseLimitFlags(f['gateway-rate-limit'] ?? [], '--gateway-rate-limit', false).rates;
  return {
    mqttPort: f['mqtt-port'] ?? 1883,
    httpPort: f['http-port'] ?? 8080,
    host: f.host ?? '127.0.0.1',
    devices: (f.device ?? []).map((d) => nameAndToken(d, '--device')),
    gateways: (f.gateway ?? []).map((g) => nameAndToken(g, '--gateway')),
    provision: f['provision-key'] ? { key: f['provision-key'], secret: f['provision-secret'] as string } : undefined,
    quiet: f.quiet,
    ...(f.firmware ? { firmware: f.firmware.map(parseFirmwareFlag) } : {}),
    ...(Object.keys(limits.rates).length > 0 ? { rateLimits: limits.rates } : {}),
    ...(Object.keys(gateway).length > 0 ? { gatewayRateLimits: gateway } : {}),
    ...(limits.maxPayloadBytes !== undefined ? { maxPayloadBytes: limits.maxPayloadBytes } : {}),
    ...(limits.maxInflightMessages !== undefined ? { maxInflightMessages: limits.maxInflightMessages } : {}),
  };
}

/** Starts the server; on EADDRINUSE names the port and how to pick another. */
export async function startServerFromOptions(options: TbServerOptions, print: (line: string) => void): Promise<TbServer> {
  try {
    return await startTbServer({ ...options, log: print });
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { port?: number };
    if (e.code === 'EADDRINUSE') {
      throw new UsageError('port ' + (e.port ?? '') + ' is already in use (a Mosquitto service on 1883?): choose others with --mqtt-port and --http-port');
    }
    throw error;
  }
}

/** Reads the file and assigns it as the device's firmware; a missing device or file is a UsageError. */
export function assignFirmwareFile(server: TbServer, fw: FirmwareFlag, print: (line: string) => void): void {
  if (!server.getDevice(fw.device)) throw new UsageError('--firmware: no device "' + fw.device + '" (add it with --device ' + fw.device + ':TOKEN)');
  let data: Buffer;
  try {
    data = readFileSync(fw.file);
  } catch (error) {
    throw new UsageError('--firmware: cannot read ' + fw.file + ': ' + (error as Error).message);
  }
  if (data.length === 0) throw new UsageError('--firmware: ' + fw.file + ' is empty');
  const id = server.assignFirmware(fw.device, { title: fw.title, version: fw.version, data, fileName: basename(fw.file) });
  print('tb-server: firmware ' + fw.title + ' ' + fw.version + ' (' + data.length + ' bytes, package ' + id + ') assigned to ' + fw.device);
}

export function describeServer(server: TbServer, print: (line: string) => void): void {
  print('tb-server: MQTT mqtt://' + server.host + ':' + server.mqttPort + '  REST http://' + server.host + ':' + server.httpPort);
  const limits = server.limits;
  const rates = RATE_KINDS.filter((k) => limits.rateLimits[k] !== '').map((k) => k + '=' + limits.rateLimits[k]);
  const gateway = RATE_KINDS.filter((k) => limits.gatewayRateLimits[k] !== '').map((k) => k + '=' + limits.gatewayRateLimits[k]);
  if (rates.length || gateway.length) print('  rate limits: ' + (rates.join(' ') || 'none') + (gateway.length ? '  gateway: ' + gateway.join(' ') : ''));
  for (const d of server.registry.all()) {
    const c = d.credentials;
    print('  ' + (d.gateway ? 'gateway' : 'device ') + ' ' + d.name + '  id=' + d.id + '  ' + (c.type === 'ACCESS_TOKEN' ? 'token=' + c.token : 'basic=' + c.clientId));
  }
}

export async function serverCommand(args: string[], print: (line: string) => void, until: Promise<void>): Promise<number> {
  const options = parseServerOptions(args);
  const server = await startServerFromOptions(options.quiet ? { ...options, log: undefined } : options, options.quiet ? () => {} : print);
  try {
    for (const fw of options.firmware ?? []) assignFirmwareFile(server, fw, print);
  } catch (error) {
    await server.close();
    throw error;
  }
  print('Dashboard: ' + server.httpUrl + '/');
  describeServer(server, print);
  await until;
  await server.close();
  return 0;
}
