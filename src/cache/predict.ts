import type { AppEnv } from '../app/context.js';
import { redactSecrets } from '../config/secrets.js';
import type { RunPlan } from '../plan/run-plan.js';
import { digestPath } from '../provenance/digest.js';
import { paramDigestOptions } from '../provenance/paths.js';
import { codeExclusions, digestCode, recordDigest, recordedParams } from '../provenance/recorder.js';
import { cacheKey, taskKeyFacts } from './key.js';
import type { CacheSettings } from './settings.js';
import { sharedOutputPaths, TaskCache } from './task-cache.js';

/** What the task cache would decide for each task of a plan (`run --dry-run`): nothing is written. */
export interface CachePrediction {
  decision: 'hit' | 'miss' | 'off' | 'later';
  reason: string;
}

/**
 * The task cache's decision for each task as the run would make it now, from the same key (src/cache/key.ts) over
 * what is on disk; a task after one that would run is decided only once that one has run (`later`), and a task in
 * a container needs its image's digest, which only the run asks for.
 */
export async function predictCache(plan: RunPlan, settings: CacheSettings, app: AppEnv, recording: boolean): Promise<Map<string, CachePrediction>> {
  const out = new Map<string, CachePrediction>();
  if (!recording) {
    for (const t of plan.tasks) out.set(t.name, { decision: 'off', reason: 'run records are off (MLCUBE_RECORD=off): the cache works from them' });
    return out;
  }
  const cache = new TaskCache(settings, plan.workspace, sharedOutputPaths(plan.config, { workspace: plan.workspace, env: app.env, home: app.home }), app.log, true);
  const red = redactSecrets(plan.unresolved, plan.config, app.env);
  const onHost = plan.runner.capabilities.seesHostPaths;
  const code = onHost ? (await digestCode(plan.cube.root, codeExclusions(plan.cube.root, plan.workspace), cache.memo)).digest.sha256 : null;
  for (const task of plan.tasks) {
    const waiting = plan.graph.parents[task.name].filter((p) => out.get(p)?.decision !== 'hit');
    if (!task.cache) out.set(task.name, { decision: 'off', reason: `cache: false in tasks.${task.name}` });
    else if (plan.runner.capabilities.batch) out.set(task.name, { decision: 'later', reason: "decided by the job's own mlcube where it runs" });
    else if (!onHost) out.set(task.name, { decision: 'later', reason: "decided when the run starts: the key needs the image's digest" });
    else if (waiting.length && settings.enabled) out.set(task.name, { decision: 'later', reason: `decided after ${waiting.join(', ')}, which may change its inputs` });
    else {
      const parameters = recordedParams(task, plan.workspace, []);
      for (const [i, p] of task.params.entries()) {
        if (p.io === 'input')
          parameters[i] = { ...parameters[i], ...recordDigest(parameters[i], await digestPath(p.hostPath, { ...paramDigestOptions(p.hostPath, plan.workspace), memo: cache.memo })) };
      }
      const key = cacheKey(taskKeyFacts(red.config, { task: task.name, runner: plan.runner.name, gpus: plan.gpus, code, image: null, secrets: red.secrets, parameters }));
      const d = await cache.decide(task, key, { parameters, image: null });
      out.set(task.name, { decision: d.decision, reason: d.reason });
    }
  }
  return out;
}
