/**
 * Notices a running task going silent: `quietAfterMs` after its last output (or its start)
 * it calls `onQuiet` once, and again only after the task has printed something and gone
 * silent anew. A prompt nobody answers looks exactly like this.
 */
export interface QuietWatch {
  /** The task printed something. */
  heard(): void;
  stop(): void;
}

export function createQuietWatch(quietAfterMs: number | null, onQuiet: (quietMs: number) => void): QuietWatch {
  if (quietAfterMs === null) return { heard: () => undefined, stop: () => undefined };
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => onQuiet(quietAfterMs), quietAfterMs);
    timer.unref();
  };
  arm();
  return {
    heard: arm,
    stop: () => clearTimeout(timer),
  };
}
