/**
 * Stands in for every Moddable module (mc/config, timer, preference, embedded:io/*, ...) in the
 * ESP32 preload bundle (bundle.ts entry 'esp32-preload'), which is only loaded, never started:
 * its modules' top level may reference these, and must not call them (a preloaded module must
 * not touch native code at build time, DESIGN.md). Calling it says so.
 */
class ModdableModuleStub {
  constructor() {
    throw new Error('a Moddable module was used while loading: preloaded code must not touch native modules at top level');
  }
}

export default ModdableModuleStub;

/** crypt's named export (targets/esp32/main.ts imports { Digest } from 'crypt'). */
export const Digest = ModdableModuleStub;
