/** JSON schema of eval_config (copied verbatim to schemas/mnist-eval-config.schema.json; a test keeps them equal). */
export const EVAL_CONFIG_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://mlcube-ts.local/schemas/mnist-eval-config.schema.json',
  title: 'eval_config of the mnist cube (evaluate.yaml)',
  type: 'object',
  additionalProperties: false,
  properties: {
    backend: {
      enum: ['auto', 'tensorflow', 'wasm', 'cpu', 'onnx'],
      default: 'auto',
      description:
        'What runs the model: a TensorFlow.js backend (auto: tfjs-node-gpu when GPUs are requested, tfjs-node, wasm, then pure JS), or onnx: the model converted to ONNX (as the export task writes it) on ONNX Runtime, CPU.',
    },
  },
} as const;

/** eval_config after validation and defaults. */
export interface EvalConfig {
  backend: 'auto' | 'tensorflow' | 'wasm' | 'cpu' | 'onnx';
}
