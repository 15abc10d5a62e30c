import type { Clock } from './clock';
import type { Log } from './log';
import type { Connector } from './socket';
import type { Store } from './store';
import type { UpdateTarget } from './update-target';

/** What a target hands to portable code: time, sockets, persistence, logging. */
export interface Platform {
  clock: Clock;
  connector: Connector;
  store: Store;
  log: Log;
  /** 0 <= x < 1; defaults to Math.random. */
  random?: () => number;
  /** Where firmware updates go (OTA); absent on a platform that cannot take one. */
  updateTarget?: UpdateTarget;
}
