import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ProvenanceError, UsageError } from '../errors.js';
import type { AppEnv } from './context.js';
import { reapKilledRuns } from './reap.js';
import { existingWorkspace, type WhereGiven } from '../config/workspace-location.js';
import { findRun, loadRuns, readManifests, runsDir } from '../provenance/store.js';
import { manifestKey, type RecordedParam, type RunRecord } from '../provenance/record.js';
import { hostPathOf } from '../provenance/paths.js';
import { readRegularFile } from '../provenance/safe-read.js';
import { sha256Hex } from '../provenance/digest.js';
import { trustedPublicKey } from '../provenance/keys.js';
import { releaseProblem, verifyRun } from '../provenance/verify.js';
import { writeFileAtomic } from '../atomic-write.js';
import { asConfusionMatrix, cardData, CONFUSION_KEY, type CardData, type ConfigFile } from '../card/data.js';
import { planPlots } from '../card/plots.js';
import { cardSections } from '../card/sections.js';
import { cardMarkdown } from '../card/markdown.js';
import { cardHtml } from '../card/html.js';

export interface CardOptions extends WhereGiven {
  run?: string;
  out?: string;
  publicKey?: string;
  /** Make the card of runs that do not verify, each marked UNVERIFIED with its problems. */
  unverified?: boolean;
}

export interface CardResult {
  evaluation_run: string;
  training_run: string | null;
  release: CardData['release'];
  verified: boolean;
  out_dir: string;
  files: string[];
  /** Plots not drawn because the runs did not report what they show. */
  not_reported: string[];
}

/** The first input of kind model that a recorded run produced: the training run of a model. */
const modelLink = (r: RunRecord) => r.lineage.find((l) => r.parameters.some((p) => p.io === 'input' && p.name === l.input && p.kind === 'model'));
/** Finished with its outputs recorded: succeeded, or failed only its release gates. */
const finished = (r: RunRecord) => r.status === 'succeeded' || r.gates?.release === 'failed';

/**
 * The evaluation run: the one named, else the latest finished run that read a model a recorded run produced and
 * wrote metrics (an output of kind metrics other than a log), else the latest that read such a model. Tasks that ran side by side
 * (export beside evaluate) end in any order: the one that evaluated is the card's.
 */
function evaluationRun(workspace: string, origin: string, id: string | undefined): RunRecord {
  if (id) return findRun(workspace, id, origin);
  const readers = loadRuns(workspace).filter((r) => finished(r) && modelLink(r));
  // A log directory counts as metrics by its name (README "Lineage"), and every task writes one: not evidence of an evaluation.
  const evaluated = (r: RunRecord) => r.parameters.some((p) => p.io === 'output' && p.kind === 'metrics' && !/log/i.test(p.name));
  const hit = readers.filter(evaluated).pop() ?? readers.pop();
  if (!hit)
    throw new UsageError(`no run in ${runsDir(workspace)} (${origin}) read a model that a recorded run produced`, {
      suggestions: ['Run the training and evaluation tasks first (e.g. --task=train,evaluate), or pass the evaluation run id (`mlcube runs list`).'],
    });
  return hit;
}

/** Bytes of a file the record digested, checked against that digest (a file changed since verification is refused). */
function readDigested(path: string, sha256: string): { ok: true; data: Buffer } | { ok: false; why: string } {
  const read = readRegularFile(path);
  if (!read.ok) return read;
  return sha256Hex(read.data) === sha256 ? read : { ok: false, why: `${path} changed since it was recorded` };
}

/** JSON files of an output parameter (the file itself, or the .json files its manifest lists), with their digests. */
function jsonFiles(r: RunRecord, dir: string, p: RecordedParam, workspace: string): { path: string; shown: string; sha256: string }[] {
  const base = hostPathOf(p, workspace);
  if (p.type === 'file') return p.digest && p.path.endsWith('.json') ? [{ path: base, shown: p.path, sha256: p.digest.sha256 }] : [];
  const entries = readManifests(dir, r).manifests.get(manifestKey(p)) ?? [];
  return entries.filter((e) => e.type === 'file' && e.path.endsWith('.json') && e.sha256).map((e) => ({ path: join(base, ...e.path.split('/')), shown: `${p.path}/${e.path}`, sha256: e.sha256! }));
}

/** The confusion matrix: key confusion_matrix of the first JSON file among the evaluation's metrics outputs that has a valid one. */
function findConfusion(r: RunRecord, workspace: string): CardData['confusion'] {
  const dir = join(runsDir(workspace), r.run_id);
  for (const p of r.parameters.filter((x) => x.io === 'output' && x.kind === 'metrics')) {
    for (const f of jsonFiles(r, dir, p, workspace)) {
      const read = readDigested(f.path, f.sha256);
      if (!read.ok || read.data.length > 16 * 1024 * 1024) continue;
      let v: unknown;
      try {
        v = JSON.parse(read.data.toString('utf8'));
      } catch {
        continue;
      }
      const m = v !== null && typeof v === 'object' && !Array.isArray(v) ? asConfusionMatrix((v as Record<string, unknown>)[CONFUSION_KEY]) : undefined;
      if (m) return { matrix: m, source: `${f.shown} key ${CONFUSION_KEY}` };
    }
  }
  return null;
}

const CONFIG_MAX = 64 * 1024;

/** The training run's configuration files (inputs of kind config), as text when they are small UTF-8 files. */
function configFiles(r: RunRecord | null, workspace: string): ConfigFile[] {
  return (r?.parameters ?? [])
    .filter((p) => p.io === 'input' && p.kind === 'config')
    .map((p) => {
      const c = { run_id: r!.run_id, name: p.name, path: p.path, sha256: p.digest?.sha256 ?? null };
      if (p.type !== 'file' || !p.digest) return { ...c, text: null, why: `a ${p.found}, not a file` };
      if ((p.digest.size ?? 0) > CONFIG_MAX) return { ...c, text: null, why: `over ${CONFIG_MAX / 1024} KiB` };
      const read = readDigested(hostPathOf(p, workspace), p.digest.sha256);
      if (!read.ok) return { ...c, text: null, why: read.why };
      const text = new TextDecoder('utf-8', { fatal: false }).decode(read.data);
      return text.includes('\uFFFD') || text.includes('\0') ? { ...c, text: null, why: 'not UTF-8 text' } : { ...c, text };
    });
}

/**
 * `mlcube card`: the model card of an evaluation run and the training run that produced the model it read, made
 * from their records only after they verify (fail closed: exit 5 and nothing written; a run that failed only its
 * release gates is shown, its gates marked FAILED). Writes model-card.md, model-card.html and the plots' PNGs.
 */
export async function makeCard(opts: CardOptions, app: AppEnv): Promise<CardResult> {
  const where = existingWorkspace(opts, app);
  const w = where.dir;
  await reapKilledRuns(w, app);
  const evaluation = evaluationRun(w, where.origin, opts.run);
  const link = modelLink(evaluation);
  const training = link ? findRun(w, link.run_id, where.origin) : null;
  const key = trustedPublicKey(opts.publicKey, app.env, app.home);
  const unverified: { run_id: string; problems: string[] }[] = [];
  for (const r of [training, evaluation]) {
    if (!r) continue;
    const v = await verifyRun({ dir: join(runsDir(w), r.run_id), workspace: w }, key);
    const problems = v.problems.filter((p) => !(r.gates?.release === 'failed' && p === releaseProblem(r)));
    if (problems.length) unverified.push({ run_id: r.run_id, problems });
  }
  if (unverified.length && !opts.unverified) {
    const all = unverified.flatMap((u) => u.problems.map((p) => `run ${u.run_id}: ${p}`));
    throw new ProvenanceError(`no model card: ${unverified.length} of the runs it would show do not verify (${all.length} problem${all.length > 1 ? 's' : ''}):\n  ${all.join('\n  ')}`, {
      suggestions: [
        unverified.some((u) => u.problems.some((p) => p.startsWith('signature: the run is not signed')))
          ? 'Runs are signed once a signing key exists: `mlcube keys generate`, then re-run the tasks; or pass --unverified for a card marked UNVERIFIED.'
          : 'Re-run the tasks to get runs that verify (`mlcube provenance verify RUN` says why), or pass --unverified for a card marked UNVERIFIED.',
      ],
    });
  }
  const data = cardData({ evaluation, training, unverified, confusion: findConfusion(evaluation, w), config: configFiles(training, w) });
  const plots = planPlots(data);
  const { renderPng } = await import('../card/render.js');
  const pngs = new Map<string, Buffer>();
  for (const p of plots) if (p.spec) pngs.set(p.file, await renderPng(p.spec));
  const sections = cardSections(data);
  const out = opts.out ? resolve(app.cwd, opts.out) : join(w, 'model-card');
  const files: string[] = [];
  const write = (name: string, content: string | Buffer) => {
    writeFileAtomic(join(out, name), content, 0o644, false);
    files.push(join(out, name));
  };
  for (const [name, png] of pngs) write(name, png);
  // A plot an earlier card of this directory had and this one has not must not stay beside it.
  for (const p of plots) if (!p.spec) rmSync(join(out, p.file), { force: true });
  write('model-card.md', cardMarkdown(data.title, sections, plots));
  write('model-card.html', cardHtml(data.title, sections, plots, pngs));
  return {
    evaluation_run: evaluation.run_id,
    training_run: training?.run_id ?? null,
    release: data.release,
    verified: unverified.length === 0,
    out_dir: out,
    files,
    not_reported: plots.filter((p) => !p.spec).map((p) => p.id),
  };
}
