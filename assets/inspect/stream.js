// coord inspector: the `/inspect/stream` WebSocket, reconnecting with backoff.
//
// The socket is same-origin; the browser sends coord's HttpOnly cookie with the upgrade,
// so nothing here deals with authentication.

const BACKOFF_MS = [500, 1000, 2000, 4000, 8000];
const MAX_BACKOFF_MS = 10000;

/** The stream's URL for this page: `ws(s)://<host>/inspect/stream`. */
export function streamUrl(loc = window.location) {
  const proto = loc.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${proto}//${loc.host}/inspect/stream`;
}

/**
 * Connects and stays connected. `handlers`: `onOpen()`, `onMessage(msg)` (parsed JSON),
 * `onBadFrame(text)`, `onStatus({ state: 'connecting'|'connected'|'reconnecting', attempt, delayMs })`.
 * Returns `{ close() }`.
 */
export function connectStream(url, handlers) {
  let socket = null;
  let attempt = 0;
  let timer = null;
  let closed = false;

  const status = (state, extra = {}) => handlers.onStatus && handlers.onStatus({ state, attempt, ...extra });

  const scheduleReconnect = () => {
    if (closed || timer !== null) return;
    const base = BACKOFF_MS[Math.min(attempt, BACKOFF_MS.length - 1)] ?? MAX_BACKOFF_MS;
    const delayMs = Math.min(MAX_BACKOFF_MS, Math.round(base * (1 + Math.random() * 0.2)));
    attempt += 1;
    status('reconnecting', { delayMs });
    timer = setTimeout(() => {
      timer = null;
      open();
    }, delayMs);
  };

  const open = () => {
    if (closed) return;
    status(attempt === 0 ? 'connecting' : 'reconnecting', { delayMs: 0 });
    let ws;
    try {
      ws = new WebSocket(url);
    } catch {
      scheduleReconnect();
      return;
    }
    socket = ws;
    ws.addEventListener('open', () => {
      if (socket !== ws) return;
      attempt = 0;
      status('connected');
      handlers.onOpen && handlers.onOpen();
    });
    ws.addEventListener('message', (ev) => {
      if (socket !== ws) return;
      const text = typeof ev.data === 'string' ? ev.data : '';
      let msg;
      try {
        msg = JSON.parse(text);
      } catch {
        handlers.onBadFrame && handlers.onBadFrame(text);
        return;
      }
      if (msg && typeof msg === 'object') handlers.onMessage(msg);
      else handlers.onBadFrame && handlers.onBadFrame(text);
    });
    ws.addEventListener('close', () => {
      if (socket !== ws) return;
      socket = null;
      handlers.onClose && handlers.onClose();
      scheduleReconnect();
    });
    // An error is always followed by `close`, which reconnects.
    ws.addEventListener('error', () => {});
  };

  open();
  return {
    close() {
      closed = true;
      if (timer !== null) clearTimeout(timer);
      if (socket) socket.close();
    },
  };
}
