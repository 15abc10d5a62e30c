/**
 * The ESP32 firmware's "main" module (dist/esp32/tbxs.js): ECMA-419 IO through hal/moddable,
 * Wi-Fi rejoin and SNTP retry, firmware updates into the OTA partitions. The Moddable runtime calls the default export at boot; the module
 * itself is preloaded, so nothing native happens at its top level.
 */
import { ModdableIo } from '../../hal/moddable';
import { start } from './start';
import { SntpRetry, WifiWatch } from './wifi-sntp';
import { whenNetworkUp } from './network';
import OTA from 'ota';
import { Digest } from 'crypt';
import { Esp32UpdateTarget } from './ota-target';

export default function main(): void {
  start({
    name: 'esp32',
    openIo: () => new ModdableIo(),
    // Moddable's ota module: the manifest's esp32 include splits the factory partition in two.
    updateTarget: (settings) => new Esp32UpdateTarget({ OTA, Digest, restart: () => System.restart(), capacity: settings.otaBytes }),
    prepare(settings, clock, log) {
      // Without ssid= Moddable's setup/network does not start Wi-Fi at all.
      if (settings.ssid) new WifiWatch(settings.ssid, settings.password, log);
      else log.warn('wifi: no ssid= given to mcconfig, so no network');
      // Moddable's setup/network asked SNTP (config "sntp") before main; if that failed, keep asking.
      if (!clock.epochKnown) {
        whenNetworkUp(log, () => new SntpRetry([settings.sntp ?? 'pool.ntp.org'], (epochMs) => clock.setEpoch(epochMs), log));
      }
    },
  });
}
