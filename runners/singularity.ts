import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { constants } from 'node:os';
import { execa } from 'execa';
import { ImageError, InterruptedError, RuntimeUnavailableError } from '../src/errors.js';
import type { Tree } from '../src/config/tree.js';
import type { Availability, RunContext, Runner, TaskResult } from '../src/runner.js';
import { singularityRunner, type SingularitySettings } from './singularity-config.js';
import type { ResolvedTask } from '../src/params/resolve.js';
import { describeGpus } from '../src/params/gpus.js';
import { which } from '../src/which.js';
import { buildArgv, buildSourceOf, clientArgv, clientEnv, parseVersion, runPlan, sifPath } from './singularity-spec.js';
import { runHostProcess } from './host-process.js';
import { makeScratch, prepareScratch, removeScratch } from './scratch.js';

export interface SingularityRunnerDeps {
  /** The configured executable (e.g. `sudo singularity`); undefined or `singularity`: probe singularity, then apptainer. */
  executable?: string;
  env: Record<string, string | undefined>;
}

const DEFAULT_EXECUTABLE = 'singularity';

/** Exit code of a finished child: its own, or 128+N when it died of signal N. */
export function exitCodeOf(r: { exitCode?: number; signal?: string }): number {
  return r.exitCode ?? (r.signal ? 128 + (constants.signals[r.signal as keyof typeof constants.signals] ?? 0) : 1);
}

/** Runs tasks with Singularity or Apptainer (`run`/`exec` of a SIF built by `configure`), through execa argv only. */
export class SingularityRunner implements Runner<SingularitySettings> {
  readonly name = 'singularity';
  readonly capabilities = singularityRunner.capabilities;
  private readonly configured?: string;
  private readonly env: Record<string, string | undefined>;
  /** The executable the probe found working (may be apptainer when `singularity` is the unchanged default). */
  private chosen?: string;

  constructor(deps: Partial<SingularityRunnerDeps> = {}) {
    this.configured = deps.executable;
    this.env = deps.env ?? process.env;
  }

  private candidates(): string[] {
    if (this.configured && this.configured !== DEFAULT_EXECUTABLE) return [this.configured];
    return [DEFAULT_EXECUTABLE, 'apptainer'];
  }

  async probe(): Promise<Availability> {
    const tried: string[] = [];
    for (const exe of this.candidates()) {
      const words = clientArgv(exe);
      const bin = words[0] === 'sudo' ? words[1] : words[0];
      if (!bin || !which(words[0], this.env.PATH ?? '') || !which(bin, this.env.PATH ?? '')) {
        tried.push(`${exe} (not on PATH)`);
        continue;
      }
      const r = await execa(words[0], [...words.slice(1), '--version'], { reject: false, timeout: 30_000, env: this.env, extendEnv: false, stdin: 'ignore' });
      const v = parseVersion(String(r.stdout));
      if (r.exitCode === 0 && v) {
        this.chosen = exe;
        return { available: true, version: `${v.flavor === 'unknown' ? exe : v.flavor} ${v.version}`, detail: `executable: ${exe}${bin.includes('/') ? '' : ` (${which(bin, this.env.PATH ?? '')})`}` };
      }
      tried.push(
        `${exe} --version (exit ${r.exitCode ?? r.signal}: ${
          String(r.stderr || r.stdout)
            .trim()
            .split('\n')[0] ?? ''
        })`,
      );
    }
    return {
      available: false,
      reason: `no working Singularity/Apptainer client: tried ${tried.join('; ')}`,
      remedy:
        'Load it on the cluster (e.g. `module load apptainer`), install Apptainer (https://apptainer.org/docs/admin/main/installation.html), or name the executable: -Psingularity.singularity="sudo singularity" or /path/to/apptainer.',
    };
  }

  /** The run's settings with the executable the probe chose. */
  private settingsOf(ctx: RunContext<SingularitySettings>): SingularitySettings {
    const s = ctx.settings;
    return this.chosen && s.executable === DEFAULT_EXECUTABLE ? { ...s, executable: this.chosen } : s;
  }

  async configure(ctx: RunContext<SingularitySettings>): Promise<void> {
    const s = this.settingsOf(ctx);
    const sif = sifPath(s, ctx.root);
    if (existsSync(sif) && !s.rebuild) {
      ctx.log.info(`reusing ${sif} (to rebuild it: -Psingularity.rebuild=true)`);
      return;
    }
    const src = buildSourceOf(s.buildFile, ctx.root);
    if (src.kind === 'recipe' && !existsSync(src.source)) {
      throw new ImageError(`cannot build ${sif}: the definition file ${src.source} does not exist and the cube has no docker image to convert`, {
        suggestions: ['Add a Singularity.recipe to the cube, set singularity.build_file (docker://IMAGE, docker-daemon://IMAGE, docker-archive:FILE.tar), or add a docker: {image: ...} section.'],
      });
    }
    mkdirSync(dirname(sif), { recursive: true });
    // Build beside the target and rename: an interrupted build never leaves a SIF that a later run would reuse.
    const partial = join(dirname(sif), `.${basename(sif)}.partial-${process.pid}.sif`);
    const argv = buildArgv(s, ctx.root, partial);
    ctx.log.info(`building ${sif} from ${src.source} (${src.kind}): ${argv.join(' ')}`);
    const r = await execa(argv[0], argv.slice(1), { cwd: ctx.root, env: this.env, extendEnv: false, stdio: ['ignore', 2, 2], reject: false, cancelSignal: ctx.signal, forceKillAfterDelay: 5000 });
    if (ctx.signal.aborted) {
      rmSync(partial, { force: true });
      throw new InterruptedError(`the build of ${sif} was interrupted; nothing was kept`);
    }
    if (r.exitCode !== 0 || !existsSync(partial)) {
      rmSync(partial, { force: true });
      const fakeroot = s.buildArgs.some((a) => a.includes('--fakeroot'));
      throw new ImageError(`${argv.slice(0, 2).join(' ')} build failed (exit ${exitCodeOf(r)}) converting ${src.source}`, {
        suggestions: [
          fakeroot
            ? 'build_args has --fakeroot, which needs user namespaces / subuid mappings on this host; drop it with -Psingularity.build_args= (or "--fakeroot" replaced by what your site documents), or build where you may (mlcube#357, medperf#560).'
            : 'Read the builder output above; build elsewhere and copy the SIF into image_dir, or set build_args (e.g. -Psingularity.build_args=--fakeroot).',
        ],
      });
    }
    renameSync(partial, sif);
    ctx.log.info(`built ${sif}`);
  }

  /** Before anything is created: the SIF is built if missing (or rebuilt under rebuild: true), every task's plan made. */
  async check(tasks: readonly ResolvedTask[], ctx: RunContext<SingularitySettings>): Promise<void> {
    const s = this.settingsOf(ctx);
    const sif = sifPath(s, ctx.root);
    for (const task of tasks) this.refusals(task, s, ctx.root);
    if (!existsSync(sif) || s.rebuild) {
      await this.configure(ctx);
      this.built = true;
    }
  }

  /** Set once check built the SIF for this run: run does not build it again. */
  private built = false;

  async run(task: ResolvedTask, ctx: RunContext<SingularitySettings>): Promise<TaskResult> {
    const s = this.settingsOf(ctx);
    const sif = sifPath(s, ctx.root);
    if (!existsSync(sif) || (s.rebuild && !this.built)) await this.configure(ctx);
    const io = ctx.taskIo;
    const scratch = makeScratch();
    try {
      const plan = runPlan(task, s, sif, io?.metricsDir, { scratch, uid: process.getuid?.() ?? -1, cwd: ctx.root });
      for (const w of plan.warnings) ctx.log.warn(w);
      prepareScratch(plan.scratch, plan.covers);
      const hidden = plan.covers.length ? `, hidden ${plan.covers.map((c) => c.container).join(' ')}` : '';
      ctx.log.info(`running task "${task.name}" with ${plan.argv[0] === 'sudo' ? plan.argv[1] : plan.argv[0]} (image ${sif}, GPUs ${describeGpus(plan.gpus)}${hidden})`);
      ctx.log.debug(`argv: ${JSON.stringify(plan.argv)}`);
      const started = Date.now();
      // Singularity runs the task as a descendant of its own process on this host: measured like a local task.
      const { result: r, usage } = await runHostProcess(plan.argv, { cwd: ctx.root, env: clientEnv(this.env), signal: ctx.signal, io, stdoutTo: ctx.stdoutTo });
      if (ctx.signal.aborted) throw new InterruptedError(`task "${task.name}" was interrupted; the ${plan.argv[0]} process was stopped`, { place: { task: task.name } });
      if (r.failed && r.exitCode === undefined && !r.signal) {
        throw new RuntimeUnavailableError(`cannot start ${plan.argv[0]}: ${r.shortMessage}`, {
          place: { task: task.name },
          suggestions: ['Check singularity.singularity (the executable) and PATH; `mlcube doctor` shows what was found.'],
        });
      }
      return { exitCode: exitCodeOf(r), durationMs: Date.now() - started, ...(usage ? { usage } : {}) };
    } finally {
      removeScratch(scratch);
    }
  }

  private refusals(task: ResolvedTask, s: SingularitySettings, root: string): void {
    // The plan's refusals only: image and scratch paths do not matter to them.
    runPlan(task, s, '/preflight.sif', undefined, { scratch: '/preflight', uid: process.getuid?.() ?? -1, cwd: root });
  }

  async inspect(ctx: RunContext<SingularitySettings>, force: boolean): Promise<Tree> {
    const s = this.settingsOf(ctx);
    const sif = sifPath(s, ctx.root);
    if (!existsSync(sif)) {
      if (!force) throw new ImageError(`${sif} does not exist`, { suggestions: ['Build it first (mlcube configure --platform=singularity), or pass --force to build now.'] });
      await this.configure(ctx);
    }
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(sif)) hash.update(chunk as Buffer);
    return { hash: hash.digest('hex'), image: sif, size: statSync(sif).size };
  }
}
