/**
 * `coord machines export [--format json|mermaid|dot] [--out DIR] [--doc FILE]`: coord's four
 * machine definitions as JSON (the `createMachine()` config Stately's editor imports), Mermaid
 * or Graphviz DOT. To stdout by default; with `--out DIR`, one file per machine
 * (`DIR/<name>.<json|mmd|dot>`); with `--doc FILE`, the docs page with every diagram
 * (docs/machines.md). It starts nothing: no supervisor, no git, no state directory.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CoordError } from '../errors.js';
import { EXPORT_FORMATS, FORMAT_EXTENSIONS, exportAll, exportMachine, isExportFormat, type ExportFormat } from '../inspect/export-formats.js';
import { MACHINE_DEFINITIONS } from '../inspect/machine-definitions.js';
import { machinesDoc } from '../inspect/machines-doc.js';
import { processOut, type Out } from './store-commands.js';

export const MACHINES_USAGE = `Usage: coord machines export [--format ${EXPORT_FORMATS.join('|')}] [--out DIR] [--doc FILE]
  --format F   json (default: the createMachine() config, as Stately's editor imports it),
               mermaid (stateDiagram-v2) or dot (Graphviz)
  --out DIR    write DIR/<name>.<json|mmd|dot> for each machine (DIR is created); print the paths
  --doc FILE   write the machines' docs page (Mermaid diagrams) to FILE, e.g. docs/machines.md
Without --out or --doc, every machine goes to stdout. Machines: ${MACHINE_DEFINITIONS.map((d) => d.name).join(', ')}.`;

/** What `export` was asked to do, its flags checked. */
export interface ExportRequest {
  format: ExportFormat;
  out: string | undefined;
  doc: string | undefined;
}

/** Runs `coord machines …argv`; resolves with the exit code. */
export async function machinesCommand(argv: readonly string[], io: Out = processOut): Promise<number> {
  const [verb, ...rest] = argv;
  switch (verb) {
    case 'export':
      return exportCommand(parseExportFlags(rest), io);
    case undefined:
    case '--help':
    case '-h':
      io.out(`${MACHINES_USAGE}\n`);
      return verb === undefined ? 2 : 0;
    default:
      throw new CoordError('USAGE', `unknown machines command "${verb}"\n${MACHINES_USAGE}`);
  }
}

/** Parses `export`'s flags; `USAGE` for anything else, a bad format, or `--doc` with a format other than mermaid. */
export function parseExportFlags(argv: readonly string[]): ExportRequest {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: [...argv], strict: true, allowPositionals: false, options: { format: { type: 'string' }, out: { type: 'string' }, doc: { type: 'string' } } }));
  } catch (error) {
    throw new CoordError('USAGE', `coord machines export: ${error instanceof Error ? error.message : String(error)}\n${MACHINES_USAGE}`);
  }
  const doc = values['doc'] as string | undefined;
  const format = (values['format'] as string | undefined) ?? (doc === undefined ? 'json' : 'mermaid');
  if (!isExportFormat(format)) throw new CoordError('USAGE', `--format must be one of ${EXPORT_FORMATS.join(', ')}, not "${format}"`);
  if (doc !== undefined && format !== 'mermaid') throw new CoordError('USAGE', `--doc writes Mermaid diagrams: it takes --format mermaid, not ${format}`);
  for (const flag of ['out', 'doc'] as const) {
    if (values[flag] === '') throw new CoordError('USAGE', `--${flag} needs a path`);
  }
  return { format, out: values['out'] as string | undefined, doc };
}

/** Writes what was asked for and prints the paths, or prints every machine. */
async function exportCommand(request: ExportRequest, io: Out): Promise<number> {
  if (request.out === undefined && request.doc === undefined) {
    io.out(exportAll(MACHINE_DEFINITIONS, request.format));
    return 0;
  }
  if (request.out !== undefined) {
    await mkdir(request.out, { recursive: true });
    for (const { name, machine } of MACHINE_DEFINITIONS) {
      const file = path.join(request.out, `${name}.${FORMAT_EXTENSIONS[request.format]}`);
      await writeFile(file, exportMachine(machine, request.format));
      io.out(`${file}\n`);
    }
  }
  if (request.doc !== undefined) {
    await mkdir(path.dirname(request.doc), { recursive: true });
    await writeFile(request.doc, machinesDoc());
    io.out(`${request.doc}\n`);
  }
  return 0;
}
