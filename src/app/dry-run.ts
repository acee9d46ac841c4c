import type { AppEnv } from './context.js';
import { graphDescription, renderGraph, type GraphDescription } from './describe.js';
import { jobsLimit, planFor, type RunOptions } from './run.js';
import { formatTimeout } from '../plan/timeout.js';

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
  tasks: { name: string; waits_for: string[]; timeout_ms: number | null; parameters: { name: string; io: string; type: string; path: string; exists: boolean; encrypted: boolean }[] }[];
  /** The run policies that will be evaluated before the run starts (their decision needs the image: not made here). */
  policies: { file: string; from: string }[];
}

export function dryRun(opts: Omit<RunOptions, 'signal'>, app: AppEnv): DryRunPlan {
  const jobs = jobsLimit(opts.jobs);
  const { plan, policies } = planFor(opts, app);
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
    })),
    policies: policies.map((p) => ({ file: p.file, from: p.from })),
  };
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
  }
  for (const p of d.policies) lines.push(`  Policy ${p.file} (${p.from}): evaluated before the run starts`);
  return lines.join('\n') + '\n';
}
