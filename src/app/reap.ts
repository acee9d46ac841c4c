import { removeRunContainers } from '../../runners/index.js';
import { reapWorkspace } from '../provenance/reaper.js';
import type { RunRecord } from '../provenance/record.js';
import type { AppEnv } from './context.js';

/**
 * Cleans up after the killed runs of a workspace (src/provenance/reaper.ts) with the real runners' removal:
 * called by run, runs list/show/compare and provenance verify/export before they read the records. Never throws.
 */
export function reapKilledRuns(workspace: string, app: AppEnv, known?: readonly RunRecord[]): Promise<Map<string, RunRecord>> {
  return reapWorkspace(workspace, { log: app.log, known, removeContainers: removeRunContainers });
}
