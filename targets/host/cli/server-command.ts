import { startTbServer, type TbServer } from '../tb-server/index';
import type { TbServerOptions } from '../tb-server/types';
import { nameAndToken, parseFlags, UsageError } from './args';

export const SERVER_USAGE =
  'tbxs server [--mqtt-port 1883] [--http-port 8080] [--host 127.0.0.1] [--device NAME:TOKEN]... [--gateway NAME:TOKEN]... [--provision-key K --provision-secret S]';

const SPEC = {
  'mqtt-port': 'port',
  'http-port': 'port',
  host: 'string',
  device: 'list',
  gateway: 'list',
  'provision-key': 'string',
  'provision-secret': 'string',
  quiet: 'boolean',
} as const;

export function parseServerOptions(args: string[]): TbServerOptions & { quiet?: boolean } {
  const f = parseFlags(args, SPEC);
  if ((f['provision-key'] === undefined) !== (f['provision-secret'] === undefined)) {
    throw new UsageError('--provision-key and --provision-secret go together');
  }
  return {
    mqttPort: f['mqtt-port'] ?? 1883,
    httpPort: f['http-port'] ?? 8080,
    host: f.host ?? '127.0.0.1',
    devices: (f.device ?? []).map((d) => nameAndToken(d, '--device')),
    gateways: (f.gateway ?? []).map((g) => nameAndToken(g, '--gateway')),
    provision: f['provision-key'] ? { key: f['provision-key'], secret: f['provision-secret'] as string } : undefined,
    quiet: f.quiet,
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

export function describeServer(server: TbServer, print: (line: string) => void): void {
  print('tb-server: MQTT mqtt://' + server.host + ':' + server.mqttPort + '  REST http://' + server.host + ':' + server.httpPort);
  for (const d of server.registry.all()) {
    const c = d.credentials;
    print('  ' + (d.gateway ? 'gateway' : 'device ') + ' ' + d.name + '  id=' + d.id + '  ' + (c.type === 'ACCESS_TOKEN' ? 'token=' + c.token : 'basic=' + c.clientId));
  }
}

export async function serverCommand(args: string[], print: (line: string) => void, until: Promise<void>): Promise<number> {
  const options = parseServerOptions(args);
  const server = await startServerFromOptions(options.quiet ? { ...options, log: undefined } : options, options.quiet ? () => {} : print);
  describeServer(server, print);
  await until;
  await server.close();
  return 0;
}
