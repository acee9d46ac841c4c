import { createHash } from 'node:crypto';
import { createReadStream, existsSync, lstatSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { constants, userInfo } from 'node:os';
import { execa } from 'execa';
import { ImageError, InterruptedError, RuntimeUnavailableError } from '../src/errors.js';
import type { Tree } from '../src/config/tree.js';
import type { Availability, RunContext, Runner, TaskResult } from '../src/runner.js';
import { charliecloudRunner, type CharliecloudSettings } from './charliecloud-config.js';
import type { ResolvedTask } from '../src/params/resolve.js';
import { describeGpus } from '../src/params/gpus.js';
import { which } from '../src/which.js';
import { runHostProcess } from './host-process.js';
import { makeScratch, prepareScratch, removeScratch } from './scratch.js';
import { bindPlan, buildSteps, imagePath, metaPath, MOUNT_POINTS, mountPointsToEnsure, parseChVersion, partialPaths, runPlan, type BuildStep, type ImageMeta } from './charliecloud-spec.js';

export interface CharliecloudRunnerDeps {
  /** ch-run / ch-convert as argv words (the run's settings); default: as found on PATH. */
  chRun?: string[];
  chConvert?: string[];
  env: Record<string, string | undefined>;
}

/** Exit code of a finished child: its own, or 128+N when it died of signal N. */
function exitCodeOf(r: { exitCode?: number; signal?: string }): number {
  return r.exitCode ?? (r.signal ? 128 + (constants.signals[r.signal as keyof typeof constants.signals] ?? 0) : 1);
}

/** ch-run's own failures look like `ch-run[1234]: error: can't bind: ... (ch_core.c:111)`. */
const CH_ERROR = /ch-run\[\d+\]: error: ([^\n]*)/;

/** Runs tasks with Charliecloud's ch-run (unprivileged, no daemon) in an image converted from Docker by configure. */
export class CharliecloudRunner implements Runner<CharliecloudSettings> {
  readonly name = 'charliecloud';
  readonly capabilities = charliecloudRunner.capabilities;
  private readonly chRun: string[];
  private readonly chConvert: string[];
  private readonly env: Record<string, string | undefined>;
  /** rebuild: true converts once per process, not before every task. */
  private rebuilt = false;

  constructor(deps: Partial<CharliecloudRunnerDeps> = {}) {
    this.chRun = deps.chRun ?? ['ch-run'];
    this.chConvert = deps.chConvert ?? ['ch-convert'];
    this.env = deps.env ?? process.env;
  }

  /** The environment of ch-run / ch-convert themselves (not the task's): ch-run 0.31 refuses to start without $USER. */
  private toolEnv(): Record<string, string | undefined> {
    let user = this.env.USER;
    if (!user) {
      try {
        user = userInfo().username;
      } catch {
        user = String(process.getuid?.() ?? 'mlcube');
      }
    }
    return { ...this.env, USER: user };
  }

  async probe(): Promise<Availability> {
    const path = this.env.PATH ?? '';
    const exe = this.chRun[0];
    const found = which(exe, path);
    if (!found) {
      return {
        available: false,
        reason: `${exe} is not on PATH${exe.includes('/') ? '' : ` (${path || 'PATH is empty'})`}`,
        remedy:
          'Install Charliecloud (Debian/Ubuntu: apt-get install charliecloud; Spack: spack install charliecloud; on a cluster: module load charliecloud), or name it: -Pcharliecloud.ch_run=/path/to/ch-run.',
      };
    }
    const r = await execa(exe, [...this.chRun.slice(1), '--version'], { reject: false, timeout: 30_000, env: this.toolEnv(), extendEnv: false, stdin: 'ignore' });
    const version = parseChVersion(`${r.stderr}\n${r.stdout}`);
    if (r.exitCode !== 0 || !version) {
      return {
        available: false,
        reason: `${this.chRun.join(' ')} --version failed (exit ${r.exitCode ?? r.signal}: ${
          String(r.stderr || r.stdout)
            .trim()
            .split('\n')[0] ?? ''
        })`,
        remedy: 'Check the Charliecloud installation (ch-run --version should print its version), or name another: -Pcharliecloud.ch_run=/path/to/ch-run.',
      };
    }
    const convert = which(this.chConvert[0], path);
    return {
      available: true,
      version: `Charliecloud ${version}`,
      detail: `ch-run: ${found}; ch-convert: ${convert ?? 'not on PATH (configure cannot convert images here; convert where it is and share image_dir)'}; docker CLI (for docker: sources): ${which('docker', path) ?? 'not on PATH'}`,
    };
  }

  private image(ctx: RunContext<CharliecloudSettings>): string {
    return imagePath(ctx.settings, ctx.root);
  }

  async configure(ctx: RunContext<CharliecloudSettings>): Promise<void> {
    const s = ctx.settings;
    const image = this.image(ctx);
    if (lstatSync(image, { throwIfNoEntry: false }) && (!s.rebuild || this.rebuilt)) {
      ctx.log.info(`reusing ${image} (to convert it again: -Pcharliecloud.rebuild=true)`);
      return;
    }
    const src = s.source;
    const path = this.env.PATH ?? '';
    if (!which(this.chConvert[0], path)) {
      throw new RuntimeUnavailableError(`cannot convert ${src.text}: ${this.chConvert[0]} is not on PATH`, {
        suggestions: [
          'Install Charliecloud where configure runs (apt-get install charliecloud), name it with -Pcharliecloud.ch_convert=/path/to/ch-convert, or convert on another machine and put the image into image_dir.',
        ],
      });
    }
    let meta: ImageMeta = { source: src.text, format: s.format, mount_points: MOUNT_POINTS, metrics_mount: true, nvidia: s.nvidia };
    if (src.kind === 'docker') meta = { ...meta, ...(await this.dockerMeta(src.ref)) };
    else if (src.kind === 'tar' && !existsSync(src.ref)) {
      throw new ImageError(`cannot convert ${src.text}: ${src.ref} does not exist`, {
        suggestions: ['Point charliecloud.source at an existing image tarball (tar:FILE, relative to the cube root), e.g. one made with ch-convert or docker export.'],
      });
    }

    mkdirSync(dirname(image), { recursive: true });
    const partial = partialPaths(image, process.pid);
    const cleanup = () => {
      rmSync(partial.dir, { recursive: true, force: true });
      rmSync(partial.squash, { force: true });
      rmSync(metaPath(partial.dir), { force: true });
    };
    cleanup();
    const steps = buildSteps(s, partial);
    const started = Date.now();
    ctx.log.info(`converting ${src.text} into ${image} (${meta.format})`);
    try {
      await this.step(steps.convert, ctx, image);
      this.ensureMountPoints(partial.dir);
      if (steps.nvidia) await this.step(steps.nvidia, ctx, image);
      if (steps.squash) {
        await this.step(steps.squash, ctx, image);
        rmSync(partial.dir, { recursive: true, force: true });
      }
      meta.created = new Date().toISOString();
      writeFileSync(metaPath(partial.dir), `${JSON.stringify(meta, null, 2)}\n`);
      this.install(steps.squash ? partial.squash : partial.dir, image);
      renameSync(metaPath(partial.dir), metaPath(image));
    } catch (e) {
      cleanup();
      throw e;
    }
    this.rebuilt = true;
    ctx.log.info(`converted ${image} in ${((Date.now() - started) / 1000).toFixed(1)} s (entrypoint ${JSON.stringify(meta.entrypoint ?? null)}, workdir ${meta.workdir || '/'})`);
  }

  /** Puts the finished image in place: a rename; an existing one (rebuild) is moved aside first, then removed. */
  private install(from: string, image: string): void {
    if (!lstatSync(image, { throwIfNoEntry: false })) {
      renameSync(from, image);
      return;
    }
    const old = join(dirname(image), `.${basename(image)}.old-${process.pid}`);
    renameSync(image, old);
    renameSync(from, image);
    rmSync(old, { recursive: true, force: true });
  }

  private async step(step: BuildStep, ctx: RunContext<CharliecloudSettings>, image: string): Promise<void> {
    ctx.log.info(`${step.what}: ${step.argv.join(' ')}`);
    const r = await execa(step.argv[0], step.argv.slice(1), {
      cwd: ctx.root,
      env: this.toolEnv(),
      extendEnv: false,
      stdio: ['ignore', 2, 2],
      reject: false,
      cancelSignal: ctx.signal,
      forceKillAfterDelay: 5000,
    });
    if (ctx.signal.aborted) throw new InterruptedError(`the conversion of ${image} was interrupted; nothing was kept`);
    if (r.exitCode !== 0) {
      throw new ImageError(`${basename(step.argv[0])} failed (exit ${exitCodeOf(r)}) trying to ${step.what} for ${image}`, {
        suggestions: [
          step.argv.includes('--nvidia')
            ? 'ch-fromhost --nvidia needs the NVIDIA driver libraries on this host (nvidia-container-cli or ldconfig entries); convert on a GPU node, or drop -Pcharliecloud.nvidia=true.'
            : 'Read the ch-convert output above (for docker: sources it runs `docker export`, so the docker CLI must reach the daemon); or convert elsewhere and put the image into image_dir.',
        ],
      });
    }
  }

  /** ENTRYPOINT, CMD, WORKDIR, ENV and id of a local Docker image (ch-run keeps none of them, except ENV via ch/environment). */
  private async dockerMeta(ref: string): Promise<Partial<ImageMeta>> {
    if (!which('docker', this.env.PATH ?? '')) {
      throw new RuntimeUnavailableError(`cannot convert docker:${ref}: the docker CLI is not on PATH (ch-convert -i docker exports through it)`, {
        suggestions: ['Convert where docker is installed (mlcube configure --platform=charliecloud with image_dir on shared storage), or use -Pcharliecloud.source=ch-image:REF / tar:FILE.'],
      });
    }
    const r = await execa('docker', ['image', 'inspect', '--format', '{{json .}}', ref], { reject: false, env: this.env, extendEnv: false, stdin: 'ignore' });
    if (r.exitCode !== 0) {
      const msg = String(r.stderr).trim().split('\n')[0] ?? '';
      throw new ImageError(`docker image ${ref} is not in the local Docker daemon (${msg})`, {
        suggestions: [
          /No such image/i.test(msg)
            ? "Build or load it first: mlcube configure --platform=docker (builds the cube's Dockerfile or pulls), or docker load -i image.tar."
            : 'Check that the Docker daemon is running and that you may use it (docker info).',
        ],
      });
    }
    const info = JSON.parse(String(r.stdout)) as { Id?: string; Config?: { Entrypoint?: string[] | null; Cmd?: string[] | null; WorkingDir?: string; Env?: string[] | null } };
    return {
      image_id: info.Id,
      entrypoint: info.Config?.Entrypoint ?? [],
      cmd: info.Config?.Cmd ?? [],
      workdir: info.Config?.WorkingDir || '/',
      env: info.Config?.Env ?? [],
    };
  }

  /** ch-run 0.31 binds only onto existing paths: create the ones a Docker export may lack (never through a symlink). */
  private ensureMountPoints(dir: string, names?: string[]): void {
    const need = names ? { dirs: names, files: [] as string[] } : mountPointsToEnsure();
    for (const d of need.dirs) {
      const p = join(dir, d);
      if (!lstatSync(p, { throwIfNoEntry: false })) mkdirSync(p, { mode: d === 'tmp' ? 0o1777 : 0o755 });
    }
    for (const f of need.files) {
      const p = join(dir, f);
      if (!lstatSync(p, { throwIfNoEntry: false })) writeFileSync(p, '', { mode: 0o644 });
    }
  }

  private readMeta(image: string, ctx: RunContext<CharliecloudSettings>): ImageMeta | undefined {
    const p = metaPath(image);
    if (!existsSync(p)) return undefined;
    try {
      return JSON.parse(readFileSync(p, 'utf8')) as ImageMeta;
    } catch (caught) {
      const e = caught as NodeJS.ErrnoException;
      ctx.log.warn(`ignoring ${p}: ${e.message}`);
      return undefined;
    }
  }

  /** Before anything is created: the image is converted if missing (or again under rebuild: true), once per run. */
  async check(tasks: readonly ResolvedTask[], ctx: RunContext<CharliecloudSettings>): Promise<void> {
    for (const task of tasks) this.refusals(task, ctx.settings, ctx.root);
    if (!lstatSync(this.image(ctx), { throwIfNoEntry: false }) || (ctx.settings.rebuild && !this.rebuilt)) await this.configure(ctx);
  }

  async run(task: ResolvedTask, ctx: RunContext<CharliecloudSettings>): Promise<TaskResult> {
    const image = this.image(ctx);
    if (!lstatSync(image, { throwIfNoEntry: false }) || (ctx.settings.rebuild && !this.rebuilt)) await this.configure(ctx);
    const meta = this.readMeta(image, ctx);
    const isDir = statSync(image).isDirectory();
    const io = ctx.taskIo;
    // A SquashFS image is read-only: it has /mlcube_metrics only when converted by a version that made it.
    const metricsDir = io && (isDir || meta?.metrics_mount === true) ? io.metricsDir : undefined;
    if (io && metricsDir === undefined)
      ctx.log.warn(`the SquashFS image ${image} has no /mlcube_metrics mount point: the task's metrics cannot be collected (convert it again: -Pcharliecloud.rebuild=true)`);
    const scratch = makeScratch();
    try {
      return await this.runIn(task, ctx, image, meta, isDir, metricsDir, scratch);
    } finally {
      removeScratch(scratch);
    }
  }

  private refusals(task: ResolvedTask, s: CharliecloudSettings, root: string): void {
    // The bind plan's refusals only: the scratch path does not matter to them.
    bindPlan(task, s, { scratch: '/preflight', uid: process.getuid?.() ?? -1, cwd: root });
  }

  private async runIn(
    task: ResolvedTask,
    ctx: RunContext<CharliecloudSettings>,
    image: string,
    meta: ImageMeta | undefined,
    isDir: boolean,
    metricsDir: string | undefined,
    scratch: string,
  ): Promise<TaskResult> {
    const io = ctx.taskIo;
    const plan = runPlan(task, ctx.settings, image, meta, this.env, metricsDir, { scratch, uid: process.getuid?.() ?? -1, cwd: ctx.root });
    for (const w of plan.warnings) ctx.log.warn(w);
    for (const n of plan.notes) ctx.log.info(n);
    prepareScratch(plan.scratch, plan.covers);

    // The /mlcube_io<k> (and /mlcube_metrics) targets must exist in the image.
    const missing = plan.mountPoints.filter((m) => (isDir ? !existsSync(join(image, m)) : m.startsWith('/mlcube_io') && Number(m.replace('/mlcube_io', '')) >= (meta?.mount_points ?? MOUNT_POINTS)));
    if (missing.length && isDir) {
      try {
        this.ensureMountPoints(
          image,
          missing.map((m) => m.slice(1)),
        );
        ctx.log.info(`created mount point(s) ${missing.join(' ')} in ${image}`);
      } catch (caught) {
        const e = caught as NodeJS.ErrnoException;
        throw new ImageError(`the image ${image} lacks the mount point(s) ${missing.join(' ')} and they cannot be created (${e.code ?? e.message})`, {
          place: { task: task.name },
          suggestions: ['Convert the image again as a user who may write image_dir (-Pcharliecloud.rebuild=true), or ask its owner to create the directories.'],
        });
      }
    } else if (missing.length) {
      throw new ImageError(`the SquashFS image ${image} has no mount point(s) ${missing.join(' ')} (task "${task.name}" needs ${plan.mountPoints.length} mounts)`, {
        place: { task: task.name },
        suggestions: ['Use -Pcharliecloud.image_format=dir for this cube (mount points are then created as needed).'],
      });
    }

    const hidden = plan.covers.length ? `, hidden ${plan.covers.map((c) => c.container).join(' ')}` : '';
    ctx.log.info(
      `running task "${task.name}" with ${basename(plan.argv[0])}: ${plan.argv.slice(plan.argv.indexOf('--') + 1).join(' ')} (image ${image}, workdir ${plan.cwd}, GPUs ${describeGpus(plan.gpus)}, binds ${plan.mounts.join(' ')}${hidden})`,
    );
    ctx.log.debug(`argv: ${JSON.stringify(plan.argv)}`);
    const started = Date.now();
    // ch-run execs the task in place on this host: measured like a local task.
    // Keep only the tail of stderr (the task's own output is streamed as it comes), to recognise ch-run's own errors.
    let tail = '';
    const {
      result: r,
      pid,
      usage,
    } = await runHostProcess(plan.argv, {
      cwd: ctx.root,
      env: this.toolEnv(),
      signal: ctx.signal,
      io,
      stdoutTo: ctx.stdoutTo,
      stderr: ['inherit', 'pipe'],
      onStderr: (d) => (tail = (tail + d.toString()).slice(-4096)),
    });
    if (ctx.signal.aborted) throw new InterruptedError(`task "${task.name}" was interrupted; the ch-run process (pid ${pid}) was stopped`, { place: { task: task.name } });
    if (r.failed && r.exitCode === undefined && !r.signal) {
      throw new RuntimeUnavailableError(`cannot start ${plan.argv[0]}: ${r.shortMessage}`, {
        place: { task: task.name },
        suggestions: ['Check charliecloud.ch_run and PATH; `mlcube doctor` shows what was found.'],
      });
    }
    const chError = r.exitCode !== 0 ? CH_ERROR.exec(tail) : null;
    if (chError) {
      throw new RuntimeUnavailableError(`ch-run could not start task "${task.name}": ${chError[1]}`, {
        place: { task: task.name },
        suggestions: [
          /namespace|unshare|setgroups|uid_map|Operation not permitted/i.test(chError[1])
            ? 'ch-run needs unprivileged user namespaces (kernel.unprivileged_userns_clone=1 / user.max_user_namespaces > 0); ask the site admins, or use another runner.'
            : 'Convert the image again (-Pcharliecloud.rebuild=true) or run ch-run -v on it by hand; `mlcube doctor` shows the Charliecloud found.',
        ],
      });
    }
    return { exitCode: exitCodeOf(r), durationMs: Date.now() - started, ...(usage ? { usage } : {}) };
  }

  async inspect(ctx: RunContext<CharliecloudSettings>, force: boolean): Promise<Tree> {
    const image = this.image(ctx);
    if (!lstatSync(image, { throwIfNoEntry: false })) {
      if (!force) throw new ImageError(`${image} does not exist`, { suggestions: ['Convert it first (mlcube configure --platform=charliecloud), or pass --force to convert now.'] });
      await this.configure(ctx);
    }
    const meta = this.readMeta(image, ctx);
    let hash: string | null = meta?.image_id?.replace(/^sha256:/, '') ?? null;
    if (statSync(image).isFile()) {
      const h = createHash('sha256');
      for await (const chunk of createReadStream(image)) h.update(chunk as Buffer);
      hash = h.digest('hex');
    }
    return { hash, image, format: statSync(image).isFile() ? 'squash' : 'dir', source: meta?.source ?? null, entrypoint: meta?.entrypoint ?? null, workdir: meta?.workdir ?? null };
  }
}
