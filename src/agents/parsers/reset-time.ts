/**
 * When a rate limit lifts, read from the words a CLI uses for it. Pure: `now` (epoch ms) is
 * passed in. What the CLIs say, seen or documented:
 *
 * - a wait: Codex/OpenAI "Please try again in 20s", Gemini "Your quota will reset after
 *   1h49m8s" and "Please retry in 12.5s", Claude Code "resets in 3h";
 * - a moment: Claude Code's older "Claude AI usage limit reached|1735000000" (epoch seconds),
 *   "You've hit your session limit · resets 5pm (Australia/Brisbane)", "resets Mon 12:00am",
 *   "resets Sep 24 at 3pm (…)", Codex "try again at 8:50 AM." (the machine's local time) or
 *   "try again at Jul 9th, 2026 1:47 AM." when it is not today, ISO timestamps.
 *
 * A clock time with no zone is read in this process's zone (the CLI ran on the same machine
 * and formatted it in its own, which is the same unless the profile's env sets TZ); a named
 * zone is honoured through Intl. A time of day already past today means tomorrow; a date
 * without a year already past this year means next year.
 */

export interface ResetTime {
  /** How long to wait, when the text says so as a duration. */
  retryAfterMs: number | null;
  /** When it lifts, when the text says so as a moment. */
  resetAt: number | null;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

function unitOf(word: string): string | null {
  const w = word.toLowerCase();
  if (w === 'ms' || w.startsWith('millisecond')) return 'ms';
  if (w === 's' || w.startsWith('sec')) return 's';
  if (w === 'm' || w.startsWith('min')) return 'm';
  if (w === 'h' || w === 'hr' || w === 'hrs' || w.startsWith('hour')) return 'h';
  if (w === 'd' || w.startsWith('day')) return 'd';
  return null;
}

/** "1h49m8s", "2 hours 30 minutes", "12.5s", "250ms" → ms; null when no unit is recognised. */
export function parseDuration(text: string): number | null {
  // No `\b` after the unit: in "1h49m8s" a digit follows it.
  const part = /(\d+(?:\.\d+)?)\s*(milliseconds?|ms|seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|hr|h|days?|d)(?![a-z])/gi;
  let total = 0;
  let found = false;
  let last = -1;
  for (const match of text.matchAll(part)) {
    // Only one run of adjacent parts ("1h 30m", "1 hour and 30 minutes"), not numbers further on.
    if (last !== -1 && !/^(?:\s|,|and)*$/i.test(text.slice(last, match.index))) break;
    const unit = unitOf(match[2]!);
    if (unit === null) break;
    total += Number(match[1]) * UNIT_MS[unit]!;
    found = true;
    last = match.index + match[0].length;
  }
  return found ? Math.round(total) : null;
}

/** The offset (ms) of `timeZone` from UTC at `at`, or null for an unknown zone. */
function zoneOffsetMs(timeZone: string, at: number): number | null {
  try {
    const parts = new Intl.DateTimeFormat('en-US', {
      timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
    }).formatToParts(new Date(at));
    const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
    const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
    return asUtc - Math.floor(at / 1000) * 1000;
  } catch {
    return null;
  }
}

/** Epoch ms of a wall-clock time in `zone` (null: this process's zone); null for an unknown zone. */
function wallToEpoch(y: number, month: number, day: number, hour: number, minute: number, zone: string | null): number | null {
  if (zone === null) return new Date(y, month, day, hour, minute, 0, 0).getTime();
  const guess = Date.UTC(y, month, day, hour, minute);
  const offset = zoneOffsetMs(zone, guess);
  if (offset === null) return null;
  // Once more at the corrected moment, in case a DST change lies between.
  const second = zoneOffsetMs(zone, guess - offset) ?? offset;
  return guess - second;
}

/** Today's date on the wall clock of `zone` at `now`. */
function wallDate(now: number, zone: string | null): { y: number; month: number; day: number; weekday: number } | null {
  if (zone === null) {
    const d = new Date(now);
    return { y: d.getFullYear(), month: d.getMonth(), day: d.getDate(), weekday: d.getDay() };
  }
  const offset = zoneOffsetMs(zone, now);
  if (offset === null) return null;
  const d = new Date(now + offset);
  return { y: d.getUTCFullYear(), month: d.getUTCMonth(), day: d.getUTCDate(), weekday: d.getUTCDay() };
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const MONTH = String.raw`(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?`;
const WEEKDAY = String.raw`(sun|mon|tue|wed|thu|fri|sat)[a-z]*\.?`;
const CLOCK = String.raw`(\d{1,2})(?::(\d{2}))?\s*([ap]\.?m\.?)?`;
const ZONE = String.raw`(?:\(?\s*(UTC|GMT|Z|[A-Za-z]+\/[A-Za-z_]+(?:\/[A-Za-z_]+)?)\s*\)?)?`;
/**
 * "3pm", "8:50 AM", "15:00", "Mon 12:00am", "Sep 24 at 3pm", "Jul 9th, 2026 1:47 AM",
 * "Aug 10, 2026, 11:12 AM", each with an optional zone after it ("UTC", "(Europe/Paris)").
 */
const WALL = new RegExp(String.raw`^\s*(?:${WEEKDAY},?\s+)?(?:${MONTH}\s+(\d{1,2})(?:st|nd|rd|th)?(?:,?\s+(\d{4}))?,?\s+(?:at\s+)?)?${CLOCK}\s*${ZONE}`, 'i');

/** The moment a wall-clock phrase names: the next one after `now` when it leaves the day (or year) out. */
function parseWallTime(text: string, now: number): number | null {
  const m = WALL.exec(text);
  if (m === null) return null;
  const [, weekday, month, dayText, yearText, hourText, minuteText, meridiemText, zoneText] = m;
  // A bare number ("resets 5") is not a time.
  if (minuteText === undefined && meridiemText === undefined) return null;
  let hour = Number(hourText);
  const minute = minuteText === undefined ? 0 : Number(minuteText);
  const meridiem = meridiemText?.toLowerCase().replace(/\./g, '');
  if (meridiem !== undefined) {
    if (hour < 1 || hour > 12) return null;
    hour = (hour % 12) + (meridiem === 'pm' ? 12 : 0);
  }
  if (hour > 23 || minute > 59) return null;
  const zone = zoneText === undefined ? null : /^(UTC|GMT|Z)$/i.test(zoneText) ? 'UTC' : zoneText;
  const today = wallDate(now, zone);
  if (today === null) return null;
  if (month !== undefined) {
    const monthIndex = MONTHS.indexOf(month.toLowerCase());
    const day = Number(dayText);
    if (yearText !== undefined) return wallToEpoch(Number(yearText), monthIndex, day, hour, minute, zone);
    const thisYear = wallToEpoch(today.y, monthIndex, day, hour, minute, zone);
    return thisYear !== null && thisYear > now ? thisYear : wallToEpoch(today.y + 1, monthIndex, day, hour, minute, zone);
  }
  // The next such weekday (today if the time is still ahead), or the next such time of day.
  const wantDay = weekday === undefined ? null : WEEKDAYS.indexOf(weekday.toLowerCase().slice(0, 3));
  for (let ahead = 0; ahead <= 7; ahead += 1) {
    if (wantDay !== null && (today.weekday + ahead) % 7 !== wantDay) continue;
    const at = wallToEpoch(today.y, today.month, today.day + ahead, hour, minute, zone);
    if (at === null) return null;
    if (at > now) return at;
  }
  return null;
}

/** Reads a reset time from a message; both fields null when it says none. */
export function parseResetTime(text: string, now: number): ResetTime {
  // Claude Code's machine-readable form: "…usage limit reached|1735000000".
  const epoch = /limit reached\|(\d{10,13})\b/i.exec(text);
  if (epoch !== null) {
    const n = Number(epoch[1]);
    return { retryAfterMs: null, resetAt: n < 1e12 ? n * 1000 : n };
  }
  // "retryDelay": "34.07s" in a Google error body.
  const retryDelay = /"retryDelay"\s*:\s*"(\d+(?:\.\d+)?)s"/.exec(text);
  if (retryDelay !== null) return { retryAfterMs: Math.round(Number(retryDelay[1]) * 1000), resetAt: null };
  // A wait: "try again in 20s", "retry in 12.5s", "reset after 1h49m8s", "resets in 3 hours".
  const wait = /\b(?:try again|retry|resets?|reset after|available again|wait)\s+(?:in|after)\s+(.+)/i.exec(text) ?? /\breset after\s+(.+)/i.exec(text);
  if (wait !== null) {
    const ms = parseDuration(wait[1]!);
    if (ms !== null) return { retryAfterMs: ms, resetAt: null };
  }
  // A moment: "resets at 2026-12-03T08:50:00Z", "try again at 8:50 AM", "resets 3pm (UTC)".
  const at = /\b(?:resets?|try again|available again|retry)(?:\s+at|\s+on)?\s+(.+)/i.exec(text);
  if (at !== null) {
    const rest = at[1]!;
    const iso = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?/.exec(rest);
    if (iso !== null) {
      const parsed = Date.parse(iso[0].replace(' ', 'T'));
      if (Number.isFinite(parsed)) return { retryAfterMs: null, resetAt: parsed };
    }
    const wall = parseWallTime(rest, now);
    if (wall !== null) return { retryAfterMs: null, resetAt: wall };
  }
  return { retryAfterMs: null, resetAt: null };
}
