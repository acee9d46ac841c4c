import { isTree, type Tree } from '../config/tree.js';
import type { PlannedTask, RunPlan } from '../plan/run-plan.js';

/** One parameter of one task, as the policy sees it (README "Policy gate"). */
export interface ParamFacts {
  task: string;
  name: string;
  io: 'input' | 'output';
  type: 'file' | 'directory';
  /** The host path. */
  path: string;
  /** The task cannot write it: a container runner mounts it read-only and enforces that (docker, singularity). Always false where nothing enforces it (the host runners, charliecloud, Slurm's submitting side). */
  read_only: boolean;
  exists: boolean;
  /** sha256 of an existing input (a file's bytes, a directory's tree digest as records hold it); null for outputs and missing inputs. */
  sha256: string | null;
  /** The data provider's terms (`terms:` on the parameter in mlcube.yaml); {} when none. A date-only `expires` is given as the end of that day, UTC, so that CEL's timestamp() reads it. */
  terms: Tree;
  /** An input file whose name ends in `config`, parsed (YAML or JSON): e.g. the training configuration; null otherwise. */
  config: Tree | null;
}

/** The `run` variable of a policy: the resolved plan of `mlcube run`, before anything runs. */
export interface RunFacts {
  cube: { name: string | null; file: string };
  platform: string;
  runner: string;
  /** The container image (null for runners without one). pinned: the reference names its digest (name@sha256:...). */
  image: { reference: string; digest: string | null; pinned: boolean } | null;
  /** The task's network: the runner's --network setting, "host" on the host runners, null when the runner keeps its default. */
  network: string | null;
  tasks: { name: string; waits_for: string[]; gates: { name: string; kind: string; source: string; op: string; threshold: number }[] }[];
  parameters: ParamFacts[];
  /** The inputs that carry terms: what a data provider's contract is about. */
  datasets: ParamFacts[];
  /** When the policy is evaluated, RFC 3339 UTC (terms' expiry is compared with it). */
  now: string;
}

/** What only effects can tell (the image, input digests, the parsed configs), gathered by src/policy/gate.ts. */
export interface FactsInput {
  image: RunFacts['image'];
  digests: ReadonlyMap<string, string>;
  configs: ReadonlyMap<string, Tree>;
  now: Date;
}

/** name@sha256:<digest> (a registry digest), or the image id sha256:<id> itself (a local image, no registry). */
const PINNED = /(^|@)sha256:[0-9a-f]{64}$/;

export const isPinned = (reference: string) => PINNED.test(reference);

/** The policy's view of a plan. Pure. */
export function runFacts(plan: RunPlan, more: FactsInput): RunFacts {
  const parameters = plan.tasks.flatMap((t) => t.params.map((p, i) => paramFacts(plan, t, i, more)));
  return {
    cube: { name: plan.cube.name, file: plan.cube.file },
    platform: plan.platform,
    runner: plan.runner.name,
    image: more.image,
    network: networkOf(plan),
    tasks: plan.tasks.map((t) => ({
      name: t.name,
      waits_for: plan.graph.parents[t.name],
      gates: t.gates.map((g) => ({ name: g.name, kind: g.kind, source: g.source, op: g.op, threshold: g.threshold })),
    })),
    parameters,
    datasets: parameters.filter((p) => p.io === 'input' && Object.keys(p.terms).length > 0),
    now: more.now.toISOString(),
  };
}

function paramFacts(plan: RunPlan, task: PlannedTask, i: number, more: FactsInput): ParamFacts {
  const p = task.params[i];
  const spec = (((plan.config.tasks as Tree)[task.name] as Tree).parameters as Tree)[p.io === 'input' ? 'inputs' : 'outputs'] as Tree;
  const terms = isTree(spec[p.name]) ? (spec[p.name] as Tree).terms : undefined;
  return {
    task: task.name,
    name: p.name,
    io: p.io,
    type: p.type,
    path: p.hostPath,
    read_only: p.io === 'input' && readOnly(plan, task, i),
    exists: !p.missing,
    sha256: p.io === 'input' ? (more.digests.get(p.hostPath) ?? null) : null,
    terms: isTree(terms) ? withExpiry(terms) : {},
    config: p.io === 'input' ? (more.configs.get(p.hostPath) ?? null) : null,
  };
}

/**
 * A container runner mounts the input read-only: the mount that shows it (its own, or a directory's around it) says
 * ro. An input an earlier task of the run makes has no mount yet (it is planned again once it exists): the rule the
 * mounts follow decides (src/params/mounts.ts: --mount, else the parameter's opts, else a file is bound read-only).
 */
function readOnly(plan: RunPlan, task: PlannedTask, i: number): boolean {
  // Charliecloud (ch-run 0.31) binds every mount read-write, whatever it is asked: nothing is read-only there.
  if (!task.mounts || !plan.runner.capabilities.enforcesReadOnly) return false;
  const p = task.params[i];
  if (p.missing) {
    const mode = plan.settings.mountMode ?? p.opts;
    return mode ? mode === 'ro' : p.type === 'file';
  }
  const showing = task.mounts.mounts.filter((m) => m.kind !== 'pin' && (p.realPath === m.host || p.realPath.startsWith(`${m.host}/`))).sort((a, b) => b.host.length - a.host.length)[0];
  return showing?.opts === 'ro';
}

function networkOf(plan: RunPlan): string | null {
  if (plan.runner.capabilities.seesHostPaths && !plan.runner.capabilities.batch) return 'host';
  const n = (plan.settings as { network?: unknown }).network;
  return typeof n === 'string' && n !== '' ? n : null;
}

/** `expires: 2027-01-01` (a date: usable through that day) as 2027-01-01T23:59:59Z; a full RFC 3339 time as written. */
function withExpiry(terms: Tree): Tree {
  const e = terms.expires;
  return typeof e === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(e) ? { ...terms, expires: `${e}T23:59:59Z` } : terms;
}
