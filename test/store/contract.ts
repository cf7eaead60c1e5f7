/**
 * The store contract: one suite every {@link TaskStore} backend must pass, so memory, SQLite
 * and PostgreSQL keep identical semantics. Time is always passed in (`T0`), retry jitter
 * comes from a seeded random, and one scripted run is compared call for call with the
 * in-memory reference.
 *
 * @example
 * describeStoreContract('sqlite', async (options) => { ... return { store, url, cleanup }; }, {
 *   shared: true, durable: true, processes: true, exclusiveReaper: false,
 * });
 */
import { describe } from 'vitest';
import { claimContract } from './contract/claim.js';
import { concurrencyContract } from './contract/concurrency.js';
import { deferContract } from './contract/defer.js';
import { mailboxContract } from './contract/mailbox.js';
import { ledgerContract } from './contract/ledger.js';
import { durabilityContract } from './contract/durability.js';
import type { ContractOptions, MakeStore } from './contract/helpers.js';
import { migrationContract } from './contract/migration.js';
import { outcomesContract } from './contract/outcomes.js';
import { readsContract } from './contract/reads.js';
import { recoveryContract } from './contract/recovery.js';
import { referenceContract } from './contract/reference.js';
import { releasesContract } from './contract/releases.js';
import { submitContract } from './contract/submit.js';

export type { ContractOptions, MakeStore, StoreFixture } from './contract/helpers.js';

/** Registers the whole contract for the backend `name`; `makeStore` opens a fresh, empty store each call. */
export function describeStoreContract(name: string, makeStore: MakeStore, opts: ContractOptions): void {
  describe(`store contract: ${name}`, () => {
    submitContract(makeStore);
    claimContract(makeStore);
    outcomesContract(makeStore);
    recoveryContract(makeStore);
    releasesContract(makeStore);
    deferContract(makeStore, opts);
    mailboxContract(makeStore, opts);
    ledgerContract(makeStore, opts);
    readsContract(makeStore);
    referenceContract(makeStore);
    concurrencyContract(makeStore, opts);
    durabilityContract(makeStore, opts);
    migrationContract(makeStore, opts);
  });
}
