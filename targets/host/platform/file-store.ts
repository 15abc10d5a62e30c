import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JsonValue, Store } from '../../../src/platform/store';

/**
 * A Store kept as one JSON file in a state directory. Writes go to a temporary file first and are
 * renamed into place, so a crash mid-write never leaves half a file.
 */
export class FileStore implements Store {
  private readonly file: string;
  private values: Record<string, JsonValue>;

  constructor(directory: string) {
    mkdirSync(directory, { recursive: true });
    this.file = join(directory, 'store.json');
    this.values = readValues(this.file);
  }

  get(key: string): JsonValue | undefined {
    const v = this.values[key];
    return v === undefined ? undefined : (JSON.parse(JSON.stringify(v)) as JsonValue);
  }

  set(key: string, value: JsonValue): void {
    this.values[key] = JSON.parse(JSON.stringify(value)) as JsonValue;
    this.flush();
  }

  delete(key: string): void {
    delete this.values[key];
    this.flush();
  }

  private flush(): void {
    const tmp = this.file + '.tmp';
    writeFileSync(tmp, JSON.stringify(this.values, null, 2));
    renameSync(tmp, this.file);
  }
}

function readValues(file: string): Record<string, JsonValue> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw error;
  }
  const parsed = JSON.parse(text) as unknown;
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new Error('state file ' + file + ' does not hold a JSON object; move it away to start fresh');
  }
  return parsed as Record<string, JsonValue>;
}
