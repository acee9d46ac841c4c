import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { buildConfig } from '../../src/config/build.js';
import type { Tree } from '../../src/config/tree.js';
import { createLogger } from '../../src/log.js';
import { realFs } from '../../src/params/fs-probe.js';
import { resolveTask, type ResolvedTask } from '../../src/params/resolve.js';
import type { RunContext, Runner, RunnerDescription, RunnerSettings, TaskIo } from '../../src/runner.js';
import { RUNNERS } from '../../runners/index.js';

/** A Writable that keeps what it is given (a TaskIo stream in tests). */
export class Collect extends Writable {
  readonly chunks: Buffer[] = [];
  constructor(opts: { highWaterMark?: number } = {}) {
    super(opts);
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.chunks.push(chunk);
    cb();
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

/** TaskIo with collecting streams and a fresh metrics directory (what the recorder will give runners). */
export function testTaskIo(): TaskIo & { stdout: Collect; stderr: Collect; cleanup(): void } {
  const metricsDir = mkdtempSync(join(tmpdir(), 'mlcube-metrics-'));
  return { stdout: new Collect(), stderr: new Collect(), metricsDir, cleanup: () => rmSync(metricsDir, { recursive: true, force: true }) };
}

/**
 * A runner, one resolved task and its RunContext for a cube on the built-in platform of `runner` (typed by its
 * description), as `mlcube run` makes them (without the run record), so a test can call runner.run directly with a
 * TaskIo. Output directories are created as run does.
 */
export async function taskContext<S extends RunnerSettings>(o: {
  cube: string;
  runner: RunnerDescription<S>;
  task: string;
  params?: string[];
  env?: Record<string, string | undefined>;
  taskIo?: TaskIo;
}): Promise<{ runner: Runner<S>; task: ResolvedTask; ctx: RunContext<S> }> {
  const env = o.env ?? process.env;
  const built = buildConfig({ mlcube: o.cube, cwd: o.cube, env, home: homedir(), platform: o.runner.name, params: o.params, resolve: true }, RUNNERS);
  if (built.runner !== o.runner) throw new Error(`platform ${o.runner.name} runs on the ${built.runner?.name} runner`);
  const workspace = String((built.config.runtime as Tree).workspace);
  const task = resolveTask(built.config, o.task, { workspace, env, home: homedir(), fs: realFs });
  for (const p of task.params) if (p.io === 'output') mkdirSync(p.type === 'directory' ? p.hostPath : dirname(p.hostPath), { recursive: true });
  const settings = o.runner.settings(built.config);
  const runner = await o.runner.create(settings);
  const ctx: RunContext<S> = {
    config: built.config,
    settings,
    root: built.location.root,
    workspace,
    log: createLogger('warning'),
    signal: new AbortController().signal,
    env,
    ...(o.taskIo ? { taskIo: o.taskIo } : {}),
  };
  return { runner, task, ctx };
}
