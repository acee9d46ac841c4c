import { RUNNERS } from '../../runners/index.js';
import { isMlcubeError } from '../errors.js';
import { settingsPath } from '../config/settings.js';
import type { Availability } from '../runner.js';
import type { AppEnv } from './context.js';

export interface DoctorReport {
  node: string;
  settings: string;
  runners: ({ runner: string } & Availability)[];
}

/** `doctor`: probes every runner and says what is missing and how to get it. */
export async function doctor(app: AppEnv): Promise<DoctorReport> {
  const runners = await Promise.all(
    RUNNERS.map(async (spec) => {
      try {
        const runner = await spec.create();
        return { runner: spec.name, ...(await runner.probe()) };
      } catch (e) {
        const reason = isMlcubeError(e) ? e.detail : String(e);
        const remedy = isMlcubeError(e) ? e.suggestions.join(' ') : 'Re-run with --log-level=debug.';
        return { runner: spec.name, available: false as const, reason, remedy };
      }
    }),
  );
  return { node: process.version, settings: settingsPath(app.env, app.home), runners };
}

export function renderDoctor(r: DoctorReport): string {
  const lines = [`node ${r.node}`, `system settings: ${r.settings}`, ''];
  for (const x of r.runners) {
    if (x.available) lines.push(`ok       ${x.runner.padEnd(12)} ${x.version}${x.detail ? ` (${x.detail})` : ''}`);
    else lines.push(`missing  ${x.runner.padEnd(12)} ${x.reason}\n         ${''.padEnd(12)} fix: ${x.remedy}`);
  }
  return lines.join('\n') + '\n';
}
