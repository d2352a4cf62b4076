/**
 * Writes the MQTT API's JSON Schemas (controller/fleet/json-schemas.ts) to docs/mqtt/schemas/ and
 * removes schema files that no longer have a source. Run after changing a payload schema:
 *   npx tsc -p . && node dist/scripts/mqtt-schemas.js [--check]
 * `--check` writes nothing and exits 1 when a file is missing, stale or orphaned.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { mqttJsonSchemas, schemaFileText } from '../controller/fleet/json-schemas';

function main(argv: string[]): number {
  const check = argv.includes('--check');
  const dir = resolve(__dirname, '..', '..', 'docs', 'mqtt', 'schemas');
  const wanted = mqttJsonSchemas();
  const problems: string[] = [];
  if (!check) mkdirSync(dir, { recursive: true });
  for (const [name, doc] of wanted) {
    const path = join(dir, name);
    const text = schemaFileText(doc);
    const current = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
    if (current === text) continue;
    problems.push(`${name}: ${current === undefined ? 'missing' : 'stale'}`);
    if (!check) writeFileSync(path, text);
  }
  for (const name of existsSync(dir) ? readdirSync(dir) : []) {
    if (!name.endsWith('.schema.json') || wanted.has(name)) continue;
    problems.push(`${name}: orphaned`);
    if (!check) rmSync(join(dir, name));
  }
  for (const p of problems) console.log(`${check ? 'out of date' : 'updated'}: ${p}`);
  console.log(`${wanted.size} schemas in ${dir}${problems.length ? '' : ', all current'}`);
  return check && problems.length > 0 ? 1 : 0;
}

process.exitCode = main(process.argv.slice(2));
