/**
 * Runs the server in the foreground and prints every event, for `npm start` / `tbxs server`.
 * Arguments: --mqtt-port N --http-port N --host H --device NAME:TOKEN --gateway NAME:TOKEN
 * --basic NAME:CLIENTID:USER:PASS --provision KEY:SECRET (repeatable where it makes sense).
 */
import { startTbServer, type TbServer } from './index';
import type { TbServerOptions } from './types';

export function parseServerArgs(args: string[]): TbServerOptions {
  const opts: TbServerOptions = { devices: [], gateways: [], basicDevices: [] };
  for (let i = 0; i < args.length; i++) {
    const flag = args[i]!;
    const value = args[i + 1];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    i++;
    const parts = value.split(':');
    switch (flag) {
      case '--mqtt-port':
        opts.mqttPort = Number(value);
        break;
      case '--http-port':
        opts.httpPort = Number(value);
        break;
      case '--host':
        opts.host = value;
        break;
      case '--device':
        opts.devices!.push({ name: parts[0]!, token: parts[1] ?? parts[0]! });
        break;
      case '--gateway':
        opts.gateways!.push({ name: parts[0]!, token: parts[1] ?? parts[0]! });
        break;
      case '--basic':
        if (parts.length !== 4) throw new Error('--basic NAME:CLIENTID:USER:PASS');
        opts.basicDevices!.push({ name: parts[0]!, clientId: parts[1]!, username: parts[2]!, password: parts[3]! });
        break;
      case '--provision':
        opts.provision = { key: parts[0]!, secret: parts[1] ?? '' };
        break;
      default:
        throw new Error(`unknown option ${flag}`);
    }
  }
  return opts;
}

/** Starts the server, prints where it listens, runs until SIGINT/SIGTERM. */
export async function tbServerMain(args: string[], print: (line: string) => void = console.log): Promise<number> {
  let server: TbServer;
  try {
    server = await startTbServer({ ...parseServerArgs(args), log: print });
  } catch (e) {
    print(`tb-server: ${e instanceof Error ? e.message : String(e)}`);
    return 2;
  }
  print(`tb-server: MQTT ${server.mqttUrl}, REST ${server.httpUrl}`);
  for (const d of server.registry.all()) {
    const c = d.credentials;
    print(`  ${d.gateway ? 'gateway' : 'device '} ${d.name} id=${d.id} ${c.type === 'ACCESS_TOKEN' ? `token=${c.token}` : `basic=${c.clientId}/${c.userName}`}`);
  }
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
  return 0;
}
