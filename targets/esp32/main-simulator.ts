/**
 * The desktop simulator's "main" module (dist/esp32/tbxs-sim.js, `mcconfig -p lin|mac|win`):
 * mcsim has real TCP sockets but no embedded:io/digital, so the firmware runs on hal/mock with
 * simulated SHT3x, BME280 and battery values. The host's clock already knows the date.
 */
import { SimulatedIo } from './simulated-io';
import { start } from './start';

export default function main(): void {
  start({
    name: 'simulator',
    openIo: (board, clock) => new SimulatedIo(board, clock).io,
  });
}
