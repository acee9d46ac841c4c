import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { copyFixture, mlcube, tempDir, type CliResult } from '../helpers/cli.js';

/**
 * The --json contract (README "JSON output"): stdout is exactly one JSON document, on success and on failure, with
 * snake_case keys; a failure's document has `error` {code, message, exit_code, ...} and the process exits with
 * error.exit_code.
 */

/** `path` is the subtree a dotted pattern names (`*`: any key or index; '': the whole document). */
const names = (pattern: string, path: readonly string[]) => {
  const segs = pattern === '' ? [] : pattern.split('.');
  return segs.length === path.length && segs.every((s, i) => s === '*' || s === path[i]);
};

/** Keys that are not snake_case, outside the subtrees that hold the user's own names (`userData`). */
function nonSnakeKeys(value: unknown, userData: readonly string[], path: string[] = []): string[] {
  if (userData.some((p) => names(p, path))) return [];
  if (Array.isArray(value)) return value.flatMap((v, i) => nonSnakeKeys(v, userData, [...path, String(i)]));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => [...(/^[a-z0-9]+(_[a-z0-9]+)*$/.test(k) ? [] : [[...path, k].join('.')]), ...nonSnakeKeys(v, userData, [...path, k])]);
}

/** stdout as a whole is one JSON document (JSON.parse refuses anything before or after it). */
function oneDocument(r: CliResult): any {
  expect(r.stdout.trim(), `stdout is empty; stderr: ${r.stderr}`).to.not.equal('');
  try {
    return JSON.parse(r.stdout);
  } catch (e) {
    throw new Error(`stdout is not one JSON document (${(e as Error).message}):\n${r.stdout}\nstderr: ${r.stderr}`, { cause: e });
  }
}

interface World {
  cube: string;
  ws: string;
  tmp: string;
  /** The signed runs of copy, consume; an earlier, unsigned run of copy. */
  ids: { copy: string; consume: string; unsigned: string };
}

interface Row {
  name: string;
  args: (w: World) => string[];
  /** The process's exit code (a failure's document must say the same). */
  exit?: number;
  /** Subtrees whose keys are the user's (the cube's configuration, platform names, metric names). */
  userData?: string[];
  check?: (doc: any, w: World) => void;
}

const ROWS: Row[] = [
  {
    name: 'run (a task that passes)',
    args: (w) => ['run', `--mlcube=${w.cube}`, '--platform=local', '--task=copy', '--json'],
    check: (d) => expect(d.tasks.map((t: any) => t.status)).to.deep.equal(['succeeded']),
  },
  {
    name: 'run (a task that fails)',
    args: (w) => ['run', `--mlcube=${w.cube}`, '--platform=local', '--task=fail', '--json'],
    exit: 7,
    check: (d) => expect([d.tasks[0].exit_code, d.error.code, d.error.task]).to.deep.equal([7, 'MLCUBE_TASK_FAILED', 'fail']),
  },
  {
    name: 'run (an unknown task: nothing ran)',
    args: (w) => ['run', `--mlcube=${w.cube}`, '--platform=local', '--task=nope', '--json'],
    exit: 2,
    check: (d) => expect([d.tasks, d.error.code]).to.deep.equal([[], 'MLCUBE_USAGE']),
  },
  // The whole document is the cube's configuration.
  { name: 'show_config', args: (w) => ['show_config', `--mlcube=${w.cube}`, '--platform=local', '--json'], userData: [''], check: (d) => expect(d.name).to.equal('basic') },
  { name: 'describe', args: (w) => ['describe', `--mlcube=${w.cube}`, '--json'], check: (d) => expect(d.tasks.map((t: any) => t.name)).to.include('copy') },
  { name: 'config --list', args: () => ['config', '--list', '--json'], userData: ['platforms'], check: (d) => expect(d.platforms).to.have.property('local') },
  { name: 'config --get', args: () => ['config', '--get', 'platforms.docker.build_strategy', '--json'], check: (d) => expect(d).to.equal('pull') },
  {
    name: 'config --create-platform (an edit prints the settings it left)',
    args: () => ['config', '--create-platform', 'docker', 'json_gpu', '--json'],
    userData: ['platforms'],
    check: (d) => expect(d.platforms).to.have.property('json_gpu'),
  },
  { name: 'create', args: (w) => ['create', '--name=json-cube', `--dir=${join(w.tmp, 'json-cube')}`, '--json'], check: (d, w) => expect(d.dir).to.equal(join(w.tmp, 'json-cube')) },
  { name: 'doctor', args: () => ['doctor', '--json'], check: (d) => expect(d.runners.map((r: any) => r.runner)).to.include('local') },
  {
    name: 'keys generate',
    args: (w) => ['keys', 'generate', `--dir=${join(w.tmp, 'more-keys')}`, '--json'],
    check: (d, w) => expect([d.private_key, d.public_key]).to.deep.equal([join(w.tmp, 'more-keys', 'signing.key'), join(w.tmp, 'more-keys', 'signing.pub')]),
  },
  {
    name: 'keys generate --kind=x25519',
    args: (w) => ['keys', 'generate', '--kind=x25519', `--dir=${join(w.tmp, 'x25519-keys')}`, '--json'],
    check: (d, w) => expect([d.kind, d.public_key]).to.deep.equal(['x25519', join(w.tmp, 'x25519-keys', 'recipient.pub')]),
  },
  {
    name: 'encrypt',
    args: (w) => {
      writeFileSync(join(w.tmp, 'enc.key'), randomBytes(32));
      writeFileSync(join(w.tmp, 'secret.txt'), 'secret');
      return ['encrypt', `--key-file=${join(w.tmp, 'enc.key')}`, join(w.tmp, 'secret.txt'), join(w.tmp, 'secret.enc'), '--json'];
    },
    check: (d) => expect([d.kind, d.key_mode]).to.deep.equal(['file', 'key_file']),
  },
  { name: 'decrypt', args: (w) => ['decrypt', `--key-file=${join(w.tmp, 'enc.key')}`, join(w.tmp, 'secret.enc'), join(w.tmp, 'secret.out'), '--json'], check: (d) => expect(d.kind).to.equal('file') },
  {
    name: 'decrypt (a wrong key: the error)',
    args: (w) => {
      writeFileSync(join(w.tmp, 'wrong.key'), randomBytes(32));
      return ['decrypt', `--key-file=${join(w.tmp, 'wrong.key')}`, join(w.tmp, 'secret.enc'), join(w.tmp, 'never'), '--json'];
    },
    exit: 5,
    check: (d) => expect(d.error.code).to.equal('MLCUBE_DECRYPT_FAILED'),
  },
  { name: 'inspect', args: (w) => ['inspect', `--mlcube=${w.cube}`, '--platform=local', '--json'], check: (d) => expect(d.runner).to.equal('local') },
  { name: 'runs list', args: (w) => ['runs', 'list', `--workspace=${w.ws}`, '--json'], userData: ['runs.*.metrics'], check: (d, w) => expect(d.runs.map((r: any) => r.run_id)).to.include(w.ids.copy) },
  {
    name: 'runs show',
    args: (w) => ['runs', 'show', w.ids.copy, `--workspace=${w.ws}`, '--json'],
    // cache.parts is keyed by input parameter names (input:<name>): the user's own.
    userData: ['config', 'metrics.final', 'cache.parts'],
    check: (d, w) => expect([d.run_id, d.exit_code]).to.deep.equal([w.ids.copy, 0]),
  },
  { name: 'runs compare', args: (w) => ['runs', 'compare', w.ids.copy, w.ids.consume, `--workspace=${w.ws}`, '--json'], check: (d, w) => expect(d.runs).to.deep.equal([w.ids.copy, w.ids.consume]) },
  { name: 'provenance export', args: (w) => ['provenance', 'export', `--workspace=${w.ws}`, '--json'], check: (d, w) => expect(d.nodes.map((n: any) => n.id)).to.include(`run:${w.ids.copy}`) },
  { name: 'provenance verify (verified)', args: (w) => ['provenance', 'verify', w.ids.copy, `--workspace=${w.ws}`, '--json'], check: (d) => expect(d.ok).to.equal(true) },
  {
    name: 'provenance verify (an unsigned run: every problem, and the error)',
    args: (w) => ['provenance', 'verify', w.ids.unsigned, `--workspace=${w.ws}`, '--json'],
    exit: 5,
    check: (d, w) => {
      expect([d.run_id, d.ok, d.unsigned, d.error.code]).to.deep.equal([w.ids.unsigned, false, true, 'MLCUBE_PROVENANCE_INVALID']);
      expect(d.problems).to.have.length.above(0);
      for (const p of d.problems) expect(d.error.message).to.contain(p);
    },
  },
  {
    name: 'runs delete --dry-run',
    args: (w) => ['runs', 'delete', w.ids.unsigned, '--dry-run', '--force', `--workspace=${w.ws}`, '--json'],
    check: (d, w) => expect([d.dry_run, d.deleted.map((r: any) => r.run_id)]).to.deep.equal([true, [w.ids.unsigned]]),
  },
  {
    name: 'runs delete (an unknown id: the error)',
    args: (w) => ['runs', 'delete', 'no-such-run', `--workspace=${w.ws}`, '--json'],
    exit: 2,
    check: (d) => expect(d.error.code).to.equal('MLCUBE_USAGE'),
  },
  // No run of this workspace read a model: a usage error (the card's success document: test/cli/card.test.ts).
  { name: 'card (no evaluation run)', args: (w) => ['card', `--workspace=${w.ws}`, '--json'], exit: 2, check: (d) => expect(d.error.message).to.contain('read a model that a recorded run produced') },
  // No Slurm run in the workspace: a usage error, as a document too.
  { name: 'status (no Slurm run)', args: (w) => ['status', `--workspace=${w.ws}`, '--json'], exit: 2, check: (d) => expect(d.error.message).to.contain('no Slurm run recorded') },
  { name: 'cancel (no Slurm run)', args: (w) => ['cancel', `--workspace=${w.ws}`, '--json'], exit: 2, check: (d) => expect(d.error.code).to.equal('MLCUBE_USAGE') },
  // A command line oclif refuses (configure prints no data and takes no --json; an unknown flag).
  { name: 'configure --json (no such flag)', args: (w) => ['configure', `--mlcube=${w.cube}`, '--platform=local', '--json'], exit: 2, check: (d) => expect(d.error.code).to.equal('MLCUBE_USAGE') },
  { name: 'describe --bogus', args: (w) => ['describe', `--mlcube=${w.cube}`, '--bogus', '--json'], exit: 2, check: (d) => expect(d.error.message).to.contain('--bogus') },
  {
    name: 'inspect --json --format=yaml',
    args: (w) => ['inspect', `--mlcube=${w.cube}`, '--platform=local', '--format=yaml', '--json'],
    exit: 2,
    check: (d) => expect(d.error.message).to.contain('two formats'),
  },
];

describe('--json: one document on stdout with snake_case keys, for every command that prints data, on success and on failure', () => {
  let cube: { dir: string; cleanup: () => void };
  let tmp: { dir: string; cleanup: () => void };
  let world: World;
  let env: Record<string, string>;
  before(async () => {
    cube = copyFixture('basic');
    tmp = tempDir('mlcube-json-');
    // HOME: no signing key of the user's; the settings file is this suite's own.
    const home = { HOME: tmp.dir, MLCUBE_SYSTEM_SETTINGS: join(tmp.dir, 'mlcube.yaml') };
    const unsigned = await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=local', '--task=copy', '--json'], { env: home });
    expect(unsigned.exitCode, unsigned.stderr).to.equal(0);
    const keys = await mlcube(['keys', 'generate', `--dir=${join(tmp.dir, 'keys')}`], { env: home });
    expect(keys.exitCode, keys.stderr).to.equal(0);
    env = { ...home, MLCUBE_SIGNING_KEY: join(tmp.dir, 'keys', 'signing.key') };
    const signed = await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=local', '--task=copy,consume', '--json'], { env });
    expect(signed.exitCode, signed.stderr).to.equal(0);
    const [copy, consume] = oneDocument(signed).tasks.map((t: any) => t.run_id);
    world = { cube: cube.dir, ws: join(cube.dir, 'workspace'), tmp: tmp.dir, ids: { copy, consume, unsigned: oneDocument(unsigned).tasks[0].run_id } };
  });
  after(() => {
    cube.cleanup();
    tmp.cleanup();
  });

  for (const row of ROWS) {
    it(`${row.name}: exit ${row.exit ?? 0}, stdout parses as one document, keys snake_case`, async () => {
      const r = await mlcube(row.args(world), { env });
      expect(r.exitCode, r.stderr).to.equal(row.exit ?? 0);
      const doc = oneDocument(r);
      expect(nonSnakeKeys(doc, row.userData ?? []), 'keys not in snake_case').to.deep.equal([]);
      if (row.exit) {
        expect(doc.error.exit_code, 'the document says the exit code').to.equal(row.exit);
        expect(doc.error.message).to.be.a('string').and.not.equal('');
        // stderr keeps the human message.
        expect(r.stderr).to.match(/mlcube error: MLCUBE_|Error: /);
      }
      row.check?.(doc, world);
    });
  }

  it('the key check finds camelCase keys, and skips only the subtrees named as user data', () => {
    const doc = { tasks: [{ exitCode: 1, run_id: 'x' }], config: { GREETING: 'hi', nested: { someKey: 1 } } };
    expect(nonSnakeKeys(doc, [])).to.deep.equal(['tasks.0.exitCode', 'config.GREETING', 'config.nested.someKey']);
    expect(nonSnakeKeys(doc, ['config'])).to.deep.equal(['tasks.0.exitCode']);
    expect(nonSnakeKeys(doc, ['tasks.*'])).to.deep.equal(['config.GREETING', 'config.nested.someKey']);
    expect(nonSnakeKeys(doc, [''])).to.deep.equal([]);
  });
});

describe("run --json: the summary alone on stdout, the tasks' own stdout on stderr, on both argv parsers", () => {
  let cube: { dir: string; cleanup: () => void };
  beforeEach(() => (cube = copyFixture('basic')));
  afterEach(() => cube.cleanup());

  // `--` at the end is taken by oclif only (src/cli/run-argv.ts); MLCUBE_RECORD=off: no recorder's tee, the task writes to our fds itself.
  const paths = [
    { name: 'without oclif', tail: [] as string[] },
    { name: 'through oclif', tail: ['--'] },
  ];
  const records = [
    { name: 'recorded', env: {} as Record<string, string> },
    { name: 'not recorded', env: { MLCUBE_RECORD: 'off' } },
  ];
  for (const p of paths)
    for (const rec of records) {
      const run = (task: string, more: string[] = []) => mlcube(['run', `--mlcube=${cube.dir}`, '--platform=local', `--task=${task}`, '--json', ...more, ...p.tail], { env: rec.env });

      it(`a passing task that prints on stdout (${p.name}, ${rec.name}): stdout parses, the task's text is on stderr`, async () => {
        const r = await run('report');
        expect(r.exitCode, r.stderr).to.equal(0);
        const doc = oneDocument(r);
        expect(doc.tasks).to.have.length(1);
        const [t] = doc.tasks;
        expect([t.task, t.status, t.exit_code]).to.deep.equal(['report', 'succeeded', 0]);
        expect(t.duration_ms).to.be.a('number').and.at.least(0);
        if (rec.env.MLCUBE_RECORD) expect(t).to.not.have.property('run_id');
        else expect(t.run_id).to.match(/^\d{8}T\d{6}Z-report-[0-9a-f]{6}$/);
        expect(r.stdout).to.not.contain('report: stdout line');
        expect(r.stderr).to.contain('report: stdout line').and.contain('report: stderr line');
      });

      it(`a failing task after a passing one (${p.name}, ${rec.name}): stdout parses, with what ran and the error; exit is the task's code`, async () => {
        const r = await run('report,fail,copy', ['-Ptasks.fail.depends_on=[report]', '-Ptasks.copy.depends_on=[fail]']);
        expect(r.exitCode).to.equal(7);
        const doc = oneDocument(r);
        expect(doc.tasks.map((t: any) => [t.task, t.status, t.exit_code])).to.deep.equal([
          ['report', 'succeeded', 0],
          ['fail', 'failed', 7],
        ]);
        expect(doc.error).to.include({ code: 'MLCUBE_TASK_FAILED', exit_code: 7, task: 'fail' });
        expect(doc.error.message).to.contain('task failed with exit code 7').and.contain('not run: copy');
        expect(nonSnakeKeys(doc, [])).to.deep.equal([]);
        // stderr keeps the task's output and the human message.
        expect(r.stderr).to.contain('report: stdout line').and.contain('failing on purpose with 7').and.contain('mlcube error: MLCUBE_TASK_FAILED');
      });
    }
});
