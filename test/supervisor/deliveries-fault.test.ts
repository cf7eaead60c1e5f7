/**
 * A storage fault met by the mailbox's polling pass ends the run like every other store
 * fault (src/supervisor/fault-stop.ts): it is handed to the fault stop, which logs it once,
 * and the pass does not log its own warning with the whole error on top (one per poll).
 */
import { describe, expect, it, vi } from 'vitest';
import { CoordError } from '../../src/errors.js';
import { silentLogger, type Logger } from '../../src/log/logger.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { SupervisorEventBus } from '../../src/supervisor/events.js';
import { Deliveries } from '../../src/supervisor/mailbox/deliveries.js';
import { resolveOptions } from '../../src/supervisor/options.js';

describe('the mailbox pass and storage faults', () => {
  it('hands a storage fault to the fault stop instead of warning about it', async () => {
    const store = new MemoryStore();
    const corrupt = new CoordError('STORE_CORRUPT', 'the SQLite store /s/coord.db is corrupt (SQLITE_CORRUPT: database disk image is malformed)');
    vi.spyOn(store.mailbox, 'unread').mockRejectedValue(corrupt);
    const warnings: string[] = [];
    const logger: Logger = Object.assign(silentLogger(), { warn: (_fields: unknown, message?: string) => void warnings.push(String(message)) });
    const faults: unknown[] = [];
    const deliveries = new Deliveries({
      store, events: new SupervisorEventBus(), logger, nodeId: 'n1', config: resolveOptions({ repo: '/r' }).mailbox, agents: () => ({}),
      input: () => false, interrupt: async () => undefined, sessionOf: () => undefined, changed: async () => undefined, now: Date.now,
      fault: (error) => {
        faults.push(error);
        return true;
      },
    });
    deliveries.start();
    await vi.waitFor(() => expect(faults).toEqual([corrupt]));
    deliveries.stop();
    expect(warnings).toEqual([]);
  });
});
