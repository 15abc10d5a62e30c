import type { AnalogDescription, BoardDescription } from '../../../hal/types';
import { devkitc } from './devkitc';
import { nodemcu32s } from './nodemcu-32s';

export { devkitc } from './devkitc';
export { nodemcu32s } from './nodemcu-32s';
export { dividerScale, ESP32_ADC_BITS, ESP32_ADC1_PINS, ESP32_FLASH_PINS, ESP32_INPUT_ONLY_PINS } from './calibration';

/** Boards by the name given as `board=` to mcconfig. */
export const BOARDS: Readonly<Record<string, BoardDescription>> = Object.freeze({
  devkitc,
  'nodemcu-32s': nodemcu32s,
});

export const DEFAULT_BOARD = 'devkitc';

/** The board for a config name; throws with the known names. */
export function selectBoard(name: string | undefined): BoardDescription {
  const key = (name ?? DEFAULT_BOARD).toLowerCase();
  const board = Object.prototype.hasOwnProperty.call(BOARDS, key) ? BOARDS[key] : undefined;
  if (!board) throw new Error('unknown board "' + name + '": use board=' + Object.keys(BOARDS).join(' or board='));
  return board;
}

/** The board with the battery calibration replaced (batteryScale= / batteryOffset= from mcconfig). */
export function withBatteryCalibration(board: BoardDescription, scale: number | undefined, offset: number | undefined): BoardDescription {
  const battery = board.analog?.battery_v;
  if (!battery || (scale === undefined && offset === undefined)) return board;
  const calibrated: AnalogDescription = { ...battery, scale: scale ?? battery.scale, offset: offset ?? battery.offset };
  return { ...board, analog: { ...board.analog, battery_v: calibrated } };
}
