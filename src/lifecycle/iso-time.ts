/**
 * The records' time format. Plans stamp rows with ISO-8601 text (as records show them) and
 * compute with epoch ms (as `now` comes in).
 */

let lastEpochMs = Number.NaN;
let lastIso = '';

/**
 * Epoch ms → ISO-8601. Formatting costs about as much as the rest of a task's bookkeeping
 * together, and a dispatch pass stamps many rows with the same `now`, so the last answer is
 * kept.
 */
export function isoTime(epochMs: number): string {
  if (epochMs !== lastEpochMs) {
    lastIso = new Date(epochMs).toISOString();
    lastEpochMs = epochMs;
  }
  return lastIso;
}
