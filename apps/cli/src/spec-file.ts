import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { UsageError } from './errors.js';

/**
 * A job spec or sweep request from a file (`-f job.yaml`, `-f job.json`): the same fields
 * as the API's JSON body. YAML through js-yaml's JSON schema: plain values only, no tags,
 * no dates turned into objects.
 */
export async function readSpecFile(file: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(
      `-f '${file}': cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  const ext = extname(file).toLowerCase();
  let value: unknown;
  try {
    if (ext === '.json') value = JSON.parse(text);
    else if (ext === '.yaml' || ext === '.yml') {
      const yaml = await import('js-yaml');
      value = yaml.load(text, { schema: yaml.JSON_SCHEMA, filename: file });
    } else throw new Error('expects a .json, .yaml or .yml file');
  } catch (err) {
    throw new UsageError(`-f '${file}': ${(err as Error).message.split('\n')[0]}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new UsageError(`-f '${file}': expects an object of spec fields (model: lenet5, epochs: 3, ...)`);
  return value as Record<string, unknown>;
}
