import { join } from 'node:path';
import { consoleLog } from '../platform/console-log';
import { dashboardAssets } from '../tb-server/dashboard/bundle';
import type { TbServer } from '../tb-server/index';
import { parseFlags } from './args';
import { startHostDevice } from './device-command';
import { describeServer, startServerFromOptions } from './server-command';

const DEMO_DEVICE = 'demo-device';
const DEMO_TOKEN = 'demo-token';

/**
 * `npm start`: the local ThingsBoard-compatible server and one simulated device connected to it,
 * printing the dashboard's address first, then what flows, with the REST calls to try. Ports
 * default to 1883/8080 and fall back to free ones when those are taken (a Mosquitto service
 * often holds 1883). The device takes firmware updates into <state-dir>/ota, so the dashboard's
 * OTA form works.
 */
export async function demoCommand(args: string[], print: (line: string) => void, until: Promise<void>): Promise<number> {
  const f = parseFlags(args, { 'mqtt-port': 'port', 'http-port': 'port', 'state-dir': 'string', quiet: 'boolean' } as const);
  const log = consoleLog('info', print);
  const serverLog = f.quiet ? undefined : (line: string) => print(line);
  const devices = [{ name: DEMO_DEVICE, token: DEMO_TOKEN }];
  // Built while the server and the device start, so the first page load does not wait for it;
  // a page that cannot be built says why in the browser too, and here in one line after the address.
  const pageProblem = dashboardAssets().then(
    () => undefined,
    (e: unknown) => 'demo: ' + (e instanceof Error ? e.message : String(e)),
  );
  let server: TbServer;
  let fallback: string | undefined;
  try {
    server = await startServerFromOptions({ mqttPort: f['mqtt-port'] ?? 1883, httpPort: f['http-port'] ?? 8080, devices }, serverLog ?? (() => {}));
  } catch {
    fallback = 'demo: port ' + (f['mqtt-port'] ?? 1883) + ' or ' + (f['http-port'] ?? 8080) + ' is taken, using free ports instead';
    server = await startServerFromOptions({ mqttPort: 0, httpPort: 0, devices }, serverLog ?? (() => {}));
  }
  const base = 'http://127.0.0.1:' + server.httpPort;
  print('Dashboard: ' + base + '/');
  if (fallback) print(fallback);
  void pageProblem.then((problem) => problem && print(problem));
  describeServer(server, print);
  const stateDir = f['state-dir'] ?? '.state/demo-device';
  const device = await startHostDevice(
    {
      config: { host: '127.0.0.1', port: server.mqttPort, credentials: { type: 'ACCESS_TOKEN', token: DEMO_TOKEN } },
      stateDir,
      engine: 'node',
      name: DEMO_DEVICE,
      verbose: false,
      ota: { dir: join(stateDir, 'ota') },
    },
    log,
  );
  const id = server.registry.get(DEMO_DEVICE)?.id;
  print('');
  print('Try, from another shell:');
  print("  curl -s -X POST " + base + '/api/plugins/rpc/twoway/' + id + " -H 'content-type: application/json' -d '{\"method\":\"getGpioStatus\",\"params\":{}}'");
  print("  curl -s -X POST " + base + '/api/plugins/rpc/twoway/' + id + " -H 'content-type: application/json' -d '{\"method\":\"toggle_gpio\",\"params\":{\"pin\":\"led\"}}'");
  print('  curl -s ' + base + '/api/plugins/telemetry/DEVICE/' + id + '/values/timeseries');
  print("  curl -s -X POST " + base + '/api/plugins/telemetry/DEVICE/' + id + "/attributes/SHARED_SCOPE -H 'content-type: application/json' -d '{\"telemetryIntervalMs\":2000}'");
  print('Ctrl-C stops both.');
  print('');
  await until;
  device.close();
  await server.close();
  return 0;
}
