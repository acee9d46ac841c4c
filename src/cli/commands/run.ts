import * as Flags from '@oclif/core/flags';
import { BaseCommand, cubeFlags } from '../base-command.js';
import { executeRun } from '../run-execute.js';
import type { RunCommandLine } from '../run-argv.js';

export default class Run extends BaseCommand {
  static summary = 'Run MLCube task(s).';
  static description =
    "Runs the tasks on the selected platform in the order their task graph gives (a task whose input is another's output, or that depends_on it, waits for it; the others may run side by side, up to --jobs), and exits with the first failed task's code: the tasks that wait for a failed one do not start, the others finish. Extra arguments name=value (or --name=value) override task parameters.";
  static strict = false;
  static examples = ['mlcube run --mlcube=cubes/mnist --platform=local --task=download,train --workspace=workspace/mnist', 'mlcube run --task=train data_dir=/data/mnist -Pdocker.build_strategy=auto'];
  static flags = {
    ...cubeFlags,
    task: Flags.string({ description: 'Comma-separated tasks to run, in any order (the task graph orders them); omitted: every task of the cube.' }),
    jobs: Flags.string({
      description: 'At most this many tasks at once on an attached runner (local, docker, singularity, charliecloud); default: the CPUs this machine offers. Slurm schedules its jobs itself.',
    }),
    policy: Flags.string({
      description:
        'A run policy (YAML, rules in CEL over the resolved plan; README "Policy gate") that must allow the run before anything runs; also `policy:` in the cube file and in a settings platform. Denied: exit 8.',
    }),
    timeout: Flags.string({
      description:
        "How long each task may run (90, 90s, 5m, 1h30m), replacing the cube's `timeout`; then it is stopped (SIGTERM, then SIGKILL; container stop; scancel on Slurm) and the run exits 124.",
    }),
    sweep: Flags.string({
      multiple: true,
      multipleNonGreedy: true,
      description:
        'Sweep KEY over V1,V2,... (repeatable: the product of the keys, the first varying slowest). KEY is a -P key, or FILE:dotted.key for a key of a workspace file that a selected task reads (train.yaml:learning_rate). Each point gets outputs of its own under <workspace>/sweeps/<sweep id>/<point>/ (README "Sweeps and experiments").',
    }),
    'sweep-file': Flags.string({ description: 'A sweep as YAML: `grid: {KEY: [values]}` or `points: [{KEY: value, ...}]` (schemas/sweep.schema.json); combines with --sweep.' }),
    experiment: Flags.string({ description: "The experiment the run belongs to: recorded with every task (`runs list --experiment`) and the start of a sweep's id." }),
    tag: Flags.string({ multiple: true, multipleNonGreedy: true, description: 'KEY=VALUE recorded with every task (repeatable; `runs list --tag`).' }),
    'dry-run': Flags.boolean({ description: 'Print the plan (the tasks in graph order, what each waits for and why, their parameters) and run nothing: nothing is created or changed.' }),
    'no-cache': Flags.boolean({
      description:
        'Run every task, even one whose code, configuration and inputs match an earlier successful run (README "Task cache"), hashing every file again; what they make still goes into the cache.',
    }),
    network: Flags.string({ description: 'Network for the task container (docker --network, singularity --network).' }),
    security: Flags.string({ description: 'Security options (docker --security-opt, singularity --security).' }),
    gpus: Flags.string({ description: 'GPUs: all, a count (2) or device=0,2; empty or 0 disables GPUs. Overrides platform.accelerator_count.' }),
    memory: Flags.string({ description: 'Memory limit (docker --memory, singularity --vm-ram).' }),
    cpu: Flags.string({ description: 'CPU set (docker --cpuset-cpus, singularity --vm-cpu).' }),
    mount: Flags.string({ options: ['ro', 'rw'], description: 'Mount option for every input (outputs keep their own).' }),
    json: Flags.boolean({ description: "Print one JSON document on stdout: the task runs, and the error when the run fails; the tasks' own stdout goes to stderr." }),
    detach: Flags.boolean({ description: 'Batch platforms (slurm): submit the task graph, print the job ids as JSON and return; follow with `mlcube status`, stop with `mlcube cancel`.' }),
    'no-wait': Flags.boolean({ description: 'When another run of this workspace writes (or reads) what this run writes, fail at once with exit 75 instead of waiting for it; nothing is changed.' }),
  };

  async run(): Promise<void> {
    await executeRun(await this.commandLine(), this.app(), (text) => this.out(text));
  }

  /** The command line parsed by oclif (the same shape as parseRunArgv's, which a unit test compares). */
  async commandLine(): Promise<RunCommandLine> {
    const split = this.splitTaskOverrides(Object.keys(Run.flags).flatMap((f) => [f, ...((Run.flags as Record<string, { aliases?: string[] }>)[f].aliases ?? [])]));
    const { flags, argv } = await this.parse(Run, split.argv);
    return {
      mlcube: flags.mlcube,
      platform: flags.platform,
      task: flags.task,
      workspace: flags.workspace,
      params: flags.P ?? [],
      taskArgs: [...(argv as string[]), ...split.overrides],
      flags: { network: flags.network, security: flags.security, gpus: flags.gpus, memory: flags.memory, cpu: flags.cpu, mount: flags.mount },
      json: flags.json ?? false,
      detach: flags.detach ?? false,
      wait: !(flags['no-wait'] ?? false),
      ...(flags.jobs !== undefined ? { jobs: flags.jobs } : {}),
      dryRun: flags['dry-run'] ?? false,
      noCache: flags['no-cache'] ?? false,
      ...(flags.policy !== undefined ? { policy: flags.policy } : {}),
      ...(flags.timeout !== undefined ? { timeout: flags.timeout } : {}),
      sweeps: flags.sweep ?? [],
      ...(flags['sweep-file'] !== undefined ? { sweepFile: flags['sweep-file'] } : {}),
      ...(flags.experiment !== undefined ? { experiment: flags.experiment } : {}),
      tags: flags.tag ?? [],
    };
  }
}
