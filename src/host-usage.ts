import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { TaskUsage } from './runner.js';
import { statFields } from './process-group.js';

/**
 * Clock ticks per second of /proc/<pid>/stat times (sysconf(_SC_CLK_TCK), `getconf CLK_TCK`). Linux fixes USER_HZ
 * at 100 in its user-space ABI on every architecture Node supports (verified: `getconf CLK_TCK` prints 100 here),
 * so it is not asked at run time (that would spawn getconf).
 */
export const CLK_TCK = 100;
/** How often the task's process tree is sampled for peak memory. */
export const SAMPLE_INTERVAL_MS = 250;
export const HOST_USAGE_METHOD = 'proc-children-rusage+proc-sampling';

/** cutime + cstime of /proc/<pid>/stat (fields 16, 17): CPU ticks of the children this process has reaped, and theirs. */
export function childTicks(statText: string): number {
  const f = statFields(statText) ?? [];
  return Number(f[13]) + Number(f[14]);
}

/** VmHWM (peak resident set) of /proc/<pid>/status in bytes; undefined for a zombie or kernel thread. */
export function vmHwmBytes(statusText: string): number | undefined {
  const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(statusText);
  return m ? Number(m[1]) * 1024 : undefined;
}

const read = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined; // the process ended between listing and reading
  }
};

/** The pid and all its descendants now. /proc/<pid>/task/<tid>/children when the kernel has it, else a ppid scan of /proc. */
export function processTree(root: number, proc = '/proc'): number[] {
  const out = [root];
  if (existsSync(`${proc}/${root}/task/${root}/children`)) {
    for (let i = 0; i < out.length; i++) {
      let tids: string[];
      try {
        tids = readdirSync(`${proc}/${out[i]}/task`);
      } catch {
        continue;
      }
      // A thread's children file lists the children it forked; a multi-threaded task forks from any of them.
      for (const tid of tids) for (const c of (read(`${proc}/${out[i]}/task/${tid}/children`) ?? '').split(' ')) if (c.trim()) out.push(Number(c));
    }
    return out;
  }
  // No CONFIG_PROC_CHILDREN (e.g. some VM kernels): every process's ppid, then a walk down from the root.
  const kids = new Map<number, number[]>();
  let entries: string[];
  try {
    entries = readdirSync(proc);
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const stat = read(`${proc}/${e}/stat`);
    if (!stat) continue;
    const ppid = Number(statFields(stat)?.[1]);
    const list = kids.get(ppid);
    if (list) list.push(Number(e));
    else kids.set(ppid, [Number(e)]);
  }
  for (let i = 0; i < out.length; i++) out.push(...(kids.get(out[i]) ?? []));
  return out;
}

/** A meter for one host task; start before spawning, watch(pid) after, stop() once the child is reaped. */
export interface HostUsageMeter {
  watch(pid: number | undefined): void;
  stop(): TaskUsage;
}

/**
 * Resource usage of a task run as a child process of this one (local, singularity, charliecloud runners).
 *
 * CPU: the delta of this process's cutime+cstime across the task, i.e. getrusage(RUSAGE_CHILDREN) times: the
 * whole tree the task waited for (its own children included). A process the task left running (reparented to
 * init) is not counted, and nor is anything else this process spawned and reaped meanwhile (the CLI spawns
 * nothing else during a task).
 *
 * Memory: ru_maxrss semantics (the largest single process's peak RSS), but sampled: every SAMPLE_INTERVAL_MS the
 * task's process tree is listed and each member's VmHWM read; a process living less than one interval may be
 * missed, and growth in a process's last interval too.
 */
export function hostUsageMeter(opts: { proc?: string; intervalMs?: number; platform?: NodeJS.Platform } = {}): HostUsageMeter {
  const proc = opts.proc ?? '/proc';
  if ((opts.platform ?? process.platform) !== 'linux') {
    const method = `unavailable: not Linux (no /proc to read children's times and memory from on ${opts.platform ?? process.platform})`;
    return { watch() {}, stop: () => ({ cpu_ms: null, max_rss_bytes: null, method }) };
  }
  const selfStat = () => read(`${proc}/self/stat`);
  const before = selfStat();
  let timer: NodeJS.Timeout | undefined;
  let peak: number | undefined;
  let root: number | undefined;
  const sample = () => {
    if (root === undefined) return;
    for (const pid of processTree(root, proc)) {
      const hwm = vmHwmBytes(read(`${proc}/${pid}/status`) ?? '');
      if (hwm !== undefined && (peak === undefined || hwm > peak)) peak = hwm;
    }
  };
  return {
    watch(pid) {
      if (pid === undefined || before === undefined) return;
      root = pid;
      sample();
      timer = setInterval(sample, opts.intervalMs ?? SAMPLE_INTERVAL_MS);
      timer.unref(); // never what keeps the CLI alive
    },
    stop() {
      clearInterval(timer);
      const after = selfStat();
      if (before === undefined || after === undefined) return { cpu_ms: null, max_rss_bytes: null, method: `unavailable: ${proc}/self/stat cannot be read` };
      const ticks = childTicks(after) - childTicks(before);
      return { cpu_ms: Number.isFinite(ticks) ? Math.round((ticks * 1000) / CLK_TCK) : null, max_rss_bytes: peak ?? null, method: HOST_USAGE_METHOD };
    },
  };
}
