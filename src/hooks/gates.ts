import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { AppEnv } from '../app/context.js';
import { GATE_FAILED_EXIT_CODE, GateFailedError } from '../errors.js';
import { describeReport, evaluateGates, type GateReport } from '../gates/evaluate.js';
import { taskMeasure } from '../gates/measure.js';
import { OPERATOR_KEY } from '../gates/spec.js';
import { METRICS_FILE_NAME } from '../runner.js';
import { newMetricsDir, stdoutStream } from '../task-io.js';
import type { RunHook, TaskOutcome } from './hook.js';

/**
 * Release gates (README "Release gates"): after a task with `gates:` ended with exit code 0, each gate is measured
 * (its metric rows, a JSON file, a parameter's size) and judged; the outcome carries the report, which the run
 * record keeps and signs (src/hooks/provenance.ts) and on which the run stops (src/app/run-steps.ts settle).
 * Registered after the provenance hook, so it runs inside it: the task's metrics file still exists. Unrecorded runs
 * (MLCUBE_RECORD=off) give the task a metrics file of its own here. A batch task's gates are evaluated by its
 * job's own `mlcube run`, whose exit code says how they went.
 */
export function gatesHook(app: AppEnv): RunHook {
  return {
    name: 'gates',
    async aroundTask(task, ctx, next) {
      if (ctx.batch || task.gates.length === 0) return next();
      let own: string | undefined;
      let run = ctx.run;
      if (!run.taskIo) {
        own = newMetricsDir();
        run = { ...run, taskIo: { stdout: stdoutStream(run.stdoutTo), stderr: process.stderr, metricsDir: own } };
      }
      try {
        const r = await next({ ...ctx, run });
        if (r.exitCode !== 0) return r;
        const hostPath = (io: 'input' | 'output', name: string) => task.params.find((p) => p.io === io && p.name === name)!.hostPath;
        const gates = evaluateGates(task.gates, taskMeasure(join(run.taskIo!.metricsDir, METRICS_FILE_NAME), ctx.plan.workspace, hostPath));
        if (gates.release === 'passed') app.log.info(`task "${task.name}": release gates passed: ${gates.results.map((g) => `${g.name} (${g.reason})`).join(', ')}`);
        return { ...r, gates };
      } finally {
        if (own) rmSync(own, { recursive: true, force: true });
      }
    },
  };
}

/** The error a failed release decision ends the run with: every gate with its value, operator and threshold. */
export function gateFailure(task: string, report: GateReport, notRun: readonly string[] = []): GateFailedError {
  const failed = report.results.filter((r) => r.outcome === 'failed');
  const first = failed[0];
  return new GateFailedError(
    `release gates failed (${failed.length} of ${report.results.length})${notRun.length ? `; not run: ${notRun.join(', ')}` : ''}:\n  ${describeReport(report).join('\n  ')}`,
    {
      place: { task },
      suggestions: [
        first
          ? `Improve what the failed gate measures; to accept it as it is, override the threshold: -Ptasks.${task}.gates.${first.name}.${OPERATOR_KEY[first.op]}=<value> (README "Release gates").`
          : 'See README "Release gates".',
      ],
    },
  );
}

/** A task's result once its gates are judged: one that exited 0 but failed its release gates is failed, with exit code 7. */
export function gatedResult(o: Pick<TaskOutcome, 'exitCode' | 'gates'>): { status: 'succeeded' | 'failed'; exitCode: number } {
  if (o.exitCode !== 0) return { status: 'failed', exitCode: o.exitCode };
  return o.gates?.release === 'failed' ? { status: 'failed', exitCode: GATE_FAILED_EXIT_CODE } : { status: 'succeeded', exitCode: 0 };
}
