/**
 * The three store backends as the store benchmarks open them: a fresh, empty store per call
 * (memory; SQLite in a temporary folder; PostgreSQL in a schema of its own, dropped
 * afterwards), from the build. The PostgreSQL store uses `BENCH_COORD_PG_URL`, by default the
 * local database pg-boss uses in the dispatch benchmark (see peers.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { TaskStore } from '../../src/store/task-store.js';
import { loadDist } from './coord.js';
import { postgresConnection } from './peers.js';

type OpenStoreModule = typeof import('../../src/store/open-store.js');

const { user, host, port, database } = postgresConnection;
const PG_URL = process.env.BENCH_COORD_PG_URL ?? `postgres://${user}@${host}:${port}/${database}`;

/** An open store and what removes it. */
export interface OpenedStore {
  store: TaskStore;
  cleanup: () => Promise<void>;
}

/** One backend: its name in the tables, and how to open a fresh store of it. */
export interface BenchStore {
  name: 'memory' | 'SQLite' | 'PostgreSQL';
  open(): Promise<OpenedStore>;
}

/** Memory, SQLite and PostgreSQL, in that order. */
export async function benchStores(): Promise<BenchStore[]> {
  const { openStore } = await loadDist<OpenStoreModule>('src/store/open-store.js');
  return [
    {
      name: 'memory',
      open: async () => {
        const store = await openStore('memory:');
        return { store, cleanup: () => store.close() };
      },
    },
    {
      name: 'SQLite',
      open: async () => {
        const dir = await mkdtemp(join(tmpdir(), 'coord-bench-'));
        const store = await openStore(`sqlite:${join(dir, 'coord.db')}`);
        return {
          store,
          cleanup: async () => {
            await store.close();
            await rm(dir, { recursive: true, force: true });
          },
        };
      },
    },
    {
      name: 'PostgreSQL',
      open: async () => {
        const schema = `coord_bench_${process.pid}_${Date.now().toString(36)}`;
        const dropSchema = async (): Promise<void> => {
          const client = new pg.Client({ connectionString: PG_URL });
          await client.connect();
          try {
            await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
          } finally {
            await client.end();
          }
        };
        const store = await openStore(`${PG_URL}?schema=${schema}`).catch(async (error: unknown) => {
          await dropSchema().catch(() => undefined);
          throw error;
        });
        return {
          store,
          cleanup: async () => {
            await store.close();
            await dropSchema();
          },
        };
      },
    },
  ];
}
