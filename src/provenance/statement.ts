import { canonicalSha256 } from './canonical-json.js';
import { manifestKey, type Manifests, type RecordedParam, type RunRecord } from './record.js';

export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';
export const BUILD_TYPE = 'https://mlcube-ts.local/provenance/run/v2';
/** Files of an output directory listed one by one as subjects, at most (the directory's own digest covers all). */
export const MAX_FILE_SUBJECTS = 1000;
/** The byproduct of the statement that carries a task's release decision and its gates. */
export const RELEASE_GATES = 'release-gates';

/** The byproduct of the statement that carries the run policies' decisions. */
export const RUN_POLICY = 'run-policy';

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
/** Subject names: workspace-relative paths as recorded (absolute ones for parameters outside the workspace). */
const nameOf = (p: RecordedParam) => p.path;

/** Output files (each file parameter, each file inside an output directory up to the cap) and each output directory's tree digest. */
function subjects(record: RunRecord, manifests: Manifests): ResourceDescriptor[] {
  const out: ResourceDescriptor[] = [];
  for (const p of record.parameters) {
    if (p.io !== 'output' || !p.digest) continue;
    out.push({ name: nameOf(p), digest: digestSet(p), annotations: { parameter: p.name, type: p.type, kind: p.kind, base: p.base } });
    const files = (manifests.get(manifestKey(p)) ?? []).filter((e) => e.type === 'file');
    if (files.length <= MAX_FILE_SUBJECTS) for (const e of files) out.push({ name: `${nameOf(p) === '.' ? '' : `${nameOf(p)}/`}${e.path}`, digest: { sha256: e.sha256! } });
  }
  return out;
}

/** in-toto Statement v1 with a SLSA Provenance v1 predicate describing one finished task run. */
export function buildStatement(record: RunRecord, manifests: Manifests): Record<string, unknown> {
  const deps: ResourceDescriptor[] = record.parameters
    .filter((p) => p.io === 'input' && p.digest)
    .map((p) => ({ name: p.name, uri: p.base === 'absolute' ? `file://${p.path}` : `workspace:${p.path}`, digest: digestSet(p), annotations: { kind: p.kind } }));
  deps.push({ name: 'mlcube.yaml', uri: `cube:${record.cube.file}`, digest: { sha256: record.cube.sha256 } });
  if (record.cube.code)
    deps.push({ name: 'code', uri: 'cube:.', digest: { [record.cube.code.algorithm]: record.cube.code.sha256 }, annotations: { kind: 'code', excluded: record.cube.code.excluded } });
  if (record.image?.digest) {
    const [alg, hex] = record.image.digest.split(':', 2);
    deps.push({ name: 'image', uri: record.image.reference ?? undefined, digest: { [alg]: hex }, annotations: { kind: record.image.kind } });
  }
  return {
    _type: STATEMENT_TYPE,
    subject: subjects(record, manifests),
    predicateType: SLSA_PROVENANCE_V1,
    predicate: {
      buildDefinition: {
        buildType: BUILD_TYPE,
        externalParameters: {
          task: record.task,
          platform: record.platform,
          parameters: Object.fromEntries(record.parameters.map((p) => [p.name, { path: p.path, base: p.base }])),
          // What the run is filed under (absent from records written before these existed).
          ...(record.experiment !== undefined ? { experiment: record.experiment, tags: record.tags ?? {} } : {}),
          ...(record.sweep ? { sweep: record.sweep } : {}),
        },
        internalParameters: { runner: record.runner, gpus: record.gpus, config_sha256: canonicalSha256(record.config ?? null) },
        resolvedDependencies: deps,
      },
      runDetails: {
        builder: { id: 'https://mlcube-ts.local/mlcube' },
        metadata: { invocationId: record.run_id, startedOn: record.started_at, finishedOn: record.ended_at },
        byproducts: [
          { name: 'record.json', digest: { sha256: recordDigest(record) }, annotations: { exit_code: record.exit_code, status: record.status } },
          // The release decision, attested (README "Release gates"): absent for a task without gates.
          // The run policies that allowed the run (README "Policy gate"): absent without policies.
          ...(record.policies
            ? [
                {
                  name: RUN_POLICY,
                  digest: { sha256: canonicalSha256(record.policies) },
                  annotations: { policies: record.policies.map((p) => ({ name: p.name, sha256: p.sha256, decision: p.decision })) },
                },
              ]
            : []),
          ...(record.gates ? [{ name: RELEASE_GATES, digest: { sha256: canonicalSha256(record.gates) }, annotations: { release: record.gates.release, gates: record.gates.results } }] : []),
        ],
      },
    },
  };
}
