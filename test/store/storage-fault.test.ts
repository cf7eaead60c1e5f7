import { describe, expect, it } from 'vitest';
import { CoordError } from '../../src/errors.js';
import { isStorageFault, moveAsideCommand, storageFault, storageFaultCode } from '../../src/store/storage-fault.js';

describe('storageFaultCode', () => {
  it.each([
    ['ENOSPC', 'DISK_FULL'],
    ['EDQUOT', 'DISK_FULL'],
    ['SQLITE_FULL', 'DISK_FULL'],
    ['EROFS', 'STATE_DIR_UNWRITABLE'],
    ['EACCES', 'STATE_DIR_UNWRITABLE'],
    ['EPERM', 'STATE_DIR_UNWRITABLE'],
    ['ENOTDIR', 'STATE_DIR_UNWRITABLE'],
    ['SQLITE_READONLY', 'STATE_DIR_UNWRITABLE'],
    ['SQLITE_READONLY_DBMOVED', 'STATE_DIR_UNWRITABLE'],
    ['SQLITE_CANTOPEN', 'STATE_DIR_UNWRITABLE'],
    ['SQLITE_CORRUPT', 'STORE_CORRUPT'],
    ['SQLITE_CORRUPT_INDEX', 'STORE_CORRUPT'],
    ['SQLITE_NOTADB', 'STORE_CORRUPT'],
    ['SQLITE_IOERR_SHORT_READ', 'STORE_UNAVAILABLE'],
    ['EIO', 'STORE_UNAVAILABLE'],
  ])('%s → %s', (raw, code) => {
    expect(storageFaultCode(raw)).toBe(code);
  });

  it.each(['ENOENT', 'SQLITE_BUSY', 'SQLITE_CONSTRAINT_PRIMARYKEY', 'ECONNREFUSED', ''])('%s is not a storage fault', (raw) => {
    expect(storageFaultCode(raw)).toBeNull();
  });
});

describe('storageFault', () => {
  it('wraps a raw SQLite error with the path and the mv command', () => {
    const raw = Object.assign(new Error('database disk image is malformed'), { code: 'SQLITE_CORRUPT' });
    const err = storageFault(raw, { kind: 'store', path: '/nonexistent/state/coord.db' });
    expect(err?.code).toBe('STORE_CORRUPT');
    expect(err?.message).toContain('/nonexistent/state/coord.db');
    expect(err?.message).toContain('mv /nonexistent/state/coord.db /nonexistent/state/coord.db.corrupt');
    expect(err?.details).toMatchObject({ path: '/nonexistent/state/coord.db', errno: 'SQLITE_CORRUPT' });
    expect(isStorageFault(err)).toBe(true);
  });

  it('keeps a storage fault as it is and refuses anything else', () => {
    const fault = new CoordError('DISK_FULL', 'full');
    expect(storageFault(fault, { kind: 'file', path: '/x' })).toBe(fault);
    expect(storageFault(new CoordError('TASK_EXISTS', 'x'), { kind: 'file', path: '/x' })).toBeNull();
    expect(storageFault(new TypeError('bug'), { kind: 'file', path: '/x' })).toBeNull();
  });

  it('quotes paths the shell would split', () => {
    expect(moveAsideCommand("/tmp/it's here/coord.db")).toBe(`mv '/tmp/it'\\''s here/coord.db' '/tmp/it'\\''s here/coord.db.corrupt'`);
  });
});
