/**
 * `coord inspect [--no-open]`: asks the running daemon for a one-time link to its inspector
 * page (it needs the daemon's HTTP server) and prints it; opens it in a browser when there is
 * a desktop to open one in, unless `--no-open`. The link is good once, for a minute: opening
 * it sets the session cookie and leaves the address bar without the code.
 */
import { spawn } from 'node:child_process';
import { daemonFilesOf } from '../control/daemon-files.js';
import { connectControl } from '../control/socket-client.js';
import { locateState, type StateFlags } from './state.js';
import { processOut, type Out } from './store-commands.js';

/** Opens `url` with the desktop's opener when there is a desktop; false when none was tried. */
function openInBrowser(url: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const opener = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? null : env['DISPLAY'] || env['WAYLAND_DISPLAY'] ? 'xdg-open' : null;
  if (opener === null) return false;
  const child = spawn(opener, [url], { detached: true, stdio: 'ignore' });
  child.on('error', () => undefined);
  child.unref();
  return true;
}

export async function inspectCommand(flags: StateFlags & { open: boolean }, io: Out = processOut): Promise<number> {
  const { stateDir } = await locateState(flags);
  const client = await connectControl(daemonFilesOf(stateDir).socket);
  try {
    const { url } = await client.request<{ url: string }>('inspect-link');
    io.out(`${url}\n`);
    const opened = flags.open && openInBrowser(url);
    io.err(opened ? 'opening the inspector in your browser (the link works once, for a minute)\n' : 'open this link in a browser: it works once, for a minute\n');
    return 0;
  } finally {
    client.close();
  }
}
