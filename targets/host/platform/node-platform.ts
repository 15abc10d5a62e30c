import type { Log } from '../../../src/platform/log';
import type { Platform } from '../../../src/platform/platform';
import { FileStore } from './file-store';
import { nodeClock } from './node-clock';
import { NodeConnector } from './node-connector';

/**
 * The real platform on Node: node:net/tls sockets, Node timers, a file store in `stateDir`, and
 * the mqtt-packet codec (flash size does not matter here; see src/mqtt/codec-types.ts).
 */
export function nodePlatform(stateDir: string, log: Log): Platform {
  return { clock: nodeClock, connector: new NodeConnector(), store: new FileStore(stateDir), log };
}
