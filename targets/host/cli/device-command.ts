import { describeError } from '../../../src/platform/errors';
import type { Log } from '../../../src/platform/log';
import { openDevice, type DeviceConnection } from '../../../src/thingsboard/device-connection';
import { consoleLog } from '../platform/console-log';
import { nodePlatform } from '../platform/node-platform';
import { firmwareInfo } from '../firmware-info';
import { createSimulatedFirmware } from '../simulated-board';
import { parseDeviceOptions, type DeviceCommandOptions } from './device-options';

export interface RunningDevice {
  connection: DeviceConnection;
  close(): void;
}

/** Runs the firmware with the simulated board on Node against a ThingsBoard server. */
export async function startHostDevice(options: DeviceCommandOptions, log: Log): Promise<RunningDevice> {
  const platform = nodePlatform(options.stateDir, log);
  const connection = await openDevice(platform, options.config);
  log.info('device: credentials from ' + connection.source + ' (' + connection.credentials.type + '), state in ' + options.stateDir);
  const session = connection.session;
  session.events.on('connect', () => log.info('device: connected to ' + options.config.host + ':' + options.config.port));
  session.events.on('disconnect', (reason) => log.warn('device: disconnected: ' + reason.message));
  session.events.on('reconnecting', ({ delayMs }) => log.info('device: reconnecting in ' + delayMs + ' ms'));
  const sim = createSimulatedFirmware({
    device: connection.client,
    clock: platform.clock,
    store: platform.store,
    log,
    ...firmwareInfo(),
    onConnect: (listener: () => void) => session.events.on('connect', listener),
    settings: options.telemetryMs === undefined ? undefined : { telemetryIntervalMs: options.telemetryMs },
    persistOutbox: options.persistOutbox,
  });
  if (options.persistOutbox) log.info('device: telemetry outbox in ' + options.stateDir + ' (store-and-forward)');
  sim.firmware.start();
  return {
    connection,
    close() {
      sim.close();
      connection.close();
    },
  };
}

export async function deviceCommand(args: string[], until: Promise<void>): Promise<number> {
  const options = parseDeviceOptions(args);
  const log = consoleLog(options.verbose ? 'debug' : 'info');
  if (options.engine === 'xs') {
    const { manifestStackSlots, runXsDevice } = await import('../../xsnap/xs-device');
    let device: Awaited<ReturnType<typeof runXsDevice>>;
    try {
      const info = firmwareInfo();
      log.info('device (xs): XS stack ' + (options.xsStack ?? manifestStackSlots()) + ' slots' + (options.xsStack ? ' (--xs-stack)' : " (manifest.json's creation.stack)"));
      device = await runXsDevice({
        ...options.config,
        stateDir: options.stateDir,
        name: info.name,
        appOptions: {
          version: info.version,
          ...(options.telemetryMs === undefined ? {} : { settings: { telemetryIntervalMs: options.telemetryMs } }),
          ...(options.persistOutbox ? { persistOutbox: options.persistOutbox } : {}),
        },
        logLevel: options.verbose ? 'debug' : 'info',
        log,
        xsStack: options.xsStack ?? manifestStackSlots(),
        // The overflow report goes into the one-line error; the worker's stderr only into the debug log.
        worker: { stderr: (line) => log.debug('xs: ' + line) },
      });
    } catch (error) {
      log.error('device (xs): ' + describeError(error));
      return 1;
    }
    const failure = await Promise.race([until.then(() => undefined), device.done]);
    await device.close();
    if (failure) {
      log.error('device (xs): ' + describeError(failure));
      return 1;
    }
    return 0;
  }
  let device: RunningDevice;
  try {
    device = await startHostDevice(options, log);
  } catch (error) {
    log.error('device: ' + describeError(error));
    return 1;
  }
  await until;
  device.close();
  return 0;
}
