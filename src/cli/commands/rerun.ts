import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import { BaseCommand, cubeFlags, whereFlags } from '../base-command.js';
import { UsageError } from '../../errors.js';
import { rerunTask } from '../../app/rerun.js';
import type { TaskRun } from '../../app/run.js';
import { withInterrupt } from '../interrupt.js';
import { failureDocument, jsonText, runDocument } from '../json-output.js';

export default class Rerun extends BaseCommand {
  static summary = 'Run a recorded task run again, as it was: the same cube file, configuration and image (README "Reruns").';
  static description =
    'The record names the cube file (its sha256 is checked), the platform and the configuration (replayed with -P overrides) and the image (its digest is checked): anything that would make it another run is refused with the difference (exit 2). Extra -P and name=value overrides apply on top and are recorded in the new run (record.rerun).';
  static strict = false;
  static args = { id: Args.string({ required: true, description: 'Run id, a unique prefix/suffix of one, or "latest".' }) };
  static examples = ['mlcube rerun 20261201T120000Z-train-1a2b3c --mlcube=cubes/mnist', 'mlcube rerun latest --workspace=ws train_config=train-quick.yaml'];
  static flags = {
    ...whereFlags,
    P: cubeFlags.P,
    json: Flags.boolean({ description: "Print one JSON document on stdout (as run --json); the task's own stdout goes to stderr." }),
    // A rerun repeats one run: taken only to say so (a sweep's points are rerun one by one, by their run ids).
    sweep: Flags.string({ hidden: true, multiple: true }),
    'sweep-file': Flags.string({ hidden: true }),
  };

  async run(): Promise<void> {
    const split = this.splitTaskOverrides(['mlcube', 'workspace', 'P', 'json', 'sweep', 'sweep-file']);
    const { args, argv, flags } = await this.parse(Rerun, split.argv);
    if (flags.sweep || flags['sweep-file'] !== undefined) {
      const given = flags.sweep ? `--sweep ${flags.sweep[0]}` : `--sweep-file=${flags['sweep-file']}`;
      throw new UsageError(`${given}: mlcube rerun repeats one recorded run, it does not sweep`, {
        suggestions: [`Rerun each point by its run id (mlcube runs list --sweep=ID), or sweep again with mlcube run ${given}.`],
      });
    }
    // The words after the run id: name=value task overrides, as `mlcube run` takes them.
    const taskArgs = [...(argv as string[]).slice(1), ...split.overrides];
    const app = this.app();
    let ran: TaskRun[] = [];
    try {
      const results = await withInterrupt((signal) =>
        rerunTask(
          args.id,
          { mlcube: flags.mlcube, workspace: flags.workspace },
          { params: flags.P ?? [], taskArgs, signal, stdoutTo: flags.json ? 'stderr' : 'stdout', onFailure: (r) => (ran = r) },
          app,
        ),
      );
      if (flags.json) this.out(jsonText(runDocument(results)));
    } catch (e) {
      if (flags.json) this.out(jsonText(failureDocument(e, runDocument(ran))));
      throw e;
    }
  }
}
