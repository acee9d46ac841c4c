import { expect } from 'chai';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/cli.js';
import { childTicks, hostUsageMeter, processTree, vmHwmBytes } from '../../src/host-usage.js';

/** A /proc/<pid>/stat line: pid (comm) state ppid ... utime stime cutime cstime (fields 14-17). */
const stat = (pid: number, comm: string, ppid: number, cutime = 0, cstime = 0) => `${pid} (${comm}) S ${ppid} ${pid} ${pid} 0 -1 4194304 100 0 0 0 7 3 ${cutime} ${cstime} 20 0 1 0 100 1000 200\n`;

describe('host task usage (src/host-usage.ts)', () => {
  it('children CPU ticks from /proc/self/stat, whatever the command name holds', () => {
    expect(childTicks(stat(10, 'node', 1, 250, 30))).to.equal(280);
    expect(childTicks(stat(10, 'we(ird) name) S 9', 1, 5, 6))).to.equal(11);
  });

  it('VmHWM from /proc/<pid>/status in bytes; none for a zombie', () => {
    expect(vmHwmBytes('Name:\tnode\nVmPeak:\t  900 kB\nVmHWM:\t   51200 kB\nVmRSS:\t 100 kB\n')).to.equal(51200 * 1024);
    expect(vmHwmBytes('Name:\tnode\nState:\tZ (zombie)\n')).to.equal(undefined);
  });

  describe('the process tree of the task', () => {
    let proc: { dir: string; cleanup: () => void };
    beforeEach(() => (proc = tempDir('mlcube-fakeproc-')));
    afterEach(() => proc.cleanup());
    // 100 -> 101 -> 103, 100 -> 102; 200 is someone else's (child of 1).
    const tree: [number, number][] = [
      [100, 50],
      [101, 100],
      [102, 100],
      [103, 101],
      [200, 1],
    ];
    const write = (children: boolean) => {
      for (const [pid, ppid] of tree) {
        mkdirSync(join(proc.dir, String(pid), 'task', String(pid)), { recursive: true });
        writeFileSync(join(proc.dir, String(pid), 'stat'), stat(pid, `p${pid}`, ppid));
        if (children)
          writeFileSync(
            join(proc.dir, String(pid), 'task', String(pid), 'children'),
            tree
              .filter(([, pp]) => pp === pid)
              .map(([p]) => `${p} `)
              .join(''),
          );
      }
      if (children) {
        // A second thread of 101 that forked 104.
        mkdirSync(join(proc.dir, '101', 'task', '105'));
        writeFileSync(join(proc.dir, '101', 'task', '105', 'children'), '104 ');
        mkdirSync(join(proc.dir, '104', 'task', '104'), { recursive: true });
        writeFileSync(join(proc.dir, '104', 'task', '104', 'children'), '');
      }
    };
    it('from /proc/<pid>/task/<tid>/children, every thread', () => {
      write(true);
      expect(processTree(100, proc.dir).sort()).to.deep.equal([100, 101, 102, 103, 104]);
    });
    it('from a ppid scan of /proc when the kernel has no children files', () => {
      write(false);
      expect(processTree(100, proc.dir).sort()).to.deep.equal([100, 101, 102, 103]);
    });
  });

  it('not Linux: nulls and why', () => {
    const m = hostUsageMeter({ platform: 'darwin' });
    m.watch(123);
    expect(m.stop()).to.deep.equal({ cpu_ms: null, max_rss_bytes: null, method: "unavailable: not Linux (no /proc to read children's times and memory from on darwin)" });
  });

  it('no readable /proc/self/stat: nulls and why', () => {
    const m = hostUsageMeter({ proc: '/nonexistent-proc', platform: 'linux' });
    m.watch(123);
    expect(m.stop()).to.deep.equal({ cpu_ms: null, max_rss_bytes: null, method: 'unavailable: /nonexistent-proc/self/stat cannot be read' });
  });
});
