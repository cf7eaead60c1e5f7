/**
 * Forwarding the inspection stream to Stately's inspector, for users who want its UI: coord
 * connects to a `@statelyai/inspect` WebSocket server (its `createWebSocketInspector` default
 * is `ws://localhost:8080`) as an inspected application does, and sends every Stately
 * inspection event (coord's own replay and drop markers are not Stately's, so they stay
 * home). A server that is down or goes away is tried again every few seconds; nothing is
 * buffered for it meanwhile beyond the hub's bound.
 */
import WebSocket from 'ws';
import type { Logger } from '../log/logger.js';
import type { InspectionHub } from './hub.js';

/** How long to wait before connecting again. */
const RETRY_MS = 5_000;

/** Starts forwarding `hub` to `url`; returns the stop. */
export function bridgeToStately(hub: InspectionHub, url: string, logger: Logger): () => void {
  let stopped = false;
  let socket: WebSocket | undefined;
  let unsubscribe: (() => void) | undefined;
  let retry: NodeJS.Timeout | undefined;
  const connect = (): void => {
    if (stopped) return;
    const ws = new WebSocket(url);
    socket = ws;
    ws.on('open', () => {
      logger.info({ url }, 'forwarding the inspection stream to Stately\'s inspector');
      unsubscribe = hub.subscribe({
        send: (text) => {
          if (!text.startsWith('{"type":"coord.')) ws.send(text);
        },
        backlog: () => ws.bufferedAmount,
      });
    });
    const lost = (): void => {
      unsubscribe?.();
      unsubscribe = undefined;
      if (stopped || retry !== undefined) return;
      retry = setTimeout(() => {
        retry = undefined;
        connect();
      }, RETRY_MS);
      retry.unref();
    };
    ws.on('close', lost);
    ws.on('error', (error) => {
      logger.debug({ url, err: error }, 'Stately inspector not reachable; trying again');
      lost();
    });
  };
  connect();
  return () => {
    stopped = true;
    clearTimeout(retry);
    unsubscribe?.();
    socket?.close();
  };
}
