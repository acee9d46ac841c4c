import { closeSync, existsSync, mkdirSync, openSync, readSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { execa } from 'execa';
import { ConfigError, InterruptedError, RuntimeUnavailableError, UsageError, TIMED_OUT_EXIT_CODE } from '../src/errors.js';
import type { ArrayJobSpec, Availability, JobState, RunContext, Runner, SubmittedArray, SubmittedGraph, SubmittedJob, BatchTask, TaskResult } from '../src/runner.js';
import { slurmRunner, type SlurmSettings } from './slurm-config.js';
import type { ResolvedTask } from '../src/params/resolve.js';
import { PACKAGE_ROOT } from '../src/package-root.js';
import { stdoutStream } from '../src/task-io.js';
import { arrayScript, FINAL_STATES, jobExitCode, jobScript, parseJobId, parseScontrol, sbatchArgv, sharedPathProblems } from './slurm-spec.js';

export interface SlurmDeps {
  env: Record<string, string | undefined>;
  /** The CLI bundle the jobs run (default: this package's dist/mlcube.cjs). */
  cli: string;
}

/** How long past a task's timeout its job may run before it is cancelled from here (the job's start, its own clean-up). */
const JOB_TIMEOUT_SLACK_MS = 15_000;

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((res) => {
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      res();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });

/** Copies what a growing file gained since `offset` to `out`; returns the new offset. */
function pump(file: string | undefined, offset: number, out: NodeJS.WritableStream): number {
  if (!file || !existsSync(file)) return offset;
  const size = statSync(file).size;
  if (size <= offset) return offset;
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(size - offset);
    const n = readSync(fd, buf, 0, buf.length, offset);
    out.write(buf.subarray(0, n));
    return offset + n;
  } finally {
    closeSync(fd);
  }
}

/** `scontrol show job -o <id>` (works without slurmdbd); undefined when Slurm no longer knows the job. */
export async function jobState(id: string, env: Record<string, string | undefined> = process.env): Promise<JobState | undefined> {
  const r = await execa('scontrol', ['show', 'job', '-o', id], { reject: false, env, extendEnv: false });
  if (r.exitCode !== 0) return undefined;
  return parseScontrol(String(r.stdout));
}

export async function cancelJobs(ids: readonly string[], env: Record<string, string | undefined> = process.env): Promise<void> {
  if (ids.length === 0) return;
  const r = await execa('scancel', [...ids], { reject: false, env, extendEnv: false });
  if (r.exitCode !== 0) throw new RuntimeUnavailableError(`scancel ${ids.join(' ')} failed: ${String(r.stderr).trim()}`, { suggestions: ['Check the job ids with `mlcube status <id>` or squeue.'] });
}

/**
 * Slurm as the engine: each task is one sbatch job that re-runs this CLI for that task on the inner platform;
 * a chain is submitted up front (afterok), followed with scontrol, its output files streamed while they grow.
 */
export class SlurmRunner implements Runner<SlurmSettings> {
  readonly name = 'slurm';
  readonly capabilities = slurmRunner.capabilities;
  private readonly env: Record<string, string | undefined>;
  private readonly cli: string;

  constructor(deps: Partial<SlurmDeps> = {}) {
    this.env = deps.env ?? process.env;
    this.cli = deps.cli ?? join(PACKAGE_ROOT, 'dist', 'mlcube.cjs');
  }

  async probe(): Promise<Availability> {
    const v = await execa('sbatch', ['--version'], { reject: false, env: this.env, extendEnv: false });
    if (v.exitCode !== 0) {
      return {
        available: false,
        reason: `sbatch is not usable (${v.exitCode === undefined ? 'not on PATH' : String(v.stderr).trim()})`,
        remedy: "Run on a Slurm login node (or `module load slurm`); Debian/Ubuntu: apt-get install slurm-client, with SLURM_CONF pointing at the cluster's slurm.conf.",
      };
    }
    const ping = await execa('scontrol', ['ping'], { reject: false, env: this.env, extendEnv: false, timeout: 20_000 });
    if (ping.exitCode !== 0 || !/UP/.test(String(ping.stdout))) {
      return {
        available: false,
        reason: `no Slurm controller answers (scontrol ping: ${
          String(ping.stdout || ping.stderr)
            .trim()
            .split('\n')[0]
        })`,
        remedy: 'Check SLURM_CONF / the cluster configuration and that slurmctld runs (scontrol ping).',
      };
    }
    return { available: true, version: String(v.stdout).trim(), detail: String(ping.stdout).trim().split('\n')[0] };
  }

  async configure(ctx: RunContext<SlurmSettings>): Promise<void> {
    ctx.log.info('nothing to prepare for slurm itself; configure the inner platform on a node that may build images (mlcube configure --platform=<inner>)');
  }

  async run(task: ResolvedTask, ctx: RunContext<SlurmSettings>): Promise<TaskResult> {
    return (await this.submitGraph([task], [[]], ctx)).wait(0);
  }

  /** What every job needs: the command line, absolute paths the compute nodes see (checked), the log directory made. */
  private prepare(ctx: RunContext<SlurmSettings>) {
    const inv = ctx.invocation;
    if (!inv) throw new UsageError('the slurm runner needs the command line of the run (internal: no invocation in the context)');
    const s = ctx.settings;
    const node = s.node ?? process.execPath;
    const logDir = s.logDir;
    const check = sharedPathProblems({ 'the cube file': inv.mlcubeFile, 'the workspace': ctx.workspace, 'slurm.node': node, 'the mlcube CLI': this.cli, 'slurm.log_dir': logDir });
    if (check.errors.length) {
      throw new ConfigError(`${check.errors.join('; ')}: Slurm jobs run on other machines and need absolute paths on shared storage`, {
        suggestions: ['Use absolute paths on a file system the compute nodes mount (e.g. -Pslurm.node=/shared/node/bin/node, --workspace=/scratch/$USER/ws).'],
      });
    }
    if (check.warnings.length) ctx.log.warn(`${check.warnings.join('; ')} (fine on a single-node cluster)`);
    const cube = String(ctx.config.name ?? basename(ctx.root));
    mkdirSync(logDir, { recursive: true });
    return { inv, s, node, logDir, cube };
  }

  /**
   * A sweep's points as one array job (`sbatch --array=0-(N-1)`, afterok on `after`): element k runs the inner
   * `mlcube run` of the sweep's tasks with point k's overrides; each element is followed as a task's job is.
   */
  async submitArray(spec: ArrayJobSpec, after: readonly string[], ctx: RunContext<SlurmSettings>): Promise<SubmittedArray> {
    const { inv, s, node, logDir, cube } = this.prepare(ctx);
    const job = { task: spec.tasks.join(','), cube, mlcubeFile: inv.mlcubeFile, workspace: ctx.workspace, node, cli: this.cli, inner: s.inner, invocation: inv };
    const script = arrayScript(
      job,
      spec.elements.map((e) => ({ invocation: { ...inv, params: e.params, taskArgs: e.taskArgs }, env: e.env })),
      s,
      spec.name,
    );
    const argv = sbatchArgv({ task: spec.name, cube, logDir, workspace: ctx.workspace, after, timeoutMs: spec.timeoutMs, array: spec.elements.length }, s);
    ctx.log.debug(`${argv.join(' ')} <<'EOF'\n${script}EOF`);
    const r = await execa(argv[0], argv.slice(1), { input: script, reject: false, env: this.env, extendEnv: false });
    const id = parseJobId(String(r.stdout));
    if (r.exitCode !== 0 || !id) {
      await cancelJobs(after, this.env).catch(() => undefined);
      throw new ConfigError(`sbatch refused the array job of ${spec.name}: ${String(r.stderr || r.stdout).trim()}`, {
        suggestions: ['Check slurm.partition / account / time / mem / gpus / sbatch_args against what the cluster offers, and MaxArraySize (scontrol show config).'],
      });
    }
    const jobs = spec.elements.map((_, k) => ({
      task: `${spec.name}[${k}]`,
      jobId: `${id}_${k}`,
      stdout: join(logDir, `${spec.name}-${id}_${k}.out`),
      stderr: join(logDir, `${spec.name}-${id}_${k}.err`),
    }));
    ctx.log.info(
      `${spec.name}: submitted Slurm array job ${id} of ${jobs.length} elements (${spec.tasks.join(', ')} each)${after.length ? ` (after ${after.join(' and ')} succeed${after.length === 1 ? 's' : ''})` : ''}`,
    );
    const settled = new Set<number>();
    const cancel = async () => {
      if (settled.size < jobs.length) await cancelJobs([id], this.env).catch(() => undefined);
      jobs.forEach((_, k) => settled.add(k));
    };
    const wait = async (k: number) => {
      const all = async () => {
        await cancel();
        return [id];
      };
      const res = await this.follow(jobs[k], spec.timeoutMs, ctx, all, async () => {
        settled.add(k);
        await cancelJobs([jobs[k].jobId], this.env).catch(() => undefined);
      });
      settled.add(k);
      return res;
    };
    return { jobs, wait, cancel };
  }

  private async submit(tasks: readonly BatchTask[], parents: readonly (readonly number[])[], ctx: RunContext<SlurmSettings>): Promise<SubmittedJob[]> {
    const { inv, s, node, logDir, cube } = this.prepare(ctx);
    const jobs: SubmittedJob[] = [];
    try {
      for (const [i, t] of tasks.entries()) {
        const after = (parents[i] ?? []).map((p) => jobs[p].jobId);
        const script = jobScript(
          { task: t.name, cube, mlcubeFile: inv.mlcubeFile, workspace: ctx.workspace, node, cli: this.cli, inner: s.inner, invocation: inv, params: t.params.map((p) => p.name) },
          s,
        );
        const argv = sbatchArgv({ task: t.name, cube, logDir, workspace: ctx.workspace, after, timeoutMs: t.timeoutMs }, s);
        ctx.log.debug(`${argv.join(' ')} <<'EOF'\n${script}EOF`);
        const r = await execa(argv[0], argv.slice(1), { input: script, reject: false, env: this.env, extendEnv: false });
        const id = parseJobId(String(r.stdout));
        if (r.exitCode !== 0 || !id) {
          throw new ConfigError(`sbatch refused the job of task "${t.name}": ${String(r.stderr || r.stdout).trim()}`, {
            place: { task: t.name },
            suggestions: ['Check slurm.partition / account / time / mem / gpus / sbatch_args against what the cluster offers (sinfo, sacctmgr show assoc user=$USER).'],
          });
        }
        jobs.push({ task: t.name, jobId: id, stdout: join(logDir, `${t.name}-${id}.out`), stderr: join(logDir, `${t.name}-${id}.err`) });
        ctx.log.info(`task "${t.name}": submitted Slurm job ${id}${after.length ? ` (after ${after.join(' and ')} succeed${after.length === 1 ? 's' : ''})` : ''}`);
      }
    } catch (e) {
      await cancelJobs(
        jobs.map((j) => j.jobId),
        this.env,
      ).catch(() => undefined);
      throw e;
    }
    writeFileSync(join(logDir, 'last-run.json'), JSON.stringify({ cube: inv.mlcubeFile, workspace: ctx.workspace, jobs }, null, 2) + '\n');
    return jobs;
  }

  /**
   * Submits the graph (one job per task, afterok on its parents' jobs) and returns without waiting; `wait(i)` then
   * follows job i with scontrol, streaming its output files while they grow.
   */
  async submitGraph(tasks: readonly BatchTask[], parents: readonly (readonly number[])[], ctx: RunContext<SlurmSettings>): Promise<SubmittedGraph> {
    const jobs = await this.submit(tasks, parents, ctx);
    // Jobs followed to their end or cancelled: cancel() leaves them alone.
    const settled = new Set<number>();
    const cancel = async (which: readonly number[] = jobs.map((_, i) => i)) => {
      const ids = which.filter((i) => !settled.has(i)).map((i) => jobs[i].jobId);
      which.forEach((i) => settled.add(i));
      if (ids.length) await cancelJobs(ids, this.env).catch(() => undefined);
      return ids;
    };
    const wait = async (i: number): Promise<TaskResult> => {
      const r = await this.follow(
        jobs[i],
        tasks[i].timeoutMs ?? null,
        ctx,
        () => cancel(),
        () => cancel([i]).then(() => undefined),
      );
      settled.add(i);
      return r;
    };
    return { jobs, wait, cancel: async (which) => void (await cancel(which)) };
  }

  /**
   * Follows one job until it ends, its output files streamed while they grow: Ctrl-C cancels every job of the run
   * (`cancelAll`, which says which ids it cancelled); a job that runs well past `timeoutMs` is cancelled (`cancelThis`) and counts as timed out.
   */
  private async follow(job: SubmittedJob, timeoutMs: number | null, ctx: RunContext<SlurmSettings>, cancelAll: () => Promise<string[]>, cancelThis: () => Promise<void>): Promise<TaskResult> {
    const poll = ctx.settings.pollMs;
    let out = 0;
    let err = 0;
    let started: number | undefined;
    const following = Date.now();
    let last: JobState | undefined;
    for (;;) {
      if (ctx.signal.aborted) {
        const ids = await cancelAll();
        throw new InterruptedError(`interrupted: cancelled Slurm job(s) ${[job.jobId, ...ids.filter((id) => id !== job.jobId)].join(', ')}`, { place: { task: job.task } });
      }
      const s = await jobState(job.jobId, this.env);
      out = pump(job.stdout, out, stdoutStream(ctx.stdoutTo));
      err = pump(job.stderr, err, process.stderr);
      if (!s) {
        await cancelAll();
        throw new RuntimeUnavailableError(`Slurm no longer knows job ${job.jobId} (task "${job.task}"; last state ${last?.state ?? 'unknown'})`, {
          suggestions: ['Raise MinJobAge in slurm.conf, or follow it with sacct where accounting runs.'],
        });
      }
      if (s.state !== last?.state) ctx.log.info(`task "${job.task}": job ${job.jobId} ${s.state}${s.reason && s.reason !== 'None' ? ` (${s.reason})` : ''}`);
      if (s.state === 'RUNNING' && started === undefined) started = Date.now();
      last = s;
      if (FINAL_STATES.has(s.state)) break;
      // The job's own mlcube stops a task at its timeout; one whose job runs on well past it (that mlcube stuck or
      // gone) is cancelled here, and counts as timed out.
      const limit = timeoutMs;
      if (limit && started !== undefined && Date.now() - started > limit + JOB_TIMEOUT_SLACK_MS) {
        ctx.log.warn(`task "${job.task}": job ${job.jobId} runs ${((Date.now() - started) / 1000).toFixed(0)} s, past its timeout: cancelling it`);
        await cancelThis();
        return { exitCode: TIMED_OUT_EXIT_CODE, durationMs: Date.now() - started };
      }
      await sleep(poll, ctx.signal);
    }
    await sleep(200);
    pump(job.stdout, out, stdoutStream(ctx.stdoutTo));
    pump(job.stderr, err, process.stderr);
    return { exitCode: jobExitCode(last!), durationMs: Date.now() - (started ?? following) };
  }
}
