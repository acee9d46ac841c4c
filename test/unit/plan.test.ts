import { expect } from 'chai';
import type { Tree } from '../../src/config/tree.js';
import { MlcubeError } from '../../src/errors.js';
import type { FsProbe, PathKind } from '../../src/params/fs-probe.js';
import { paramKey } from '../../src/params/resolve.js';
import { planRun, planTask, type PlanInput } from '../../src/plan/plan.js';
import { runnerDefaults } from '../../src/config/runner-defaults.js';
import { dockerRunner } from '../../runners/docker-config.js';
import { localRunner } from '../../runners/local-config.js';
import { singularityRunner } from '../../runners/singularity-config.js';
import { slurmRunner } from '../../runners/slurm-config.js';
import type { RunPlan } from '../../src/plan/run-plan.js';

/**
 * A disk for the planner: what exists (`entries`) and symbolic links (`links`, absolute targets). Anything else is
 * missing, whatever is on this machine's disk: a plan that looked at the real disk instead would differ.
 */
function fakeFs(entries: Record<string, 'file' | 'directory'>, links: Record<string, string> = {}): FsProbe {
  const realTarget = (p: string): string => {
    for (const [from, to] of Object.entries(links)) if (p === from || p.startsWith(from + '/')) return realTarget(to + p.slice(from.length));
    return p;
  };
  return {
    kind: (p): PathKind => {
      const real = realTarget(p);
      if (entries[real]) return entries[real];
      // A path through an existing file cannot be resolved.
      return Object.entries(entries).some(([e, k]) => k === 'file' && real.startsWith(e + '/')) ? 'not-a-directory' : 'missing';
    },
    realTarget,
  };
}

const CUBE = '/cube';
const WS = '/cube/workspace';

/** The fixture cube's copy -> consume chain, in the normalized form buildConfig gives (types and defaults filled in). */
const TASKS: Tree = {
  copy: {
    parameters: {
      inputs: { in_dir: { type: 'directory', default: 'input/' }, cfg: { type: 'file', default: 'input/cfg.yaml' } },
      outputs: { out_dir: { type: 'directory', default: 'out/' }, report: { type: 'file', default: 'reports/report.txt' } },
    },
  },
  consume: { parameters: { inputs: { out_dir: { type: 'directory', default: 'out/' } }, outputs: { summary: { type: 'file', default: 'summary.txt' } } } },
  gpu: { parameters: { inputs: { data: { type: 'file', default: '/etc/hostname' } } } },
};

const DISK = { [WS]: 'directory', [`${WS}/input`]: 'directory', [`${WS}/input/cfg.yaml`]: 'file' } as const;

/** The real descriptions: the plan parses each runner's settings with its own (e.g. singularity keeps --gpus under --nv). */
const RUNNERS = { local: localRunner, docker: dockerRunner, singularity: singularityRunner, slurm: slurmRunner } satisfies Record<string, PlanInput['runner']>;

function input(
  o: {
    runner?: keyof typeof RUNNERS;
    tasks?: string;
    runnerCfg?: Tree;
    workspace?: string;
    disk?: Record<string, 'file' | 'directory'>;
    links?: Record<string, string>;
    explicit?: string[];
    accelerators?: number;
  } = {},
): PlanInput {
  const ws = o.workspace ?? WS;
  const runner = o.runner ?? 'local';
  return {
    // The runner section as a platform has it: the schema's defaults, the settings of the row, an image to run.
    config: {
      name: 'basic',
      runtime: { root: CUBE, workspace: ws },
      workspace: ws,
      platform: o.accelerators ? { accelerator_count: o.accelerators } : {},
      runner: { ...runnerDefaults(RUNNERS[runner]), runner, image: 'basic:1', ...o.runnerCfg },
      tasks: TASKS,
    },
    unresolved: { name: 'basic' },
    cube: { root: CUBE, file: `${CUBE}/mlcube.yaml` },
    explicitParams: new Set(o.explicit ?? []),
    platform: runner,
    runner: RUNNERS[runner],
    tasks: o.tasks ?? 'copy,consume',
    invocation: { params: ['docker.image=x'], taskArgs: [], flags: {} },
    env: {},
    home: '/home/u',
    fs: fakeFs(o.disk ?? DISK, o.links),
  };
}

const withTasks = (i: PlanInput, tasks: Tree): PlanInput => ({ ...i, config: { ...i.config, tasks } });

const paramsOf = (plan: RunPlan, task: string) => plan.tasks.find((t) => t.name === task)!.params.map((p) => `${p.io} ${p.name} ${p.type} ${p.hostPath}${p.missing ? ' (missing)' : ''}`);
const containerOf = (plan: RunPlan, task: string) => plan.tasks.find((t) => t.name === task)!.containerPaths;

describe('the run plan (src/plan/plan.ts): pure, the disk only through the probe', () => {
  const ROWS: { what: string; input: PlanInput; expect: (p: RunPlan) => void }[] = [
    {
      what: 'local: both tasks resolved in order; an input an earlier task makes is missing but planned; host paths only',
      input: input(),
      expect: (p) => {
        expect(p.tasks.map((t) => t.name)).to.deep.equal(['copy', 'consume']);
        expect(paramsOf(p, 'copy')).to.deep.equal([
          `input in_dir directory ${WS}/input`,
          `input cfg file ${WS}/input/cfg.yaml`,
          `output out_dir directory ${WS}/out (missing)`,
          `output report file ${WS}/reports/report.txt (missing)`,
        ]);
        expect(paramsOf(p, 'consume')).to.deep.equal([`input out_dir directory ${WS}/out (missing)`, `output summary file ${WS}/summary.txt (missing)`]);
        expect(containerOf(p, 'copy')).to.deep.equal([null, null, null, null]);
        expect(p.tasks[0].mounts).to.equal(null);
        expect(p.runner).to.deep.equal({ name: 'local', capabilities: { seesHostPaths: true, batch: false, enforcesReadOnly: false } });
        expect(p.cube).to.deep.equal({ root: CUBE, file: `${CUBE}/mlcube.yaml`, name: 'basic' });
        expect(p.workspace).to.equal(WS);
        expect(p.syncs).to.deep.equal([]);
        expect(p.gpus).to.equal('none');
        expect(p.settings.gpus).to.deep.equal({ kind: 'none' });
        expect(p.invocation).to.deep.equal({ mlcubeFile: `${CUBE}/mlcube.yaml`, params: ['docker.image=x'], taskArgs: [], flags: {} });
        expect(p.info).to.deep.equal([]);
      },
    },
    {
      what: 'the claims: outputs are written, inputs read, each named by task and parameter',
      input: input(),
      expect: (p) => {
        expect(p.claims.writes.map((c) => `${c.io} ${c.task}.${c.parameter} ${c.path}`)).to.deep.equal([
          `output copy.out_dir ${WS}/out`,
          `output copy.report ${WS}/reports/report.txt`,
          `output consume.summary ${WS}/summary.txt`,
        ]);
        expect(p.claims.reads.map((c) => `${c.io} ${c.task}.${c.parameter} ${c.path}`)).to.deep.equal([
          `input copy.in_dir ${WS}/input`,
          `input copy.cfg ${WS}/input/cfg.yaml`,
          `input consume.out_dir ${WS}/out`,
        ]);
      },
    },
    {
      what: 'claims name where a path really is: an output through a symbolic link claims its target',
      input: input({ disk: { ...DISK, '/data/out': 'directory' }, links: { [`${WS}/out`]: '/data/out' } }),
      expect: (p) => {
        expect(p.claims.writes[0]).to.include({ path: '/data/out', task: 'copy', parameter: 'out_dir' });
        expect(p.info).to.deep.equal([`task "copy" writes output "out_dir" outside the workspace, through a symbolic link: ${WS}/out is /data/out`]);
      },
    },
    {
      what: 'docker: each parameter gets its /mlcube_io<k> path and the task its mounts (an input file under a rw mount bound again, read-only)',
      input: input({ runner: 'docker' }),
      expect: (p) => {
        expect(containerOf(p, 'copy')).to.deep.equal(['/mlcube_io0', '/mlcube_io0/cfg.yaml', '/mlcube_io1', '/mlcube_io2/report.txt']);
        expect(containerOf(p, 'consume')).to.deep.equal(['/mlcube_io0', '/mlcube_io1/summary.txt']);
        expect(p.tasks[0].mounts!.mounts.map((m) => `${m.host}:${m.container}${m.opts ? `:${m.opts}` : ''}`)).to.deep.equal([
          `${WS}/input:/mlcube_io0`,
          `${WS}/out:/mlcube_io1`,
          `${WS}/reports:/mlcube_io2`,
          `${WS}/input/cfg.yaml:/mlcube_io0/cfg.yaml:ro`,
        ]);
        expect(p.runner).to.deep.equal({ name: 'docker', capabilities: { seesHostPaths: false, batch: false, enforcesReadOnly: true } });
        expect(p.settings).to.include({ image: 'basic:1' });
      },
    },
    {
      what: '--mount=ro (kept where the runner keeps it) makes every input mount read-only',
      input: input({ runner: 'docker', runnerCfg: { '--mount_opts': 'ro' } }),
      expect: (p) => expect(p.tasks[0].mounts!.mounts.map((m) => `${m.container}:${m.opts ?? '-'}`)).to.deep.equal(['/mlcube_io0:ro', '/mlcube_io1:-', '/mlcube_io2:-']),
    },
    {
      what: 'slurm: a batch plan; the jobs plan their own containers (no container paths here)',
      input: input({ runner: 'slurm', runnerCfg: { inner: 'docker' } }),
      expect: (p) => {
        expect(p.runner).to.deep.equal({ name: 'slurm', capabilities: { seesHostPaths: false, batch: true, enforcesReadOnly: false } });
        expect(p.settings).to.include({ inner: 'docker' });
        expect(containerOf(p, 'copy')).to.deep.equal([null, null, null, null]);
        expect(p.tasks[1].mounts).to.equal(null);
      },
    },
    {
      what: 'singularity keeps --gpus under --nv: the plan reads it there (the record says 2, not none)',
      input: input({ runner: 'singularity', tasks: 'copy', runnerCfg: { '--nv': '2' } }),
      expect: (p) => {
        expect(p.settings.gpus).to.deep.equal({ kind: 'count', count: 2 });
        expect(p.gpus).to.equal('2');
      },
    },
    {
      what: 'no --gpus: platform.accelerator_count asks for GPUs',
      input: input({ tasks: 'copy', accelerators: 3 }),
      expect: (p) => expect(p.gpus).to.equal('3'),
    },
    {
      what: 'a custom --workspace gets the inputs the cube workspace has (sync), planned as present and claimed as written',
      input: input({ workspace: '/ws', disk: { ...DISK, '/ws': 'directory' } }),
      expect: (p) => {
        expect(p.syncs).to.deep.equal([{ from: `${WS}/input`, to: '/ws/input' }]);
        expect(paramsOf(p, 'copy').slice(0, 2)).to.deep.equal(['input in_dir directory /ws/input (missing)', 'input cfg file /ws/input/cfg.yaml (missing)']);
        expect(p.claims.writes.find((c) => c.io === 'sync')).to.deep.equal({ path: '/ws/input', io: 'sync', task: 'copy', parameter: 'in_dir' });
      },
    },
    {
      what: 'an output the command line put outside the workspace is allowed and said',
      input: withTasks(input({ tasks: 'consume', disk: { ...DISK, [`${WS}/out`]: 'directory' }, explicit: [paramKey('consume', 'output', 'summary')] }), {
        consume: { parameters: { inputs: { out_dir: { type: 'directory', default: 'out/' } }, outputs: { summary: { type: 'file', default: '/results/summary.txt' } } } },
      }),
      expect: (p) => expect(p.info).to.deep.equal(['task "consume" writes output "summary" outside the workspace: /results/summary.txt']),
    },
  ];
  for (const row of ROWS) it(row.what, () => row.expect(planRun(row.input)));

  const ERRORS: { what: string; input: PlanInput; code: string; message: RegExp }[] = [
    { what: 'an unknown task', input: input({ tasks: 'copy,nope' }), code: 'MLCUBE_USAGE', message: /unknown task "nope" \(the cube has: copy, consume, gpu\)/ },
    {
      what: 'an unknown task before a malformed GPU request (the selection comes first)',
      input: input({ runner: 'singularity', tasks: 'nope', runnerCfg: { '--nv': '0,1' } }),
      code: 'MLCUBE_USAGE',
      message: /unknown task/,
    },
    { what: 'a malformed GPU request', input: input({ runner: 'singularity', runnerCfg: { '--nv': '0,1' } }), code: 'MLCUBE_CONFIG_INVALID', message: /--gpus="0,1" is not a GPU specification/ },
    {
      what: 'an input missing on the (probed) disk, naming the task that makes it',
      input: input({ tasks: 'consume' }),
      code: 'MLCUBE_PARAM_INVALID',
      message: new RegExp(`input ${WS}/out does not exist`),
    },
    // /etc/hostname exists on this machine: only the probe is asked, and it says missing.
    { what: 'an input that exists only on the real disk (only the probe is asked)', input: input({ tasks: 'gpu' }), code: 'MLCUBE_PARAM_INVALID', message: /input \/etc\/hostname does not exist/ },
    {
      what: 'an output of the cube file outside the workspace',
      input: withTasks(input({ tasks: 'consume' }), { consume: { parameters: { outputs: { summary: { type: 'file', default: '/results/summary.txt' } } } } }),
      code: 'MLCUBE_PARAM_INVALID',
      message: /outside the workspace .* comes from the cube file/,
    },
    {
      what: 'a container mount that would show the home directory',
      input: withTasks(input({ runner: 'docker', tasks: 'peek', disk: { ...DISK, '/home/u': 'directory' } }), {
        peek: { parameters: { inputs: { data: { type: 'directory', default: '/home/u' } } } },
      }),
      code: 'MLCUBE_PARAM_INVALID',
      message: /the container would be given directory \/home\/u, but/,
    },
  ];
  for (const row of ERRORS) {
    it(`refuses ${row.what} (exit 2, located)`, () => {
      let caught: unknown;
      try {
        planRun(row.input);
      } catch (e) {
        caught = e;
      }
      expect(caught, 'planning must throw').to.be.instanceOf(MlcubeError);
      const e = caught as MlcubeError;
      expect(e.code).to.equal(row.code);
      expect(e.exitCode).to.equal(2);
      expect(e.message).to.match(row.message);
    });
  }

  it('a task planned again once the earlier task ran sees what it made (type unknown input: the directory it is now; no longer missing)', () => {
    const tasks: Tree = { ...TASKS, consume: { parameters: { inputs: { out_dir: { type: 'unknown', default: 'out' } }, outputs: { summary: { type: 'file', default: 'summary.txt' } } } } };
    const before = planRun(withTasks(input({ runner: 'docker' }), tasks));
    expect(paramsOf(before, 'consume')[0]).to.equal(`input out_dir file ${WS}/out (missing)`);
    const again = withTasks(input({ runner: 'docker', disk: { ...DISK, [`${WS}/out`]: 'directory' } }), tasks);
    const after = planTask(again, before.settings, 'consume');
    expect(after.params.map((p) => `${p.name} ${p.type}${p.missing ? ' (missing)' : ''}`)).to.deep.equal(['out_dir directory', 'summary file (missing)']);
    expect(after.containerPaths).to.deep.equal(['/mlcube_io0', '/mlcube_io1/summary.txt']);
  });
});
