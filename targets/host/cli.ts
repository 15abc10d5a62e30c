import { describeError } from '../../src/platform/errors';
import { UsageError } from './cli/args';
import { demoCommand } from './cli/demo-command';
import { deviceCommand } from './cli/device-command';
import { DEVICE_USAGE } from './cli/device-options';
import { GATEWAY_USAGE, gatewayCommand } from './cli/gateway-command';
import { SERVER_USAGE, serverCommand } from './cli/server-command';

const USAGE = [
  'usage:',
  '  tbxs demo [--mqtt-port P --http-port P]   local server + one simulated device (npm start)',
  '  ' + SERVER_USAGE,
  '  ' + DEVICE_USAGE,
  '  ' + GATEWAY_USAGE,
].join('\n');

/** Resolves on Ctrl-C or SIGTERM. */
function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}

/** The `tbxs` command. Returns the exit code: 2 for a usage mistake (one line on stderr). */
export async function main(
  argv: string[],
  print: (line: string) => void = (l) => console.log(l),
  printError: (line: string) => void = (l) => process.stderr.write(l + '\n'),
): Promise<number> {
  const [command, ...args] = argv;
  try {
    switch (command) {
      case 'demo':
        return await demoCommand(args, print, untilSignal());
      case 'server':
        return await serverCommand(args, print, untilSignal());
      case 'device':
        return await deviceCommand(args, untilSignal());
      case 'gateway':
        return await gatewayCommand(args, untilSignal());
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        print(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError('unknown command "' + command + '" (try: tbxs help)');
    }
  } catch (error) {
    if (error instanceof UsageError) {
      printError('tbxs: ' + error.message);
      return 2;
    }
    printError('tbxs: ' + describeError(error));
    return 1;
  }
}
