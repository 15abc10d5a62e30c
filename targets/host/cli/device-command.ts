import { describeError } from '../../../src/platform/errors';
import type { Log } from '../../../src/platform/log';
import { openDevice, type DeviceConnection } from '../../../src/thingsboard/device-connection';
import { consoleLog } from '../platform/console-log';
import { nodePlatform } from '../platform/node-platform';
import { firmwareInfo } from '../firmware-info';
import { createSimulatedFirmware } from '../simulated-board';
import type { Firmware } from '../../../src/app/firmware';
import { FileUpdateTarget, installedFirmware } from '../platform/file-update-target';
import { parseDeviceOptions, type DeviceCommandOptions } from './device-options';

export interface RunningDevice {
  /** The connection of the firmware running now (a new one after each OTA restart). */
  readonly connection: DeviceConnection;
  /** The firmware running now. */
  readonly firmware: Firmware;
  /** Restarts into a new image so far (OTA). */
  readonly restarts: number;
  close(): void;
}

/**
 * Runs the firmware with the simulated board on Node against a ThingsBoard server. With
 * `options.ota`, an update installed into the OTA directory restarts the firmware in-process:
 * everything is closed and opened again, reporting the installed title and version.
 */
export async function startHostDevice(options: DeviceCommandOptions, log: Log): Promise<RunningDevice> {
  const platform = nodePlatform(options.stateDir, log);
  let current = await startOnce(options, platform, log, () => restart());
  let restarts = 0;
  let closed = false;
  const restart = (): void => {
    // From a fresh turn: the restart is asked for from inside the old firmware's callbacks.
    setImmediate(() => {
      if (closed) return;
      current.close();
      restarts++;
      startOnce(options, platform, log, () => restart()).then(
        (next) => {
          if (closed) next.close();
          else current = next;
        },
        (error: unknown) => log.error('device: restart failed: ' + describeError(error)),
      );
    });
  };
  return {
    get connection() {
      return current.connection;
    },
    get firmware() {
      return current.firmware;
    },
    get restarts() {
      return restarts;
    },
    close() {
      closed = true;
      current.close();
    },
  };
}

interface Incarnation {
  connection: DeviceConnection;
  firmware: Firmware;
  close(): void;
}

async function startOnce(options: DeviceCommandOptions, platform: ReturnType<typeof nodePlatform>, log: Log, onRestart: () => void): Promise<Incarnation> {
  const connection = await openDevice(platform, options.config);
  log.info('device: credentials from ' + connection.source + ' (' + connection.credentials.type + '), state in ' + options.stateDir);
  const session = connection.session;
  const offs = [
    session.events.on('connect', () => log.info('device: connected to ' + options.config.host + ':' + options.config.port)),
    session.events.on('disconnect', (reason) => log.warn('device: disconnected: ' + reason.message)),
    session.events.on('reconnecting', ({ delayMs }) => log.info('device: reconnecting in ' + delayMs + ' ms')),
  ];
  const ota = options.ota;
  const installed = ota ? installedFirmware(ota.dir) : undefined;
  const info = firmwareInfo();
  const sim = createSimulatedFirmware({
    device: connection.client,
    clock: platform.clock,
    store: platform.store,
    log,
    name: installed ? installed.title : info.name,
    version: installed ? installed.version : info.version,
    onConnect: (listener: () => void) => session.events.on('connect', listener),
    settings: options.telemetryMs === undefined ? undefined : { telemetryIntervalMs: options.telemetryMs },
    persistOutbox: options.persistOutbox,
    ota: ota && {
      session,
      target: new FileUpdateTarget({ dir: ota.dir, onRestart: onRestart }),
      ...(ota.chunkBytes === undefined ? {} : { chunkBytes: ota.chunkBytes }),
    },
  });
  if (options.persistOutbox) log.info('device: telemetry outbox in ' + options.stateDir + ' (store-and-forward)');
  if (ota) log.info('device: firmware ' + (installed ? installed.title + ' ' + installed.version + ' from ' + ota.dir : info.name + ' ' + info.version) + '; OTA updates go to ' + ota.dir);
  sim.firmware.start();
  return {
    connection,
    firmware: sim.firmware,
    close() {
      sim.close();
      for (const off of offs) off();
      connection.close();
    },
  };
}

export async function deviceCommand(args: string[], until: Promise<void>): Promise<number> {
  const options = parseDeviceOptions(args);
  const log = consoleLog(options.verbose ? 'debug' : 'info');
  if (options.engine === 'xs') return runXsEngine(options, log, until);
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

/**
 * The firmware on the XS engine until `until`; an OTA restart closes the worker and starts a new
 * one reporting the installed title and version, as a board reboots into its new image.
 */
async function runXsEngine(options: DeviceCommandOptions, log: Log, until: Promise<void>): Promise<number> {
  const { manifestStackSlots, runXsDevice } = await import('../../xsnap/xs-device');
  const stopped = until.then(() => 'stop' as const);
  const xsStack = options.xsStack ?? manifestStackSlots();
  log.info('device (xs): XS stack ' + xsStack + ' slots' + (options.xsStack ? ' (--xs-stack)' : " (manifest.json's creation.stack)"));
  for (;;) {
    let restart!: () => void;
    const restarting = new Promise<'restart'>((resolve) => (restart = () => resolve('restart')));
    let device: Awaited<ReturnType<typeof runXsDevice>>;
    try {
      const ota = options.ota;
      const installed = ota ? installedFirmware(ota.dir) : undefined;
      const info = installed ? { name: installed.title, version: installed.version } : firmwareInfo();
      if (ota) log.info('device (xs): firmware ' + info.name + ' ' + info.version + '; OTA updates go to ' + ota.dir);
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
        xsStack,
        // The overflow report goes into the one-line error; the worker's stderr only into the debug log.
        worker: { stderr: (line) => log.debug('xs: ' + line) },
        ...(ota ? { ota: { dir: ota.dir, chunkBytes: ota.chunkBytes, onRestart: () => restart() } } : {}),
      });
    } catch (error) {
      log.error('device (xs): ' + describeError(error));
      return 1;
    }
    const outcome = await Promise.race([stopped, restarting, device.done]);
    await device.close();
    if (outcome === 'restart') {
      log.info('device (xs): restarting into the installed firmware');
      continue;
    }
    if (outcome instanceof Error) {
      log.error('device (xs): ' + describeError(outcome));
      return 1;
    }
    return 0;
  }
}
