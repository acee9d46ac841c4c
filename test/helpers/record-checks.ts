import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkSchema } from '../../src/config/schemas.js';

/**
 * What every run record of the fixture's `report` task must hold, whatever the runner: the task's own stdout and
 * stderr text saved and digested, the metric row it wrote through $MLCUBE_METRICS_FILE, the host facts, and usage.
 */
export function expectReportRecord(runDir: string, opts: { usageMethod: RegExp }): any {
  const rec = JSON.parse(readFileSync(join(runDir, 'record.json'), 'utf8'));
  expect(checkSchema('run-record.schema.json', rec)).to.deep.equal([]);
  for (const [stream, text] of [
    ['stdout', 'report: stdout line\n'],
    ['stderr', 'report: stderr line\n'],
  ] as const) {
    const c = rec.output[stream];
    const saved = readFileSync(join(runDir, c.file));
    expect(saved.toString()).to.contain(text);
    expect(c).to.include({ bytes: saved.length, total_bytes: saved.length, truncated: false, limit_bytes: 16 * 1024 * 1024, sha256: createHash('sha256').update(saved).digest('hex') });
  }
  expect(rec.metrics.final).to.deep.equal({ accuracy: 0.5 });
  expect(rec.metrics.rows).to.have.length(1);
  expect(readFileSync(join(runDir, 'metrics.jsonl'), 'utf8')).to.contain('"accuracy"');
  expect(rec.host.cpu_count).to.be.greaterThan(0);
  expect(rec.host.memory_bytes).to.be.greaterThan(0);
  expect(rec.host.cpu_model).to.be.a('string').and.not.equal('');
  expect(rec.host).to.have.property('gpus'); // null without nvidia-smi, the GPUs with it
  expect(rec.usage.method).to.match(opts.usageMethod);
  expect(rec.usage.cpu_ms).to.be.greaterThan(100); // the task spins ~0.5 s
  expect(rec.usage.max_rss_bytes).to.be.greaterThan(32 * 1024 * 1024); // and holds 64 MiB
  return rec;
}
