/**
 * Moddable modules @moddable/typings 5.6.0 does not declare, as far as targets/esp32 uses them
 * (read from the Moddable SDK 8.2.3 sources: build/devices/esp32/modules/ota/ota.js,
 * modules/crypt/digest/crypt.js).
 */
declare module 'ota' {
  /** Begins an update of the next OTA partition (esp_ota_begin); its options are ignored on ESP32. */
  export default class OTA {
    constructor(options?: { byteLength?: number });
    write(data: ArrayBufferView | ArrayBuffer): void;
    cancel(): void;
    /** esp_ota_end, then esp_ota_set_boot_partition. */
    complete(): void;
  }
}

declare module 'crypt' {
  export class Digest {
    /** "MD5", "SHA1", "SHA224", "SHA256", "SHA384", "SHA512". */
    constructor(type: string);
    write(data: ArrayBufferView | ArrayBuffer | string): void;
    close(): ArrayBuffer;
  }
}
