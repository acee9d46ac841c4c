import type { AppEnv } from './context.js';
import { graphDescription, renderGraph, type GraphDescription } from './describe.js';
import { jobsLimit, planFor, type RunOptions } from './run.js';
import { formatTimeout } from '../plan/timeout.js';
import { predictCache, type CachePrediction } from '../cache/predict.js';
import { recordingOff } from '../hooks/provenance.js';
import { policyGate } from '../policy/gate.js';
import { PolicyDeniedError } from '../errors.js';
import { runContext } from './run-steps.js';
import { plannedPrivatePlaces, withPrivatePaths } from '../params/private-paths.js';
import type { TaskPreview } from '../runner.js';

/** What `run --dry-run` prints: the plan, before any runner is loaded; nothing is created or changed. */
export interface DryRunPlan {
  dry_run: true;
  cube: string;
  platform: string;
  runner: string;
  workspace: string;
  /** Tasks at once on an attached runner (--jobs); null on a batch runner, whose scheduler decides. */
  jobs: number | null;
  graph: GraphDescription;
  tasks: {
    name: string;
    waits_for: string[];
    timeout_ms: number | null;
    parameters: { name: string; io: string; type: string; path: string; exists: boolean; encrypted: boolean }[];
    /** The command line, environment variable names and mounts, as the runner would start it; null where the runner decides only at the start. */
    start: TaskPreview | null;
    /** What the task cache would decide now (README "Task cache"). */
    cache: CachePrediction;
  }[];
  /** The run policies and, when they could be evaluated here, their decision (allow, or deny with the failed rules). */
  policies: { file: string; from: string }[];
  policy_decision: { decision: 'allow' | 'deny' | 'not evaluated'; detail: string } | null;
}

export async function dryRun(opts: Omit<RunOptions, 'signal'>, app: AppEnv): Promise<DryRunPlan> {
  const jobs = jobsLimit(opts.jobs);
  const { plan, policies, spec, cache } = planFor(opts, app);
  // The runner is loaded to say how it would start each task; nothing is checked, pulled or built.
  const runner = await spec.create(plan.settings);
  const ctx = runContext(plan, app, new AbortController().signal);
  const previews = new Map(plan.tasks.map((t) => [t.name, runner.preview ? previewOf(() => runner.preview!(withPrivatePaths(t, plannedPrivatePlaces(t)), ctx)) : null]));
  const predicted = await predictCache(plan, cache, app, !recordingOff(app.env));
  let policyDecision: DryRunPlan['policy_decision'] = null;
  if (policies.length) {
    try {
      const d = await policyGate(policies, plan, runner, ctx, app.log);
      policyDecision = { decision: 'allow', detail: d.map((x) => `${x.name ?? x.file}: ${x.rules.length} of ${x.rules.length} rules passed`).join('; ') };
    } catch (e) {
      policyDecision = e instanceof PolicyDeniedError ? { decision: 'deny', detail: e.message } : { decision: 'not evaluated', detail: e instanceof Error ? e.message : String(e) };
    }
  }
  return {
    dry_run: true,
    cube: plan.cube.file,
    platform: plan.platform,
    runner: plan.runner.name,
    workspace: plan.workspace,
    jobs: plan.runner.capabilities.batch ? null : jobs,
    graph: graphDescription(plan.graph),
    tasks: plan.tasks.map((t) => ({
      name: t.name,
      waits_for: plan.graph.parents[t.name],
      timeout_ms: t.timeoutMs,
      parameters: t.params.map((p) => ({ name: p.name, io: p.io, type: p.type, path: p.hostPath, exists: !p.missing, encrypted: p.encryption !== undefined })),
      start: previews.get(t.name) ?? null,
      cache: predicted.get(t.name)!,
    })),
    policies: policies.map((p) => ({ file: p.file, from: p.from })),
    policy_decision: policyDecision,
  };
}

/** A preview the runner cannot make (a config it would reject at its pre-flight) is shown as not known here. */
function previewOf(make: () => TaskPreview): TaskPreview | null {
  try {
    return make();
  } catch {
    return null;
  }
}

export function renderDryRun(d: DryRunPlan): string {
  const at = d.jobs === null ? 'the batch system schedules the jobs' : `at most ${d.jobs} at once`;
  const lines = [
    `Dry run: nothing was run or changed. ${d.tasks.length} task${d.tasks.length === 1 ? '' : 's'} on the ${d.runner} runner (platform ${d.platform}; ${at})`,
    `  cube = ${d.cube}`,
    `  workspace = ${d.workspace}`,
    ...renderGraph(d.graph),
  ];
  lines.push('  Tasks, in the order they start:');
  for (const t of d.tasks) {
    lines.push(`    ${t.name}${t.waits_for.length ? ` (after ${t.waits_for.join(', ')})` : ''}${t.timeout_ms !== null ? `, timeout ${formatTimeout(t.timeout_ms)}` : ''}`);
    for (const p of t.parameters) {
      const state = p.exists ? '' : p.io === 'output' ? ' (to be made)' : ' (made by an earlier task, or optional)';
      lines.push(`      ${p.io} ${p.name} (${p.type}${p.encrypted ? ', encrypted' : ''}): ${p.path}${state}`);
    }
    if (t.start) {
      lines.push(`      argv: ${t.start.argv.join(' ')}`);
      lines.push(`      env: ${t.start.env.join(' ') || '(none)'}${t.start.host_env ? " and the host's environment" : ''}`);
      for (const m of t.start.mounts) lines.push(`      mount: ${m}`);
    } else lines.push('      argv, env and mounts: made by the runner when the task starts');
    const word = { hit: 'cached (would not run)', miss: 'would run', off: 'would run (not cached)', later: 'decided later' }[t.cache.decision];
    lines.push(`      cache: ${word}: ${t.cache.reason}`);
  }
  for (const p of d.policies) lines.push(`  Policy ${p.file} (${p.from})`);
  if (d.policy_decision) lines.push(`  Policy decision: ${d.policy_decision.decision}: ${d.policy_decision.detail}`);
  return lines.join('\n') + '\n';
}
