import type { Policy } from './policy-file.js';
import type { RunFacts } from './facts.js';

export interface RuleResult {
  name: string;
  outcome: 'passed' | 'failed';
  /** Why it failed: the rule's message, or what its expression gave instead of true. */
  reason: string | null;
}

/** A policy's decision on a run, as the run record keeps it (schemas/run-record.schema.json `policy`). */
export interface PolicyDecision {
  decision: 'allow' | 'deny';
  name: string | null;
  file: string;
  sha256: string;
  rules: RuleResult[];
}

/**
 * Every rule evaluated on `run` (pure). Fails closed: a rule allows only when its expression is exactly true; false,
 * any other value, or an evaluation error (a field that is not there) fails it, with what happened.
 */
export function decide(policy: Policy, run: RunFacts): PolicyDecision {
  const rules = policy.rules.map((r): RuleResult => {
    let value: unknown;
    try {
      value = r.check({ run });
    } catch (e) {
      return { name: r.name, outcome: 'failed', reason: `${r.message ? `${r.message}: ` : ''}could not be evaluated: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}` };
    }
    if (value === true) return { name: r.name, outcome: 'passed', reason: null };
    const got = typeof value === 'boolean' ? '' : ` (the expression gave ${typeof value === 'bigint' ? `${value}` : (JSON.stringify(value) ?? String(value))}, not a boolean)`;
    return { name: r.name, outcome: 'failed', reason: `${r.message ?? `requires ${r.require}`}${got}` };
  });
  return { decision: rules.every((r) => r.outcome === 'passed') ? 'allow' : 'deny', name: policy.name, file: policy.file, sha256: policy.sha256, rules };
}
