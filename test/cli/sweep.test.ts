import { expect } from 'chai';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { copyFixture, mlcube, readJson, snapshot, tempDir } from '../helpers/cli.js';
import { checkSchema } from '../../src/config/schemas.js';

/** Every record of a workspace. */
const records = (ws: string) =>
  readdirSync(join(ws, '.mlcube', 'runs'))
    .filter((d) => existsSync(join(ws, '.mlcube', 'runs', d, 'record.json')))
    .map((d) => readJson(join(ws, '.mlcube', 'runs', d, 'record.json')));

/** Every {task, start, end} line the diamond's tasks wrote into their log directories, wherever those are. */
function spans(dir: string): { task: string; start: number; end: number }[] {
  const out: { task: string; start: number; end: number }[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory() && e.name !== '.mlcube') walk(p);
      else if (e.isFile() && e.name.endsWith('.log') && d.endsWith('logs'))
        out.push(
          ...readFileSync(p, 'utf8')
            .trim()
            .split('\n')
            .map((l) => JSON.parse(l)),
        );
    }
  };
  walk(dir);
  return out;
}

/** The most spans running at one moment. */
const maxOverlap = (s: { start: number; end: number }[]) => Math.max(...s.map((a) => s.filter((b) => b.start <= a.start && a.start < b.end).length));

const MODE = 'tasks.b.parameters.inputs.mode.default';

// The diamond fixture (a -> b, c -> d; e after d): sweeping b's mode file changes b, hence d and e; a and c are shared.
describe('mlcube run --sweep on the local runner (README "Sweeps and experiments")', function () {
  this.timeout(180_000);
  let cube: { dir: string; cleanup: () => void };
  let ws: string;
  const run = (args: string[]) => mlcube(['run', `--mlcube=${cube.dir}`, '--platform=local', ...args]);
  beforeEach(() => {
    cube = copyFixture('diamond');
    ws = join(cube.dir, 'workspace');
  });
  afterEach(() => cube.cleanup());

  it('three points side by side within --jobs=2, the shared tasks once; a failing point does not stop the others; records, filters and the comparison', async () => {
    const r = await run([`--sweep=${MODE}=modes/ok.txt,modes/fail.txt,modes/ok.txt`, '--jobs=2', '--experiment=dia', '--tag=owner=t', '--tag=round=1', '--json']);
    expect(r.exitCode, r.stderr).to.equal(3);
    const doc = JSON.parse(r.stdout);
    const id: string = doc.sweep.id;
    expect(id).to.match(/^dia-\d{8}T\d{6}Z-[0-9a-f]{6}$/);
    expect(doc.tasks.map((t: { task: string }) => t.task)).to.deep.equal(['a', 'c']);
    expect(doc.points.map((p: { point: number; status: string; exit_code: number }) => [p.point, p.status, p.exit_code])).to.deep.equal([
      [0, 'succeeded', 0],
      [1, 'failed', 3],
      [2, 'succeeded', 0],
    ]);
    expect(doc.error).to.include({ code: 'MLCUBE_TASK_FAILED', exit_code: 3, task: 'b' });
    expect(r.stderr).to.match(new RegExp(`sweep ${id}: 2 of 3 points succeeded; failed: point 1`));

    // sweep.json, written before the points: each point's values and -P overrides.
    const sweep = readJson(join(ws, 'sweeps', id, 'sweep.json'));
    expect(sweep).to.deep.include({ id, experiment: 'dia', tags: { owner: 't', round: '1' }, keys: [MODE], shared_tasks: ['a', 'c'], tasks: ['b', 'd', 'e'] });
    expect(sweep.points.map((p: { values: object }) => p.values)).to.deep.equal([{ [MODE]: 'modes/ok.txt' }, { [MODE]: 'modes/fail.txt' }, { [MODE]: 'modes/ok.txt' }]);
    expect(sweep.points[2].params).to.include.members([
      `${MODE}=modes/ok.txt`,
      `tasks.b.parameters.outputs.out.default=sweeps/${id}/2/b/out.txt`,
      `tasks.d.parameters.inputs.from_b.default=sweeps/${id}/2/b/out.txt`,
    ]);

    // Outputs of their own; the shared ones once, where the cube puts them.
    expect(readFileSync(join(ws, 'sweeps', id, '0', 'd', 'out.txt'), 'utf8')).to.equal('d(b(a()),c(a()))\n');
    expect(readFileSync(join(ws, 'sweeps', id, '2', 'e', 'out.txt'), 'utf8')).to.equal('e()\n');
    expect(existsSync(join(ws, 'sweeps', id, '1', 'd', 'out.txt')), 'point 1 stopped at b').to.equal(false);
    expect(existsSync(join(ws, 'd')), 'no point wrote the unswept output').to.equal(false);
    const s = spans(ws);
    expect(s.filter((x) => x.task === 'a')).to.have.length(1);
    expect(maxOverlap(s), 'at most --jobs tasks at once across the points').to.equal(2);

    // Records: each labelled, valid against the schema.
    const recs = records(ws);
    const byTask = (t: string) => recs.filter((x) => x.task === t);
    expect([byTask('a').length, byTask('b').length, byTask('c').length, byTask('d').length, byTask('e').length]).to.deep.equal([1, 3, 1, 2, 2]);
    for (const rec of recs) {
      expect(checkSchema('run-record.schema.json', rec), rec.run_id).to.deep.equal([]);
      expect(rec).to.deep.include({ experiment: 'dia', tags: { owner: 't', round: '1' } });
    }
    expect(byTask('a')[0].sweep).to.deep.equal({ id, point: null, values: {} });
    expect(
      byTask('b')
        .map((x) => x.sweep.point)
        .sort(),
    ).to.deep.equal([0, 1, 2]);
    expect(byTask('b').find((x) => x.sweep.point === 1)).to.deep.include({ status: 'failed', exit_code: 3, sweep: { id, point: 1, values: { [MODE]: 'modes/fail.txt' } } });

    // runs list filters (all must match), in the table and in --json.
    const list = async (...f: string[]) => {
      const l = await mlcube(['runs', 'list', `--workspace=${ws}`, '--json', ...f]);
      expect(l.exitCode, l.stderr).to.equal(0);
      return (JSON.parse(l.stdout).runs as { task: string; status: string; sweep: { point: number | null } }[]).map((x) => `${x.task}#${x.sweep.point}:${x.status}`).sort();
    };
    expect(await list(`--sweep=${id}`, '--task=b')).to.deep.equal(['b#0:succeeded', 'b#1:failed', 'b#2:succeeded']);
    expect(await list('--status=failed')).to.deep.equal(['b#1:failed']);
    expect(await list('--experiment=dia', '--tag=owner=t', '--tag=round=1')).to.have.length(9);
    expect(await list('--tag=owner=t', '--tag=round=2')).to.deep.equal([]);
    expect(await list('--experiment=other')).to.deep.equal([]);
    const table = await mlcube(['runs', 'list', `--workspace=${ws}`, '--task=e']);
    expect(table.stdout.trim().split('\n')).to.have.length(3);
    expect(table.stdout).to.contain(`${id}#0`).and.contain(`${id}#2`);
    const badStatus = await mlcube(['runs', 'list', `--workspace=${ws}`, '--status=done']);
    expect([badStatus.exitCode, badStatus.stderr]).to.satisfy(([c, e]: [number, string]) => c === 2 && /--status=done: expected one of running, succeeded/.test(e));

    // One comparison table: a row per point with its value and status.
    const cmp = await mlcube(['runs', 'compare', `--sweep=${id}`, `--workspace=${ws}`]);
    expect(cmp.exitCode, cmp.stderr).to.equal(0);
    const rows = cmp.stdout.trim().split('\n');
    expect(rows[0]).to.equal(`sweep ${id}: 3 points of b, d, e`);
    expect(rows[1].split(/\s+/)).to.deep.equal(['POINT', MODE, 'STATUS']);
    expect(rows.slice(2).map((l) => l.split(/\s+/))).to.deep.equal([
      ['0', 'modes/ok.txt', 'succeeded'],
      ['1', 'modes/fail.txt', 'failed'],
      ['2', 'modes/ok.txt', 'succeeded'],
    ]);
    const cmpJson = JSON.parse((await mlcube(['runs', 'compare', `--sweep=${id}`, `--workspace=${ws}`, '--json'])).stdout);
    expect(cmpJson.points[0].run_ids).to.have.keys(['b', 'd', 'e']);
    expect(cmpJson.points[1].run_ids).to.have.keys(['b']);

    // A point's run is rerun from its record: the point's own paths.
    const d2 = byTask('d').find((x) => x.sweep.point === 2);
    const again = await mlcube(['rerun', d2.run_id, `--workspace=${ws}`, '--json']);
    expect(again.exitCode, again.stderr).to.equal(0);
    const rerun = readJson(join(ws, '.mlcube', 'runs', JSON.parse(again.stdout).tasks[0].run_id, 'record.json'));
    expect(rerun.parameters.find((p: { name: string }) => p.name === 'out').path).to.equal(`sweeps/${id}/2/d/out.txt`);
    expect(rerun.rerun.of).to.equal(d2.run_id);
  });

  it('a sweep file of points, with a --sweep flag: their product; without --experiment the id starts with "sweep"', async () => {
    writeFileSync(join(cube.dir, 'points.yaml'), `points:\n  - {${MODE}: modes/ok.txt}\n`);
    const r = await run([`--sweep-file=${join(cube.dir, 'points.yaml')}`, '--sweep=tasks.e.parameters.outputs.out.default=e1.txt,e2.txt', '--json']);
    expect(r.exitCode, r.stderr).to.equal(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.sweep.id).to.match(/^sweep-/);
    // The file's value is the cube's own: only e changes, the rest runs once.
    expect(doc.tasks.map((t: { task: string }) => t.task).sort()).to.deep.equal(['a', 'b', 'c', 'd']);
    expect(doc.points.map((p: { tasks: { task: string }[] }) => p.tasks.map((t) => t.task))).to.deep.equal([['e'], ['e']]);
    // The flag's factor first (slowest), then the file's.
    expect(doc.points.map((p: { values: object }) => p.values)).to.deep.equal([
      { 'tasks.e.parameters.outputs.out.default': 'e1.txt', [MODE]: 'modes/ok.txt' },
      { 'tasks.e.parameters.outputs.out.default': 'e2.txt', [MODE]: 'modes/ok.txt' },
    ]);
    expect(readFileSync(join(ws, 'sweeps', doc.sweep.id, '1', 'e2.txt'), 'utf8')).to.equal('e()\n');
    for (const rec of records(ws)) expect(rec).to.deep.include({ experiment: null, tags: {} });
  });

  const REFUSED: [string, string[], RegExp][] = [
    ['a key matching nothing', ['--sweep=tasks.b.bogus=1,2'], /--sweep tasks\.b\.bogus=1,2: key "tasks\.b\.bogus" matches nothing[\s\S]*fix: Keys at that level/],
    [
      'a FILE that no selected task reads',
      ['--sweep=other.yaml:a=1,2'],
      /--sweep other\.yaml:a=1,2: .*other\.yaml is not an input of the selected task\(s\) a, b, c, d, e[\s\S]*fix: Sweep a key of one of their input files \(modes\/ok\.txt\)/,
    ],
    ['a key the FILE lacks', ['--sweep=modes/ok.txt:exit=1,2'], /modes\/ok\.txt: --sweep modes\/ok\.txt:exit=1,2: .*modes\/ok\.txt has no key "exit" \(its keys: none\)/],
    ['an empty value list', [`--sweep=${MODE}=`], /--sweep tasks\.b\.parameters\.inputs\.mode\.default=: the value list is empty[\s\S]*fix: Give at least one value/],
    ['a sweep that changes nothing', ['--sweep=tasks.b.parameters.inputs.mode.default=modes/ok.txt'], /the sweep changes none of the selected tasks/],
    ['--sweep with --detach', [`--sweep=${MODE}=modes/ok.txt`, '--detach'], /--sweep with --detach: a sweep is followed to its end[\s\S]*fix: Drop --detach/],
    ['--sweep with --dry-run', [`--sweep=${MODE}=modes/ok.txt`, '--dry-run'], /--sweep with --dry-run/],
    ['a bad sweep file', ['--sweep-file=bad.yaml'], /bad\.yaml:1:7: the sweep file .*bad\.yaml breaks the schema: \/grid must be object \(found number 3\)/],
    ['a bad experiment name', [`--sweep=${MODE}=modes/fail.txt`, '--experiment=a/b'], /--experiment=a\/b: expected a name/],
  ];
  for (const [what, args, msg] of REFUSED) {
    it(`refuses ${what}: exit 2, the place, value and a fix, nothing written`, async () => {
      writeFileSync(join(cube.dir, 'bad.yaml'), 'grid: 3\n');
      const before = snapshot(cube.dir);
      const r = await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=local', ...args], { cwd: cube.dir });
      expect(r.exitCode, r.stderr).to.equal(2);
      expect(r.stderr).to.match(msg);
      expect(r.stderr).to.contain('fix: ');
      expect(r.stderr).to.not.match(/\n\s+at /, 'no stack trace');
      expect(snapshot(cube.dir)).to.deep.equal(before);
    });
  }

  it('refuses rerun --sweep: exit 2 with a fix, nothing written', async () => {
    expect((await run(['--task=a'])).exitCode).to.equal(0);
    const before = snapshot(cube.dir);
    const r = await mlcube(['rerun', 'latest', `--mlcube=${cube.dir}`, `--sweep=${MODE}=a,b`]);
    expect(r.exitCode, r.stderr).to.equal(2);
    expect(r.stderr).to.match(/--sweep tasks\.b\.parameters\.inputs\.mode\.default=a,b: mlcube rerun repeats one recorded run, it does not sweep[\s\S]*fix: Rerun each point by its run id/);
    expect(snapshot(cube.dir)).to.deep.equal(before);
  });

  it('--experiment and --tag without a sweep label the records, signed; runs compare --sweep of an unknown id is exit 2', async () => {
    const keys = tempDir('mlcube-sweep-keys-');
    try {
      expect((await mlcube(['keys', 'generate', `--dir=${keys.dir}`])).exitCode).to.equal(0);
      const env = { MLCUBE_SIGNING_KEY: join(keys.dir, 'signing.key') };
      const r = await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=local', '--task=a', '--experiment=solo', '--tag=k=v'], { env });
      expect(r.exitCode, r.stderr).to.equal(0);
      const [rec] = records(ws);
      expect(rec).to.deep.include({ experiment: 'solo', tags: { k: 'v' } });
      expect(rec).to.not.have.property('sweep');
      const envelope = readJson(join(ws, '.mlcube', 'runs', rec.run_id, 'provenance.dsse.json'));
      const st = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8'));
      expect(st.predicate.buildDefinition.externalParameters).to.deep.include({ experiment: 'solo', tags: { k: 'v' } });
      const v = await mlcube(['provenance', 'verify', rec.run_id, `--workspace=${ws}`], { env });
      expect(v.exitCode, v.stderr).to.equal(0);
    } finally {
      keys.cleanup();
    }
    const cmp = await mlcube(['runs', 'compare', '--sweep=nope', `--workspace=${ws}`]);
    expect(cmp.exitCode).to.equal(2);
    expect(cmp.stderr).to.match(/no sweep "nope" in .*sweeps\/nope\/sweep\.json does not exist/);
  });
});
