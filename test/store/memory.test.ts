/** The store contract against the in-memory store (the reference). */
import { MemoryStore } from '../../src/store/memory-store.js';
import { describeStoreContract } from './contract.js';

describeStoreContract(
  'memory',
  async (options) => {
    const store = new MemoryStore(options);
    await store.open();
    return { store, url: 'memory:', cleanup: () => store.close() };
  },
  { shared: false, durable: false, processes: false, exclusiveReaper: false },
);
