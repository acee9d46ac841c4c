import { relative } from 'node:path';
import { canonicalSha256 } from './canonical-json.js';
import type { RecordedParam, RunRecord } from './record.js';

export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';
export const BUILD_TYPE = 'https://mlcube-ts.local/provenance/run/v1';

interface ResourceDescriptor {
  name?: string;
  uri?: string;
  digest: Record<string, string>;
  annotations?: Record<string, unknown>;
}

/** The record as signed: everything but its own `signature` field (written after signing). */
export function recordDigest(record: RunRecord): string {
  const { signature: _ignored, ...rest } = record;
  return canonicalSha256(rest);
}

const digestSet = (p: RecordedParam): Record<string, string> => ({ [p.digest!.algorithm]: p.digest!.sha256 });

/** Output files (each file parameter, each file inside an output directory) and each output directory's tree digest. */
function subjects(record: RunRecord): ResourceDescriptor[] {
  const out: ResourceDescriptor[] = [];
  for (const p of record.parameters) {
    if (p.io !== 'output' || !p.digest) continue;
    const name = relative(record.workspace, p.host_path) || '.';
    out.push({ name, digest: digestSet(p), annotations: { parameter: p.name, type: p.type } });
    for (const e of p.digest.entries ?? []) if (e.type === 'file') out.push({ name: `${name}/${e.path}`, digest: { sha256: e.sha256! } });
  }
  return out;
}

/** in-toto Statement v1 with a SLSA Provenance v1 predicate describing one finished task run. */
export function buildStatement(record: RunRecord): Record<string, unknown> {
  const deps: ResourceDescriptor[] = record.parameters
    .filter((p) => p.io === 'input' && p.digest)
    .map((p) => ({ name: p.name, uri: `file://${p.host_path}`, digest: digestSet(p) }));
  deps.push({ name: 'mlcube.yaml', uri: `file://${record.cube.file}`, digest: { sha256: record.cube.sha256 } });
  if (record.image?.digest) {
    const [alg, hex] = record.image.digest.includes(':') ? record.image.digest.split(':', 2) : ['sha256', record.image.digest];
    deps.push({ name: 'image', uri: record.image.reference ?? undefined, digest: { [alg]: hex }, annotations: { kind: record.image.kind } });
  }
  return {
    _type: STATEMENT_TYPE,
    subject: subjects(record),
    predicateType: SLSA_PROVENANCE_V1,
    predicate: {
      buildDefinition: {
        buildType: BUILD_TYPE,
        externalParameters: {
          task: record.task,
          platform: record.platform,
          parameters: Object.fromEntries(record.parameters.map((p) => [p.name, p.host_path])),
        },
        internalParameters: { runner: record.runner, gpus: record.gpus, config_sha256: canonicalSha256(record.config ?? null) },
        resolvedDependencies: deps,
      },
      runDetails: {
        builder: { id: 'https://mlcube-ts.local/mlcube' },
        metadata: { invocationId: record.run_id, startedOn: record.started_at, finishedOn: record.ended_at },
        byproducts: [{ name: 'record.json', digest: { sha256: recordDigest(record) }, annotations: { exit_code: record.exit_code, status: record.status } }],
      },
    },
  };
}
