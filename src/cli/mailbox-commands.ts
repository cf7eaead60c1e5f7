/**
 * `coord message ID "text"` and `coord unblock ID --reason "…"`: through the daemon when one
 * runs (it delivers at once), else straight in the store (the next supervisor delivers).
 */
import { readFileSync } from 'node:fs';
import { DEFAULT_MAX_PAYLOAD_BYTES } from '../agents/payload.js';
import { CoordError } from '../errors.js';
import { daemonFilesOf } from '../control/daemon-files.js';
import { connectControl, type ControlClient } from '../control/socket-client.js';
import { postMessage, unblockTask } from '../supervisor/mailbox/operator.js';
import { locateState, withStateStore, type StateFlags } from './state.js';
import { processOut, type Out } from './store-commands.js';

/** The daemon's client, or undefined when none runs for this state. */
async function daemonIfAny(flags: StateFlags): Promise<ControlClient | undefined> {
  const { stateDir } = await locateState(flags);
  try {
    return await connectControl(daemonFilesOf(stateDir).socket);
  } catch {
    return undefined;
  }
}

/** `coord message ID TEXT` (`-` reads the text from stdin). */
export async function messageCommand(flags: StateFlags & { id: string; text: string; json?: boolean }, io: Out = processOut): Promise<number> {
  const text = flags.text === '-' ? readFileSync(0, 'utf8') : flags.text;
  const client = await daemonIfAny(flags);
  let answer: { seq: number; delivered: 'now' | 'next start' };
  if (client) {
    try {
      answer = { seq: (await client.request<{ seq: number }>('message', { taskId: flags.id, text })).seq, delivered: 'now' };
    } finally {
      client.close();
    }
  } else {
    const message = await withStateStore(flags, 'write', (store) => postMessage(store, flags.id, text, { maxBytes: DEFAULT_MAX_PAYLOAD_BYTES, now: Date.now() }));
    answer = { seq: message.seq, delivered: 'next start' };
  }
  if (flags.json) io.out(`${JSON.stringify({ taskId: flags.id, ...answer })}\n`);
  else io.out(`message #${answer.seq} for ${flags.id}: ${answer.delivered === 'now' ? 'the daemon delivers it (coord task ' + flags.id + ' shows how)' : 'stored; delivered when a supervisor next runs'}\n`);
  return 0;
}

/** `coord unblock ID --reason R`: lifts a loop safeguard's block, with the reason kept. */
export async function unblockCommand(flags: StateFlags & { id: string; reason: string | undefined }, io: Out = processOut): Promise<number> {
  if (flags.reason === undefined || flags.reason.trim() === '') {
    throw new CoordError('USAGE', 'an override needs a reason: coord unblock ID --reason "why it may go on"');
  }
  const reason = flags.reason;
  const client = await daemonIfAny(flags);
  let code: string;
  if (client) {
    try {
      code = (await client.request<{ code: string }>('unblock', { taskId: flags.id, reason })).code;
    } finally {
      client.close();
    }
  } else {
    code = (await withStateStore(flags, 'write', (store) => unblockTask(store, flags.id, reason, Date.now()))).code;
  }
  io.out(`unblocked ${flags.id} (was ${code}); the override and its reason are in its history\n`);
  return 0;
}
