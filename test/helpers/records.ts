import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { manifestLine, treeDigest, type TreeEntry } from '../../src/provenance/digest.js';
import { manifestFileOf, RECORD_FILE, type RecordedParam, type RunRecord } from '../../src/provenance/record.js';
import { runsDir } from '../../src/provenance/store.js';

/** A stable fake sha256 for a label (schema-valid hex). */
export const hex = (label: string) => createHash('sha256').update(label).digest('hex');

/** A schema-valid v2 record of a finished run; parameters and fields overridable. */
export function makeRecord(id: string, parameters: RecordedParam[], over: Partial<RunRecord> = {}): RunRecord {
  return {
    schema: 'mlcube-run-record/v2',
    run_id: id,
    task: `task-${id}`,
    status: 'succeeded',
    exit_code: 0,
    pid: 1,
    started_at: `2026-11-23T00:00:0${id.slice(-1)}.000Z`,
    ended_at: `2026-11-23T00:00:0${id.slice(-1)}.500Z`,
    duration_ms: 500,
    workspace: '/nowhere',
    cube: { name: 'fake', root: '/nowhere/..', root_from_workspace: '..', file: 'mlcube.yaml', sha256: hex('cube'), code: null },
    runner: 'local',
    runs_on_host: true,
    platform: 'local',
    host: { hostname: 'h', platform: 'linux', arch: 'x64', node: 'v20', user: 'u', cpu_model: 'cpu', cpu_count: 1, memory_bytes: 1, gpus: null },
    gpus: 'none',
    image: null,
    config: {},
    secrets: [],
    parameters,
    metrics: { rows: [], final: {}, rejected: [] },
    output: { stdout: null, stderr: null },
    usage: null,
    logs: [],
    lineage: [],
    signature: null,
    ...over,
  };
}

export function fileParam(name: string, io: 'input' | 'output', sha256: string, path = name): RecordedParam {
  return { name, io, type: 'file', path, base: 'workspace', container_path: null, found: 'file', digest: { algorithm: 'sha256', sha256, size: 1 }, kind: 'dataset' };
}

export function dirParam(name: string, io: 'input' | 'output', entries: TreeEntry[], path = name): RecordedParam & { entriesList: TreeEntry[] } {
  const p: RecordedParam = {
    name,
    io,
    type: 'directory',
    path,
    base: 'workspace',
    container_path: null,
    found: 'directory',
    digest: { algorithm: 'mlcube-tree-v1', sha256: treeDigest(entries), entries: entries.length, manifest: manifestFileOf({ io, name }) },
    kind: 'dataset',
  };
  return Object.assign(p, { entriesList: entries });
}

/** Writes the record and the manifests of its directory parameters into `<workspace>/.mlcube/runs/<id>/`. */
export function writeRecord(ws: string, r: RunRecord): void {
  const dir = join(runsDir(ws), r.run_id);
  mkdirSync(join(dir, 'manifests'), { recursive: true });
  for (const p of r.parameters as (RecordedParam & { entriesList?: TreeEntry[] })[]) {
    if (p.entriesList) writeFileSync(join(dir, ...p.digest!.manifest!.split('/')), p.entriesList.map(manifestLine).join(''));
    delete p.entriesList;
  }
  writeFileSync(join(dir, RECORD_FILE), JSON.stringify(r));
}
