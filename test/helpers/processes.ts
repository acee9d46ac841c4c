import { existsSync, readFileSync, statSync } from 'node:fs';

/** The state letter of a process (/proc/<pid>/stat), undefined when there is none. */
export function procState(pid: number): string | undefined {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return st.slice(st.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

/** Running, as far as anyone can tell: a zombie (dead, not yet reaped by a PID 1 that may never reap it) is not. */
export const alive = (pid: number) => {
  const s = procState(pid);
  return s !== undefined && s !== 'Z' && s !== 'X';
};

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` every 50 ms for up to `ms`; true once it held. */
export async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  for (const until = Date.now() + ms; Date.now() < until; await sleep(50)) if (cond()) return true;
  return cond();
}

/** Size of a file, 0 when it does not exist. */
export const sizeOf = (f: string) => (existsSync(f) ? statSync(f).size : 0);

/** The pids a fixture task wrote into its marker ("<pid>" or "<pid> <child pid>"), once it wrote them. */
export async function markerPids(marker: string, ms = 30_000): Promise<number[]> {
  const read = () => (existsSync(marker) ? readFileSync(marker, 'utf8').trim() : '');
  await waitFor(() => /^\d+( \d+)?$/.test(read()), ms);
  const text = read();
  if (!/^\d+( \d+)?$/.test(text)) throw new Error(`the task wrote no pid into ${marker} within ${ms} ms (it holds ${JSON.stringify(text)})`);
  return text.split(' ').map(Number);
}
