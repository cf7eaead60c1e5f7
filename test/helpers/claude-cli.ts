/**
 * Where the real Claude Code CLI is: the native binary of the platform package that
 * `@anthropic-ai/claude-code` (a dev dependency) brings in. Its postinstall, which would copy
 * the binary over the wrapper's `bin/claude.exe` placeholder, is not run here (package.json's
 * allowScripts), so the binary is taken from the platform package itself.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './cli.js';

/** The platform package's suffix (`linux-x64`, `darwin-arm64`, `linux-x64-musl`, …). */
function platformKey(): string {
  const base = `${process.platform}-${process.arch}`;
  if (process.platform !== 'linux') return base;
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
  return report?.header?.glibcVersionRuntime === undefined ? `${base}-musl` : base;
}

/** The absolute path of the `claude` binary; throws, naming the package, when it is not installed. */
export function claudeBinary(): string {
  const pkg = `@anthropic-ai/claude-code-${platformKey()}`;
  const binary = path.join(ROOT, 'node_modules', ...pkg.split('/'), process.platform === 'win32' ? 'claude.exe' : 'claude');
  if (!existsSync(binary)) {
    throw new Error(`the Claude Code CLI is not installed: ${binary} is missing. It comes with the dev dependency @anthropic-ai/claude-code (platform package ${pkg}); run \`npm install\`.`);
  }
  return binary;
}
