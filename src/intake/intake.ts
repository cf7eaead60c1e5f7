/**
 * The supervisor's inbox (`inbox` option, `--inbox DIR`): task files dropped there are
 * submitted like `coord submit FILE` and announced as `coord:intake`. The folder's handling
 * (claims, accepted/, rejected/) is {@link watchInbox}'s.
 */
import type { Logger } from '../log/logger.js';
import type { SupervisorEventBus } from '../supervisor/events.js';
import type { TaskSpec } from '../tasks/spec.js';
import { watchInbox, type Inbox } from './inbox.js';

export interface IntakeOptions {
  dir: string;
  nodeId: string;
  events: SupervisorEventBus;
  logger: Logger;
  /** The supervisor's own submit: all or nothing, with its checks. */
  submit(specs: TaskSpec[]): Promise<string[]>;
}

/** A started inbox. */
export interface Intake {
  /** Resolves once what was there at the start has been looked at and the folder is watched. */
  ready: Promise<void>;
  close(): Promise<void>;
}

export function startIntake(options: IntakeOptions): Intake {
  const { events, logger } = options;
  const inbox: Inbox = watchInbox({
    dir: options.dir,
    nodeId: options.nodeId,
    logger,
    submit: (specs) => options.submit(specs),
    onAccepted: ({ file, ids }) => events.emit('coord:intake', { file, status: 'accepted', ids, error: null }),
    onRejected: ({ file, error }) =>
      events.emit('coord:intake', { file, status: 'rejected', ids: [], error: { code: error.code, message: error.message, line: error.line, column: error.column } }),
  });
  inbox.ready.then(
    () => logger.info({ inbox: options.dir }, 'watching the inbox for task files'),
    (error: unknown) => logger.error({ err: error, inbox: options.dir }, 'could not watch the inbox'),
  );
  return { ready: inbox.ready.catch(() => undefined), close: () => inbox.close() };
}
