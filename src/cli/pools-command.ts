/**
 * `coord pools [ID] [--json]`: each pool's readiness as the daemon counts it, the same
 * objects as `GET /pools` and `GET /pools/{id}/status`. Needs a daemon (exit 3 without): a
 * pool's readiness is what its live workers and handoff files say now, not a stored fact.
 * With an ID, the exit status says whether the pool is ready (0) or not (1), for scripts.
 */
import { daemonFilesOf } from '../control/daemon-files.js';
import { connectControl } from '../control/socket-client.js';
import type { PoolStatus } from '../pools/readiness.js';
import { locateState, type StateFlags } from './state.js';
import { processOut, type Out } from './store-commands.js';

export async function poolsCommand(flags: StateFlags & { pool?: string | undefined; json: boolean }, io: Out = processOut): Promise<number> {
  const { stateDir } = await locateState(flags);
  const client = await connectControl(daemonFilesOf(stateDir).socket);
  try {
    if (flags.pool !== undefined) {
      const status = await client.request<PoolStatus>('pools', { pool: flags.pool });
      io.out(flags.json ? `${JSON.stringify(status, null, 2)}\n` : `${describePool(status)}\n`);
      return status.ready ? 0 : 1;
    }
    const statuses = await client.request<PoolStatus[]>('pools');
    io.out(flags.json ? `${JSON.stringify(statuses, null, 2)}\n` : `${statuses.map(describePool).join('\n')}\n`);
    return 0;
  } finally {
    client.close();
  }
}

/** One line: `agents  ready      3/4 ready, 1 busy  since 2026-12-07 14:02:11  [gpu, node]`. */
export function describePool(status: PoolStatus): string {
  const { total, ready, busy } = status.workers;
  const since = status.since.replace('T', ' ').slice(0, 19);
  const capabilities = status.capabilities.length > 0 ? `  [${status.capabilities.join(', ')}]` : '';
  return `${status.id.padEnd(12)} ${(status.ready ? 'ready' : 'not ready').padEnd(10)} ${ready}/${total} ready, ${busy} busy  since ${since}${capabilities}`;
}
