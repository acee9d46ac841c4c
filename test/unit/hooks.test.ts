import { expect } from 'chai';
import { throughHooks, type RunHook, type TaskHookContext, type TaskOutcome } from '../../src/hooks/hook.js';
import type { PlannedTask } from '../../src/plan/run-plan.js';

const task = { name: 't', params: [], mounts: null, containerPaths: [] } as unknown as PlannedTask;
const ctx = { batch: false, run: { workspace: '/ws' } } as unknown as TaskHookContext;

/** A hook that logs `<name> in` / `<name> out` around next(), and may change what it passes on or returns. */
const logging = (name: string, log: string[], over: Partial<RunHook> = {}): RunHook => ({
  name,
  async aroundTask(_t, c, next) {
    log.push(`${name} in ${c.run.workspace}`);
    const r = await next();
    log.push(`${name} out ${r.exitCode}`);
    return r;
  },
  ...over,
});

describe('hooks around a task (src/hooks/hook.ts throughHooks)', () => {
  const run =
    (log: string[], exitCode = 0) =>
    async (c: TaskHookContext): Promise<TaskOutcome> => {
      log.push(`task in ${c.run.workspace}`);
      return { task: 't', exitCode, durationMs: 1 };
    };

  const ROWS: { what: string; hooks: (log: string[]) => RunHook[]; log: string[]; exitCode: number }[] = [
    { what: 'no hooks: the task runs', hooks: () => [], log: ['task in /ws'], exitCode: 0 },
    { what: 'the first hook is the outermost', hooks: (l) => [logging('a', l), logging('b', l)], log: ['a in /ws', 'b in /ws', 'task in /ws', 'b out 0', 'a out 0'], exitCode: 0 },
    {
      what: 'hooks without aroundTask are passed over',
      hooks: (l) => [{ name: 'x' }, logging('b', l), { name: 'y', beforeRun: () => undefined }],
      log: ['b in /ws', 'task in /ws', 'b out 0'],
      exitCode: 0,
    },
    {
      what: 'a hook passes the next ones (and the task) an extended context',
      hooks: (l) => [{ name: 'a', aroundTask: (_t, c, next) => next({ ...c, run: { ...c.run, workspace: '/other' } }) }, logging('b', l)],
      log: ['b in /other', 'task in /other', 'b out 0'],
      exitCode: 0,
    },
    {
      what: 'a hook that does not call next() skips the task with an outcome of its own',
      hooks: (l) => [logging('a', l), { name: 'cache', aroundTask: async () => ({ task: 't', exitCode: 0, durationMs: 0 }) }],
      log: ['a in /ws', 'a out 0'],
      exitCode: 0,
    },
    {
      what: 'a hook may change the outcome it passes out',
      hooks: (l) => [logging('a', l), { name: 'gate', aroundTask: async (_t, _c, next) => ({ ...(await next()), exitCode: 3 }) }],
      log: ['a in /ws', 'task in /ws', 'a out 3'],
      exitCode: 3,
    },
  ];
  for (const row of ROWS) {
    it(row.what, async () => {
      const log: string[] = [];
      const r = await throughHooks(row.hooks(log), task, ctx, run(log));
      expect(log).to.deep.equal(row.log);
      expect(r.exitCode).to.equal(row.exitCode);
    });
  }

  it('a hook calling next() twice is refused (the task would run twice)', async () => {
    const log: string[] = [];
    const twice: RunHook = { name: 'twice', aroundTask: async (_t, _c, next) => (await next(), next()) };
    const e = await throughHooks([twice], task, ctx, run(log)).then(
      () => undefined,
      (x: Error) => x,
    );
    expect(e?.message).to.equal('internal: hook "twice" called next() twice for task "t"');
    expect(log).to.deep.equal(['task in /ws']);
  });

  it('a task that throws rejects through every hook (each may act on it, e.g. record it interrupted)', async () => {
    const log: string[] = [];
    const seeing: RunHook = { name: 's', aroundTask: (_t, _c, next) => next().catch((e: Error) => (log.push(`s saw ${e.message}`), Promise.reject(e))) };
    const e = await throughHooks([seeing], task, ctx, () => Promise.reject(new Error('boom'))).then(
      () => undefined,
      (x: Error) => x,
    );
    expect(e?.message).to.equal('boom');
    expect(log).to.deep.equal(['s saw boom']);
  });
});
