/**
 * Moddable network helpers shared by the device and the simulator: waiting for an IP address,
 * resolving host names. Moddable-only (net, timer).
 */
import Net from 'net';
import Timer from 'timer';
import type { Log } from '../../src/platform/log';

/** The station's IPv4 address, or undefined while there is none. */
export function currentIp(): string | undefined {
  let ip: string | undefined;
  try {
    ip = Net.get('IP');
  } catch {
    return undefined;
  }
  return ip && ip !== '0.0.0.0' ? ip : undefined;
}

/** Calls `ready` once the station has an IP address (at once if it has one). */
export function whenNetworkUp(log: Log, ready: (ip: string) => void): void {
  const ip = currentIp();
  if (ip) {
    ready(ip);
    return;
  }
  log.info('network: waiting for an IP address');
  let waited = 0;
  const poll = Timer.repeat(() => {
    const now = currentIp();
    waited += 500;
    if (now) {
      Timer.clear(poll);
      ready(now);
    } else if (waited % 30_000 === 0) log.warn('network: still no IP address after ' + waited / 1000 + ' s');
  }, 500);
}

/** Net.resolve as the socket adapter wants it: (host, callback(address | undefined)). */
export function resolve(host: string, callback: (address: string | undefined) => void): void {
  Net.resolve(host, (_name, address) => callback(address));
}

