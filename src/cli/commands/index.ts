import Run from './run.js';
import ShowConfig from './show-config.js';
import Describe from './describe.js';
import Configure from './configure.js';
import Inspect from './inspect.js';
import Config from './config.js';
import Create from './create.js';
import Doctor from './doctor.js';
import BaseImage from './base-image.js';
import Status from './status.js';
import Cancel from './cancel.js';
import RunsList from './runs/list.js';
import RunsShow from './runs/show.js';
import RunsCompare from './runs/compare.js';
import RunsDelete from './runs/delete.js';
import CacheGc from './cache/gc.js';
import ProvenanceVerify from './provenance/verify.js';
import ProvenanceExport from './provenance/export.js';
import KeysGenerate from './keys/generate.js';
import Card from './card.js';
import Encrypt from './encrypt.js';
import Decrypt from './decrypt.js';
import Rerun from './rerun.js';

/** Explicit command table (oclif "explicit" strategy): no directory scan at start-up. */
export const COMMANDS = {
  run: Run,
  show_config: ShowConfig,
  describe: Describe,
  configure: Configure,
  inspect: Inspect,
  config: Config,
  create: Create,
  doctor: Doctor,
  'base-image': BaseImage,
  status: Status,
  cancel: Cancel,
  'runs:list': RunsList,
  'runs:show': RunsShow,
  'runs:compare': RunsCompare,
  'runs:delete': RunsDelete,
  'cache:gc': CacheGc,
  'provenance:verify': ProvenanceVerify,
  'provenance:export': ProvenanceExport,
  'keys:generate': KeysGenerate,
  card: Card,
  encrypt: Encrypt,
  decrypt: Decrypt,
  rerun: Rerun,
};
