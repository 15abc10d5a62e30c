/**
 * OTA packages and device profiles, as ThingsBoard keeps them: a package (title, version, type,
 * device profile, data with its checksum) is assigned to a device (`firmwareId`) or to its device
 * profile; the device's own assignment wins. Which firmware a device should run is `firmwareFor`.
 */
import { randomUUID } from 'node:crypto';
import { nodeDigest } from '../platform/node-digest';
import type { Json, JsonObject } from './json';
import type { DeviceRecord } from './registry';

export const OTA_LIMITS = {
  packages: 100,
  /** Bytes of one package's data. */
  packageBytes: 32 * 1024 * 1024,
  profiles: 100,
};

export const CHECKSUM_ALGORITHMS: readonly string[] = ['MD5', 'SHA256', 'SHA384', 'SHA512', 'CRC32', 'MURMUR3_32', 'MURMUR3_128'];

export class OtaError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface DeviceProfile {
  readonly id: string;
  readonly name: string;
  readonly createdTime: number;
  firmwareId?: string;
}

export interface OtaPackage {
  readonly id: string;
  readonly createdTime: number;
  readonly type: 'FIRMWARE' | 'SOFTWARE';
  readonly title: string;
  readonly version: string;
  readonly tag: string;
  readonly deviceProfileId: string;
  readonly additionalInfo: Json;
  data?: Buffer;
  fileName?: string;
  contentType?: string;
  checksumAlgorithm?: string;
  checksum?: string;
}

export class OtaCatalog {
  private readonly packages = new Map<string, OtaPackage>();
  private readonly profilesByName = new Map<string, DeviceProfile>();
  private readonly profilesById = new Map<string, DeviceProfile>();

  /** The profile named like the device's type, made on first use (ThingsBoard: device type = profile name). */
  profileOf(device: DeviceRecord): DeviceProfile {
    return this.profileNamed(device.type);
  }

  profileNamed(name: string): DeviceProfile {
    let p = this.profilesByName.get(name);
    if (!p) {
      if (this.profilesByName.size >= OTA_LIMITS.profiles) throw new OtaError(400, 'Too many device profiles');
      p = { id: randomUUID(), name, createdTime: Date.now() };
      this.profilesByName.set(name, p);
      this.profilesById.set(p.id, p);
    }
    return p;
  }

  profile(id: string): DeviceProfile | undefined {
    return this.profilesById.get(id);
  }

  profiles(): DeviceProfile[] {
    return [...this.profilesById.values()];
  }

  /** POST /api/otaPackage: the package without data yet. */
  create(body: JsonObject): OtaPackage {
    const { title, version } = body;
    if (typeof title !== 'string' || title.trim() === '') throw new OtaError(400, 'OTA package title should be specified!');
    if (typeof version !== 'string' || version.trim() === '') throw new OtaError(400, 'OTA package version should be specified!');
    const type = body.type ?? 'FIRMWARE';
    if (type !== 'FIRMWARE' && type !== 'SOFTWARE') throw new OtaError(400, 'Type should be specified!');
    const profileId = entityId(body.deviceProfileId);
    if (!profileId) throw new OtaError(400, 'OTA package should be assigned to device profile!');
    if (!this.profilesById.has(profileId)) throw new OtaError(400, 'OTA package is referencing to non-existent device profile!');
    for (const p of this.packages.values()) {
      if (p.deviceProfileId === profileId && p.type === type && p.title === title && p.version === version) {
        throw new OtaError(400, 'OtaPackage with such title and version already exists!');
      }
    }
    if (this.packages.size >= OTA_LIMITS.packages) throw new OtaError(400, 'Too many OTA packages');
    const pkg: OtaPackage = {
      id: randomUUID(),
      createdTime: Date.now(),
      type,
      title,
      version,
      tag: typeof body.tag === 'string' ? body.tag : title + ' ' + version,
      deviceProfileId: profileId,
      additionalInfo: body.additionalInfo ?? {},
    };
    this.packages.set(pkg.id, pkg);
    return pkg;
  }

  /**
   * POST /api/otaPackage/{id}?checksumAlgorithm=..[&checksum=..]: the data. Without a checksum the
   * server computes it; a given one is stored as given (ThingsBoard does not check it, so a wrong
   * one reaches the device, which must refuse the image).
   */
  upload(id: string, data: Buffer, fileName: string, contentType: string, algorithm: string, checksum: string | undefined): OtaPackage {
    const pkg = this.need(id);
    if (pkg.data) throw new OtaError(400, 'OTA package already has data!');
    const alg = algorithm.toUpperCase();
    if (!CHECKSUM_ALGORITHMS.includes(alg)) throw new OtaError(400, 'Unsupported checksum algorithm ' + algorithm + ' (one of ' + CHECKSUM_ALGORITHMS.join(', ') + ')');
    if (data.length === 0) throw new OtaError(400, 'OTA package data is empty!');
    if (data.length > OTA_LIMITS.packageBytes) throw new OtaError(413, 'OTA package data over ' + OTA_LIMITS.packageBytes + ' bytes');
    pkg.data = data;
    pkg.fileName = fileName;
    pkg.contentType = contentType;
    pkg.checksumAlgorithm = alg;
    pkg.checksum = checksum && checksum.trim() !== '' ? checksum.trim() : computeChecksum(alg, data);
    return pkg;
  }

  get(id: string): OtaPackage | undefined {
    return this.packages.get(id);
  }

  need(id: string): OtaPackage {
    const pkg = this.packages.get(id);
    if (!pkg) throw new OtaError(404, "Requested item wasn't found!");
    return pkg;
  }

  remove(id: string): void {
    this.packages.delete(id);
  }

  all(): OtaPackage[] {
    return [...this.packages.values()];
  }

  /** The firmware the device should run: its own assignment, else its profile's. */
  firmwareFor(device: DeviceRecord): OtaPackage | undefined {
    const id = device.firmwareId ?? this.profileOf(device).firmwareId;
    return id === undefined ? undefined : this.packages.get(id);
  }

  /** Checks that a package can be assigned as firmware: it exists, is FIRMWARE and has data. */
  assignable(id: string, profileId: string): OtaPackage {
    const pkg = this.need(id);
    if (pkg.type !== 'FIRMWARE') throw new OtaError(400, "Can't assign firmware with type: " + pkg.type);
    if (!pkg.data) throw new OtaError(400, "Can't assign firmware with empty data!");
    if (pkg.deviceProfileId !== profileId) throw new OtaError(400, "Can't assign firmware with different deviceProfile!");
    return pkg;
  }
}

/** The hex ThingsBoard stores for `data` (Guava's byte order for CRC32 and Murmur3). */
export function computeChecksum(algorithm: string, data: Uint8Array): string {
  const digest = nodeDigest(algorithm);
  if (!digest) throw new OtaError(400, 'Unsupported checksum algorithm ' + algorithm);
  digest.update(data);
  return digest.hex();
}

/** `{"entityType":..,"id":".."}` or a bare id string. */
export function entityId(value: Json | undefined): string | undefined {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && !Array.isArray(value) && typeof value.id === 'string') return value.id;
  return undefined;
}

/** OtaPackageInfo as ThingsBoard's REST returns it. */
export function otaPackageJson(p: OtaPackage): JsonObject {
  return {
    id: { entityType: 'OTA_PACKAGE', id: p.id },
    createdTime: p.createdTime,
    additionalInfo: p.additionalInfo,
    deviceProfileId: { entityType: 'DEVICE_PROFILE', id: p.deviceProfileId },
    type: p.type,
    title: p.title,
    version: p.version,
    tag: p.tag,
    url: null,
    hasData: p.data !== undefined,
    fileName: p.fileName ?? null,
    contentType: p.contentType ?? null,
    checksumAlgorithm: p.checksumAlgorithm ?? null,
    checksum: p.checksum ?? null,
    dataSize: p.data ? p.data.length : null,
    name: p.title,
  };
}

export function deviceProfileJson(p: DeviceProfile): JsonObject {
  return {
    id: { entityType: 'DEVICE_PROFILE', id: p.id },
    createdTime: p.createdTime,
    name: p.name,
    type: 'DEFAULT',
    transportType: 'MQTT',
    provisionType: 'DISABLED',
    default: p.name === 'default',
    firmwareId: p.firmwareId ? { entityType: 'OTA_PACKAGE', id: p.firmwareId } : null,
    softwareId: null,
  };
}
