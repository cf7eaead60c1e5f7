/**
 * Payload safety: what is handed to an agent (a prompt, later a message) is text only, of a
 * bounded size, with every control character but newline and tab removed — terminal escape
 * sequences whole, so nothing typed into a PTY or put in an argv can drive the terminal.
 * A payload that is refused is refused whole, before anything reaches the agent.
 */
import { CoordError } from '../errors.js';

/** The default bound on a prompt or message, in UTF-8 bytes. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 64 * 1024;

// CSI (ESC [ … final), OSC (ESC ] … BEL or ESC \), other two-byte escapes, and the C1 forms.
const ESCAPES = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|\u001b[@-Z\\-_]|\u009b[0-?]*[ -/]*[@-~]|\u009d[^\u0007\u001b]*(?:\u0007|\u001b\\)?/g;
// C0 but tab and newline, DEL, C1.
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Removes escape sequences and control characters (a `\r\n` becomes `\n`). Pure. */
export function cleanPayload(text: string): string {
  return text.replace(/\r\n/g, '\n').replace(ESCAPES, '').replace(CONTROLS, '');
}

/**
 * Checks and cleans a payload: `PAYLOAD_INVALID` when it is not text (not a string, lone
 * surrogates) or nothing is left once cleaned, `PAYLOAD_TOO_LARGE` when it is over `maxBytes`
 * (measured before cleaning, so the bound is what the sender sent). `what` names it in the
 * message (e.g. `tasks[2].prompt`).
 */
export function checkPayload(value: unknown, what: string, maxBytes = DEFAULT_MAX_PAYLOAD_BYTES): string {
  if (typeof value !== 'string') throw new CoordError('PAYLOAD_INVALID', `${what} must be text, not ${value === null ? 'null' : typeof value}`, { details: { what } });
  if (LONE_SURROGATE.test(value)) throw new CoordError('PAYLOAD_INVALID', `${what} is not valid Unicode text (a lone surrogate)`, { details: { what } });
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > maxBytes) {
    throw new CoordError('PAYLOAD_TOO_LARGE', `${what} is ${bytes} bytes, over the limit of ${maxBytes}`, { details: { what, bytes, maxBytes } });
  }
  const cleaned = cleanPayload(value);
  if (cleaned.trim() === '') throw new CoordError('PAYLOAD_INVALID', `${what} is empty${value === '' ? '' : ' once control characters are removed'}`, { details: { what } });
  return cleaned;
}
