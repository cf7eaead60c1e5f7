/**
 * docs/machines.md, generated (pure): a short introduction, then for each of the four
 * machines a heading, a paragraph on what it does and a Mermaid diagram from the exporter.
 * The diagrams are drawn from the definitions themselves, so the page cannot drift from the
 * code; `MACHINES_DOC_COMMAND` regenerates it, and a test fails when it is out of date.
 */
import { toMermaid } from './export-formats.js';
import { MACHINE_DEFINITIONS, type MachineDefinition, type MachineName } from './machine-definitions.js';

/** The command that writes the page (run at the package root). */
export const MACHINES_DOC_COMMAND = 'node supervisor.js machines export --format mermaid --doc docs/machines.md';

/** What each machine is for, and the names its actors have at run time (`coord watch --machines`). */
const ABOUT: Readonly<Record<MachineName, { actors: string; text: string }>> = {
  coordinator: {
    actors: '`coordinator`, the root of every other actor',
    text:
      'The supervisor\'s lifecycle. `init` invokes `initialize` (the store opened, the workers read from the '
      + 'configuration) and spawns one worker machine per worker; `running` is where the supervisor dispatches '
      + 'tasks, and where workers are added when the pool scales up. `coordinator.drain` starts `draining`: '
      + '`finishing` waits for the tasks in flight (`awaitIdle`) until the drain deadline, after which they are '
      + 'cancelled; `stoppingWorkers` stops every worker; `closing` closes the store and the other resources, '
      + 'even after a failure. `coordinator.stop` skips the wait. A fault (`coordinator.fault`: a corrupt store, '
      + 'a full disk) or the failure of every worker drains too, and the run ends in `failed` instead of '
      + '`stopped`. Circuit breakers and fallback chains are spawned as the coordinator\'s children '
      + '(`breaker.ensure`, `fallback.ensure`), so whoever inspects the root actor sees every machine.',
  },
  worker: {
    actors: 'the worker ids: `w1`, `w2`, …',
    text:
      'One worker slot and the process it runs tasks in (the spawned callback actor `process`; the exits are '
      + 'handled in `machines/worker-exits.ts`). `spawning` waits for `process.ready`, at most `spawnTimeout`; '
      + 'then the worker goes between `idle` and `busy` as tasks are assigned and their results come back under '
      + 'the lease it holds (a result for another lease is reported stale and changes nothing). Heartbeats '
      + 'missing for `heartbeatTimeout` make it `hung`: the process is killed with SIGKILL. When the process '
      + 'dies on its own, the restart policy decides: `restarting` after a backoff delay while restart intensity '
      + 'allows it, `coolingDown` for a longer wait once intensity is used up (for a slot whose program has '
      + 'started before), otherwise `failed`. `worker.stop` goes through `stopping`: a polite `coord:shutdown`, '
      + 'SIGTERM after `shutdownGrace`, SIGKILL after `killGrace`, and the exit ends in `exited`.',
  },
  'circuit-breaker': {
    actors: '`breaker:<scope>`, e.g. `breaker:worker:w1`, `breaker:command:claude`',
    text:
      'A circuit breaker for one scope: a worker (`worker:<id>`), or a command or agent (`command:<program>`, '
      + '`module:<file>`). `closed` lets everything through and '
      + 'counts consecutive failures within the failure window; at the threshold it opens. `open` lets nothing '
      + 'through for `openDuration`, which grows with each consecutive open. `halfOpen` grants probes itself '
      + '(`probe.request`, at most `halfOpenProbes` at once), so requests arriving together cannot race for a '
      + 'slot; enough successful probes close the breaker, one failed probe opens it again, and results that '
      + 'answer no granted probe (calls started before it opened) are ignored. `config.update` changes the '
      + 'limits in any state.',
  },
  'fallback-chain': {
    actors: '`fallback:<taskId>#<n>`, one per chain (a redriven task gets a fresh one)',
    text:
      'What happens to a task after an attempt fails for a reason that warrants a fallback. The chain starts in '
      + '`original`, the attempt that has just failed; each `attempt.failed` then takes one hop: a retry on the '
      + 'same live worker (`live`), up to `maxResumes` resumes of the agent\'s session there (`resume`, '
      + 're-entered for each), a respawn on a fresh worker process with a summary of the earlier attempts '
      + '(`respawn`), and finally `exhausted`, where the task is dead-lettered with every hop it took. A '
      + 'crash-looping worker, or a session idle for longer than `staleAfterMs`, goes straight to `respawn`. A '
      + 'message for an agent starts a chain with `delivery.start` instead, whose first route depends on the '
      + 'session (typed into a live one, resumed, or respawned). `attempt.succeeded` ends the chain in `recovered`.',
  },
};

const INTRO = `# The state machines

<!-- Generated from the machine definitions by \`${MACHINES_DOC_COMMAND}\`. Do not edit it by hand: change the machines or src/inspect/machines-doc.ts, then run that command. -->

coord's supervisor is four [XState v5](https://stately.ai/docs/xstate) machines, defined in
\`machines/\` without any effect of their own (processes, the store and logs are plugged in by
\`src/\`). The diagrams below are drawn from those definitions.

How to read them: an arrow's label is the event that takes it, with its guard in brackets
(\`[else]\`: none of the guards before it held); \`after NAME (N ms)\` is a delay, \`done: X\` and
\`error: X\` are the end of the actor \`X\` the state invokes, \`[*]\` marks where a state starts
and ends. The lines under a state's name, and the notes beside a compound state, are events
it handles without leaving it; "in any state" lists those the whole machine handles.

\`coord machines export --format json|mermaid|dot\` exports the same definitions (JSON loads in
Stately's editor and with \`createMachine()\`); \`coord watch --machines\` prints every actor's
state change on a running daemon, by the actor names given below.`;

/** Width of the page's prose lines, as in the other docs. */
const WIDTH = 95;

/** `text` wrapped at spaces to {@link WIDTH} columns; a code span is never broken. */
export function wrap(text: string, width = WIDTH): string {
  const words = text.match(/(?:`[^`]*`|[^\s`])+/g) ?? [];
  const lines: string[] = [];
  let line = '';
  for (const word of words) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  return [...lines, ...(line === '' ? [] : [line])].join('\n');
}

/** One machine's section: heading, source, actors, paragraph, diagram. */
export function machineSection({ name, machine, source }: MachineDefinition): string {
  const about = ABOUT[name];
  return [
    `## ${name}`,
    '',
    wrap(`[\`${source}\`](../${source}) · machine id \`${machine.id}\` · actors: ${about.actors}`),
    '',
    wrap(about.text),
    '',
    '```mermaid',
    toMermaid(machine).trimEnd(),
    '```',
  ].join('\n');
}

/** The whole page. */
export function machinesDoc(definitions: readonly MachineDefinition[] = MACHINE_DEFINITIONS): string {
  return `${[INTRO, ...definitions.map(machineSection)].join('\n\n')}\n`;
}
