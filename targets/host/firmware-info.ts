import { readFileSync } from 'node:fs';

/** The firmware name and version the host targets report: the package's own. */
export function firmwareInfo(): { name: string; version: string } {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { name: string; version: string };
  return { name: pkg.name, version: pkg.version };
}
