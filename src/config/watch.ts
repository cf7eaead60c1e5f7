/**
 * Watching the config file for the daemon: one `onChange` per burst of edits, once the file
 * has been quiet for `debounceMs`, and `onError` when it is gone.
 *
 * The directory is watched, not the file. Editors save in two ways: in place (truncate, then
 * write: two events, and a reader between them sees an empty file — the debounce is what
 * keeps coord from loading that), or by writing a temporary file and renaming it over the
 * old one (vim, `mv tmp coord.yaml`), which replaces the inode. A watch on the file's own
 * inode can stop hearing after a rename; a watch on the directory hears the new file appear
 * whatever happened to the old one, and also hears a file that was deleted come back.
 *
 * When the quiet period ends, the file is looked at rather than the last event trusted: a
 * rename-save can show as `unlink` then `add`, and only what is there at the end counts.
 * Present: `onChange`. Missing: `onError` (a deleted config is not an empty one); a file put
 * back later is a change again.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { watch } from 'chokidar';
import { CoordError } from '../errors.js';

/** What {@link watchConfigFile} calls. */
export interface ConfigWatchOptions {
  /** How long the file must be quiet after an event before it is read; default 500 ms. */
  debounceMs?: number;
  /** The file changed (or came back): read it again. */
  onChange(): void;
  /** The file is gone (`CONFIG_INVALID`), or the watch failed. */
  onError(error: Error): void;
}

/** A running watch. */
export interface ConfigWatch {
  /** Resolves once the watch is in place: edits from then on are heard. */
  ready: Promise<void>;
  /** Stops watching; no callback is called after it resolves. */
  close(): Promise<void>;
}

/**
 * Watches `configFile`.
 *
 * @example
 * const watcher = watchConfigFile(config.file, {
 *   onChange: () => void reloadConfig(config).then(apply, keepAndLog),
 *   onError: (error) => logger.warn({ err: error }, 'config file'),
 * });
 * await watcher.ready;
 */
export function watchConfigFile(configFile: string, options: ConfigWatchOptions): ConfigWatch {
  const { debounceMs = 500, onChange, onError } = options;
  const file = path.resolve(configFile);
  const dir = path.dirname(file);
  let closed = false;
  let timer: NodeJS.Timeout | undefined;

  const watcher = watch(dir, {
    depth: 0,
    ignoreInitial: true,
    // Only the file: the directory (a repository root) may hold much else.
    ignored: (entry) => entry !== dir && entry !== file,
  });

  const settle = async (): Promise<void> => {
    timer = undefined;
    const present = await stat(file).then((stats) => stats.isFile(), () => false);
    // An edit may have come in while the file was looked at: its own timer decides.
    if (closed || timer !== undefined) return;
    if (present) onChange();
    else onError(new CoordError('CONFIG_INVALID', `${file}: the config file was removed`, { details: { file } }));
  };
  const schedule = (): void => {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(() => void settle(), debounceMs);
  };

  watcher.on('all', (_event, entry) => {
    if (entry === file) schedule();
  });
  watcher.on('error', (error) => {
    if (!closed) onError(error instanceof Error ? error : new Error(String(error)));
  });
  const ready = new Promise<void>((resolve) => watcher.once('ready', () => resolve()));

  return {
    ready,
    async close() {
      closed = true;
      clearTimeout(timer);
      await watcher.close();
    },
  };
}
