/**
 * docs/machines.md is what the generator makes from the machines now: a machine changed
 * without regenerating the page fails here, saying how to regenerate it.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { toMermaid } from '../../src/inspect/export-formats.js';
import { MACHINE_DEFINITIONS } from '../../src/inspect/machine-definitions.js';
import { MACHINES_DOC_COMMAND, machinesDoc, wrap } from '../../src/inspect/machines-doc.js';
import { ROOT } from '../helpers/cli.js';

describe('docs/machines.md', () => {
  it('is up to date with the machine definitions', () => {
    const committed = readFileSync(path.join(ROOT, 'docs', 'machines.md'), 'utf8');
    const message = `docs/machines.md is out of date: regenerate it with \`npm run build && ${MACHINES_DOC_COMMAND}\` and commit it`;
    expect(committed === machinesDoc(), message).toBe(true);
  });

  it('has a section per machine: heading, source, a paragraph, the exporter\'s diagram', () => {
    const doc = machinesDoc();
    expect(doc.startsWith('# The state machines\n')).toBe(true);
    expect(doc).toContain(MACHINES_DOC_COMMAND);
    for (const { name, machine, source } of MACHINE_DEFINITIONS) {
      const section = doc.split(`\n## ${name}\n`)[1]?.split('\n## ')[0] ?? '';
      expect(section).toContain(`[\`${source}\`](../${source})`);
      expect(section).toContain(`\`\`\`mermaid\n${toMermaid(machine)}\`\`\``);
      const paragraph = section.split('\n\n')[2] ?? '';
      expect(paragraph.length).toBeGreaterThan(300);
    }
    expect(doc.match(/^```mermaid$/gm)).toHaveLength(MACHINE_DEFINITIONS.length);
  });

  it('wraps prose at 95 columns without breaking a code span', () => {
    const text = wrap('one `a code span that is long` two three four five six seven', 20);
    expect(text.split('\n')).toEqual(['one', '`a code span that is long`', 'two three four five', 'six seven']);
    for (const line of machinesDoc().split('```mermaid')[0]?.split('\n') ?? []) {
      if (!line.startsWith('<!--')) expect(line.length).toBeLessThanOrEqual(95);
    }
  });
});
