import { expect } from 'chai';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { FIXTURES, copyFixture, mlcube } from '../helpers/cli.js';
import { Collect, taskContext, testTaskIo } from '../helpers/runner-ctx.js';
import { localRunner } from '../../runners/local-config.js';
import { singularityRunner } from '../../runners/singularity-config.js';
import { captureStream } from '../../src/provenance/task-output.js';
import { readMetrics } from '../../src/provenance/metrics.js';
import { SingularityRunner } from '../../runners/singularity.js';

/** Runners given a TaskIo (what the recorder will pass): output into its streams, metrics into its directory, usage measured. */
describe('runners with a TaskIo: captured output, metrics file, usage', () => {
  let cube: { dir: string; cleanup: () => void };
  let io: ReturnType<typeof testTaskIo>;
  beforeEach(() => {
    cube = copyFixture('basic');
    io = testTaskIo();
  });
  afterEach(() => {
    cube.cleanup();
    io.cleanup();
  });

  describe('local', () => {
    it('stdout and stderr go to the TaskIo streams, MLCUBE_METRICS_FILE is <metricsDir>/metrics.jsonl, CPU and peak memory are measured', async function () {
      if (process.platform !== 'linux') return this.skip();
      const { runner, task, ctx } = await taskContext({ cube: cube.dir, runner: localRunner, task: 'report', env: { ...process.env, MLCUBE_METRICS_FILE: '/elsewhere/m.jsonl' }, taskIo: io });
      const r = await runner.run(task, ctx);
      expect(r.exitCode).to.equal(0);
      expect(io.stdout.text()).to.equal('report: stdout line\n');
      expect(io.stderr.text()).to.equal('report: stderr line\n');
      const marker = readFileSync(join(cube.dir, 'workspace', 'report', 'marker.txt'), 'utf8');
      expect(marker.split(' ')[0], 'the TaskIo file wins over one in ctx.env').to.equal(join(io.metricsDir, 'metrics.jsonl'));
      expect(readMetrics(join(io.metricsDir, 'metrics.jsonl')).rows.map((m) => [m.name, m.value])).to.deep.equal([['accuracy', 0.5]]);
      expect(r.usage?.method).to.equal('proc-children-rusage+proc-sampling');
      // The task spins ~500 ms and holds 64 MiB (node itself ~40 MiB); ticks are 10 ms.
      expect(r.usage!.cpu_ms).to.be.within(300, 5000);
      expect(r.usage!.max_rss_bytes).to.be.greaterThan(64 * 1024 * 1024);
    });

    it('through capture tees, every byte reaches the terminal and the file; the last bytes are there when run() resolves', async () => {
      const terminal = { out: new Collect(), err: new Collect() };
      const out = captureStream({ file: join(io.metricsDir, 'stdout.txt'), passthrough: terminal.out, limitBytes: 1 << 20 });
      const err = captureStream({ file: join(io.metricsDir, 'stderr.txt'), passthrough: terminal.err, limitBytes: 1 << 20 });
      const { runner, task, ctx } = await taskContext({
        cube: cube.dir,
        runner: localRunner,
        task: 'custom',
        taskIo: { ...io, stdout: out.stream, stderr: err.stream },
      });
      // 3 MiB in one write, then an exit before the pipe is read: nothing may be lost.
      const big = await runner.run({ ...task, entrypoint: `node -e "process.stdout.write('x'.repeat(3<<20)+'END\\\\n');process.stderr.write('bye\\\\n')" --` }, ctx);
      expect(big.exitCode).to.equal(0);
      expect(terminal.out.text().length, 'everything was written to the stream before run() resolved').to.equal((3 << 20) + 4);
      const [o, e] = await Promise.all([out.finish(), err.finish()]);
      expect(terminal.out.text().endsWith('END\n')).to.equal(true);
      expect(terminal.err.text()).to.equal('bye\n');
      expect(o).to.include({ file: 'stdout.txt', bytes: 1 << 20, total_bytes: (3 << 20) + 4, truncated: true });
      expect(e).to.include({ bytes: 4, total_bytes: 4, truncated: false });
      expect(readFileSync(join(io.metricsDir, 'stderr.txt'), 'utf8')).to.equal('bye\n');
    });

    it('without a TaskIo the task shares the terminal, as before (the CLI today), and reports no usage', async () => {
      const { runner, task, ctx } = await taskContext({ cube: cube.dir, runner: localRunner, task: 'custom' }); // writes nothing to the terminal
      const r = await runner.run(task, ctx);
      expect(r.exitCode).to.equal(0);
      expect(r.usage).to.equal(undefined);
      const cli = await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=local', '--task=report'], { env: { MLCUBE_RECORD: 'off' } });
      expect(cli.exitCode, cli.stderr).to.equal(0);
      expect(cli.stdout).to.equal('report: stdout line\n');
      expect(cli.stderr).to.contain('report: stderr line\n');
    });
  });

  describe('singularity (fake runtime on PATH)', () => {
    it('output into the TaskIo streams; the metrics directory is bound at /mlcube_metrics; no host MLCUBE_METRICS_FILE reaches singularity', async () => {
      const log = join(cube.dir, 'calls.jsonl');
      const env = { PATH: [join(FIXTURES, 'bin', 'singularity'), dirname(process.execPath)].join(':'), FAKE_RUNTIME_LOG: log, MLCUBE_METRICS_FILE: '/host/path/metrics.jsonl' };
      const { task, ctx } = await taskContext({ cube: cube.dir, runner: singularityRunner, task: 'report', env, taskIo: io });
      const runner = new SingularityRunner({ env }); // its own env: the fake runtimes' PATH
      mkdirSync(join(cube.dir, 'workspace', '.image'), { recursive: true });
      writeFileSync(join(cube.dir, 'workspace', '.image', 'mlcubetestbasic001.sif'), 'a SIF already built\n');
      expect((await runner.probe()).available).to.equal(true);
      const r = await runner.run(task, ctx);
      expect(r.exitCode).to.equal(0);
      expect(io.stdout.text()).to.equal('fake singularity run\n');
      expect(io.stderr.text()).to.equal('fake singularity run on stderr\n');
      const calls = readFileSync(log, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      const run = calls.find((c) => c.argv[0] === 'run');
      expect(run.metrics_env, 'the host path is not passed into the container').to.equal(null);
      expect(run.argv.join(' ')).to.contain('--env MLCUBE_METRICS_FILE=/mlcube_metrics/metrics.jsonl');
      expect(run.argv).to.include(`${io.metricsDir}:/mlcube_metrics:rw`);
      expect(readMetrics(join(io.metricsDir, 'metrics.jsonl')).rows.map((m) => m.name)).to.deep.equal(['loss']);
      expect(r.usage?.method).to.equal(process.platform === 'linux' ? 'proc-children-rusage+proc-sampling' : r.usage?.method);
      if (process.platform === 'linux') expect(r.usage!.cpu_ms).to.be.a('number');
      expect(existsSync(join(cube.dir, 'workspace', 'report'))).to.equal(true);
    });
  });
});
