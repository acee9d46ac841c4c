import { resolveModel } from '../model/architectures.js';
import { checkLayerModel, layerModelId } from '../model/layers-config.js';
import { type ConfigIssue, loadYamlConfig } from '../yaml-config.js';
import { FOCAL_GAMMA } from '../model/loss.js';
import { TRAIN_CONFIG_SCHEMA, type TrainConfig, type TrainConfigFile } from './schema.js';

/** The rules across keys that the schema does not state. */
export function checkTrainConfig(c: TrainConfigFile): ConfigIssue | undefined {
  if (typeof c.model !== 'string') {
    const issue = checkLayerModel(c.model);
    if (issue) return issue;
  }
  if (c.focal_gamma !== undefined && c.loss !== 'focal') {
    return { path: ['focal_gamma'], problem: `focal_gamma has no effect with loss ${c.loss}`, expected: 'loss: focal, or no focal_gamma', fix: 'set loss: focal or remove focal_gamma' };
  }
  const s = c.lr_schedule;
  if (s.type === 'cyclic' && s.min_learning_rate >= c.learning_rate) {
    return {
      path: ['lr_schedule', 'min_learning_rate'],
      problem: 'the cycle has no range',
      expected: `a value below learning_rate (${c.learning_rate})`,
      fix: 'lower min_learning_rate or raise learning_rate',
    };
  }
  return undefined;
}

/** Reads and validates train.yaml (located errors), fills in defaults and resolves `model` to architecture (or layer list) + model id. */
export function readTrainConfig(file: string): TrainConfig {
  const c = loadYamlConfig<TrainConfigFile>(file, TRAIN_CONFIG_SCHEMA, 'train_config', checkTrainConfig);
  const { model, model_id } = typeof c.model === 'string' ? resolveModel(c.model) : { model: c.model, model_id: layerModelId(c.model) };
  return { ...c, model, model_id, ...(c.loss === 'focal' ? { focal_gamma: c.focal_gamma ?? FOCAL_GAMMA } : {}) };
}
