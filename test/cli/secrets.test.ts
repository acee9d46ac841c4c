import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { appendFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { copyFixture, mlcube, readJson, tempDir } from '../helpers/cli.js';
import { checkSchema } from '../../src/config/schemas.js';

const sha = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

/** Every file under dir, recursively. */
const filesUnder = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]));

describe('run records keep no secret values (fixture cube basic, local runner)', () => {
  // Three sources: env_args (set with -P), ${oc.env:API_TOKEN} in a task entrypoint, -e in docker cpu_args.
  const GREETING = 'greeting-s3cr3t-4f1c';
  const TOKEN = 'api-token-s3cr3t-9d2e';
  const CPU = 'cpu-arg-s3cr3t-77ab';
  let cube: { dir: string; cleanup: () => void };
  let keys: { dir: string; cleanup: () => void };
  let env: Record<string, string>;
  let ws: string;

  beforeEach(async () => {
    cube = copyFixture('basic');
    keys = tempDir('mlcube-keys-');
    ws = join(cube.dir, 'workspace');
    const file = join(cube.dir, 'mlcube.yaml');
    writeFileSync(
      file,
      readFileSync(file, 'utf8')
        .replace('entrypoint: node custom.mjs --flag', 'entrypoint: node custom.mjs --flag --token=${oc.env:API_TOKEN}')
        .replace('  build_strategy: auto\n', `  build_strategy: auto\n  cpu_args: -u 0 -e CPU_TOKEN=${CPU} --ipc=host\n`),
    );
    appendFileSync(file, '  broken:\n    entrypoint: missing-program-${oc.env:API_TOKEN}\n    parameters:\n      outputs:\n        out_dir: {type: directory, default: broken/}\n');
    expect((await mlcube(['keys', 'generate', `--dir=${keys.dir}`])).exitCode).to.equal(0);
    env = { API_TOKEN: TOKEN, MLCUBE_SIGNING_KEY: join(keys.dir, 'signing.key') };
  });
  afterEach(() => {
    cube.cleanup();
    keys.cleanup();
  });

  it('the task gets the real values; no file under .mlcube/ and no `runs show` holds them; the record names them with digests', async () => {
    const r = await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=local', '--task=copy,custom', `-Plocal.env_args.GREETING=${GREETING}`, '--json'], { env });
    expect(r.exitCode, r.stderr).to.equal(0);
    // Only the record is redacted: the tasks saw the values.
    expect(readJson(join(ws, 'reports', 'report.txt')).greeting).to.equal(GREETING);
    expect(readJson(join(ws, 'custom', 'argv.json'))).to.include(`--token=${TOKEN}`);

    const broken = await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=local', '--task=broken', `-Plocal.env_args.GREETING=${GREETING}`], { env });
    // Its program cannot be started: the pre-flight says so (exit 2) before any record or output exists.
    expect(broken.exitCode).to.equal(2);
    expect(broken.stderr).to.contain('cannot start "missing-program-');

    // The task cache's store holds copies of the outputs, which here hold the secret because the task wrote it there:
    // as confidential as the outputs themselves (README "Task cache"), not part of the records.
    const files = filesUnder(join(ws, '.mlcube')).filter((f) => !f.startsWith(join(ws, '.mlcube', 'cache', 'store')));
    expect(files.filter((f) => f.endsWith('record.json'))).to.have.length(2);
    for (const f of files) {
      const bytes = readFileSync(f);
      for (const secret of [GREETING, TOKEN, CPU]) expect(bytes.includes(Buffer.from(secret, 'utf8')), `${secret} in ${f}`).to.equal(false);
    }
    for (const args of [[], ['--json']]) {
      const show = await mlcube(['runs', 'show', 'latest', `--workspace=${ws}`, ...args], { env });
      expect(show.exitCode, show.stderr).to.equal(0);
      for (const secret of [GREETING, TOKEN, CPU]) expect(show.stdout).to.not.contain(secret);
    }

    const ids: string[] = JSON.parse(r.stdout).tasks.map((t: any) => t.run_id);
    const rec = readJson(join(ws, '.mlcube', 'runs', ids[1], 'record.json'));
    expect(checkSchema('run-record.schema.json', rec)).to.deep.equal([]);
    expect(rec.config.local.env_args.GREETING).to.equal(`<redacted sha256:${sha(GREETING).slice(0, 16)}>`);
    expect(rec.config.tasks.custom.entrypoint).to.equal(`node custom.mjs --flag --token=<redacted sha256:${sha(TOKEN).slice(0, 16)}>`);
    expect(rec.config.docker.cpu_args).to.equal(`-u 0 -e CPU_TOKEN=<redacted sha256:${sha(CPU).slice(0, 16)}> --ipc=host`);
    expect(rec.secrets).to.deep.include.members([
      { name: 'GREETING', source: 'env_args', path: 'local.env_args.GREETING', sha256: sha(GREETING) },
      { name: 'GREETING', source: 'env_args', path: 'runner.env_args.GREETING', sha256: sha(GREETING) },
      { name: 'API_TOKEN', source: 'oc.env', path: 'tasks.custom.entrypoint', sha256: sha(TOKEN) },
      { name: 'CPU_TOKEN', source: 'run_args', path: 'docker.cpu_args', sha256: sha(CPU) },
    ]);
    expect(readdirSync(join(ws, '.mlcube', 'runs')).some((d) => d.includes('-broken-'))).to.equal(false);
    // The signed statement hashes the redacted config: the run still verifies.
    const v = await mlcube(['provenance', 'verify', ids[1], `--workspace=${ws}`], { env });
    expect(v.exitCode, v.stderr).to.equal(0);
  });
});
