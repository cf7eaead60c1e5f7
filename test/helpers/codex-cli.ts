/**
 * Where the real Codex CLI is: the native binary inside the platform package that
 * `@openai/codex` (a dev dependency) brings in as an optional dependency, run directly
 * (its `bin/codex.js` wrapper only finds it and forwards signals).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './cli.js';

const TRIPLES: Record<string, string> = {
  'linux-x64': 'x86_64-unknown-linux-musl',
  'linux-arm64': 'aarch64-unknown-linux-musl',
  'darwin-x64': 'x86_64-apple-darwin',
  'darwin-arm64': 'aarch64-apple-darwin',
};

/** The absolute path of the `codex` binary; throws, naming the package, when it is not installed. */
export function codexBinary(): string {
  const key = `${process.platform}-${process.arch}`;
  const triple = TRIPLES[key];
  if (triple === undefined) throw new Error(`no Codex CLI build for ${key} (known: ${Object.keys(TRIPLES).join(', ')})`);
  const pkg = `@openai/codex-${key}`;
  const binary = path.join(ROOT, 'node_modules', ...pkg.split('/'), 'vendor', triple, 'bin', 'codex');
  if (!existsSync(binary)) {
    throw new Error(`the Codex CLI is not installed: ${binary} is missing. It comes with the dev dependency @openai/codex (platform package ${pkg}); run \`npm install\`.`);
  }
  return binary;
}
