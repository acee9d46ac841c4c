import { readFileSync, statSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { PolicySource } from '../config/build.js';
import { isTree, type Tree } from '../config/tree.js';
import { PolicyDeniedError } from '../errors.js';
import type { Logger } from '../log.js';
import type { RunPlan } from '../plan/run-plan.js';
import { digestPath } from '../provenance/digest.js';
import { inspectedDigest, type RunContext, type Runner } from '../runner.js';
import { decide, type PolicyDecision } from './decide.js';
import { isPinned, runFacts, type RunFacts } from './facts.js';
import { loadPolicy } from './policy-file.js';

/** A configuration file a policy may read is small: larger ones are shown as null. */
const MAX_CONFIG_BYTES = 1024 * 1024;

/**
 * The policy gate (README "Policy gate"): every policy evaluated on the run's facts after the runner's pre-flight
 * (the image exists, so its digest is known) and before anything is created in the workspace. A denial throws
 * PolicyDeniedError (exit 8) listing every failed rule of every policy; allowing decisions are returned for the
 * run records.
 */
export async function policyGate(sources: readonly PolicySource[], plan: RunPlan, runner: Runner, ctx: RunContext, log: Logger): Promise<PolicyDecision[]> {
  if (sources.length === 0) return [];
  // A policy that cannot be read or compiled is exit 2 before anything else is looked at.
  const policies = sources.map((s) => ({ source: s, policy: loadPolicy(s.file) }));
  const facts = await gatherFacts(plan, runner, ctx);
  const decisions = policies.map(({ policy }) => decide(policy, facts));
  const denied = decisions.flatMap((d, i) =>
    d.rules.filter((r) => r.outcome === 'failed').map((r) => `${policies[i].policy.name ?? policies[i].source.file} (${policies[i].source.from}): rule ${r.name}: ${r.reason}`),
  );
  for (const [i, d] of decisions.entries())
    log.info(`policy ${d.name ?? d.file} (${policies[i].source.from}): ${d.decision} (${d.rules.filter((r) => r.outcome === 'passed').length} of ${d.rules.length} rules passed)`);
  if (denied.length) {
    throw new PolicyDeniedError(`the run policy denies this run (${denied.length} rule${denied.length === 1 ? '' : 's'} failed):\n  ${denied.join('\n  ')}`, {
      place: { file: policies[0].source.file },
      suggestions: ['Change the run so that every rule holds (e.g. --network=none, --mount=ro, an image pinned by digest), or take it up with whoever wrote the policy.'],
    });
  }
  return decisions;
}

/** What the policy sees: the plan, the image, the existing inputs' digests, the configuration files parsed. */
async function gatherFacts(plan: RunPlan, runner: Runner, ctx: RunContext): Promise<RunFacts> {
  const digests = new Map<string, string>();
  const configs = new Map<string, Tree>();
  for (const t of plan.tasks) {
    for (const p of t.params) {
      if (p.io !== 'input' || p.missing || digests.has(p.hostPath)) continue;
      const d = await digestPath(p.hostPath);
      if (d.sha256) digests.set(p.hostPath, d.sha256);
      if (p.type === 'file' && /config$/i.test(p.name)) {
        const parsed = readConfig(p.hostPath);
        if (parsed) configs.set(p.hostPath, parsed);
      }
    }
  }
  return runFacts(plan, { image: await imageFacts(plan, runner, ctx), digests, configs, now: new Date() });
}

function readConfig(path: string): Tree | null {
  try {
    if (statSync(path).size > MAX_CONFIG_BYTES) return null;
    const value: unknown = parseYaml(readFileSync(path, 'utf8'));
    return isTree(value) ? value : null;
  } catch {
    return null;
  }
}

async function imageFacts(plan: RunPlan, runner: Runner, ctx: RunContext): Promise<RunFacts['image']> {
  const reference = (plan.settings as { image?: unknown }).image;
  if (typeof reference !== 'string' || !runner.inspect) return null;
  let digest: string | null = null;
  try {
    // A policy reads a sha256 digest only: the record's form, and all 64 hex digits of it.
    const d = inspectedDigest(await runner.inspect(ctx, false));
    digest = d !== null && /^sha256:[0-9a-f]{64}$/.test(d) ? d : null;
  } catch {
    // An image that cannot be inspected has no digest the policy could check: null, and a rule asking for one fails.
  }
  return { reference, digest, pinned: isPinned(reference) };
}
