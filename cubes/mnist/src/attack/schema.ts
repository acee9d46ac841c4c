/** JSON schema of attack_config (copied verbatim to schemas/mnist-attack-config.schema.json; a test keeps them equal). */
export const ATTACK_CONFIG_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://mlcube-ts.local/schemas/mnist-attack-config.schema.json',
  title: 'attack_config of the mnist cube (attack.yaml)',
  description: 'The evasion attack the attack task runs against every source model: untargeted, L-infinity, on the test digits (pixels in [0, 1]).',
  type: 'object',
  additionalProperties: false,
  required: ['eps'],
  properties: {
    attack: {
      enum: ['fgm', 'pgd'],
      default: 'fgm',
      description:
        'fgm: the fast gradient method, x + eps * sign(grad_x loss) clipped to [0, 1]; pgd: projected gradient descent, `steps` such steps of size `step_size`, each projected back into the eps ball and [0, 1].',
    },
    norm: { enum: ['inf'], default: 'inf', description: 'The norm of the perturbation budget: L-infinity (the only one).' },
    eps: {
      type: 'array',
      minItems: 1,
      maxItems: 32,
      uniqueItems: true,
      items: { type: 'number', minimum: 0, maximum: 1 },
      description: 'The budgets: one adversarial set per source model and eps (pixels scale 0-1; 0.3 is 76.5 of 255 grey levels).',
    },
    steps: { type: 'integer', minimum: 1, maximum: 1000, description: 'pgd only: iterations (default 10).' },
    step_size: { type: 'number', exclusiveMinimum: 0, maximum: 1, description: 'pgd only: the size of each step (default 2.5 * eps / steps, per eps).' },
    random_start: { type: 'boolean', description: 'pgd only: start from a uniform random point of the eps ball (seeded by `seed`; default false).' },
    seed: { type: 'integer', minimum: 0, maximum: 4294967295, default: 0, description: 'Seeds the random start of pgd.' },
    images: {
      type: 'integer',
      minimum: 1,
      description: 'Attack only the first N test images (quick runs); default: all of them.',
    },
    batch_size: { type: 'integer', minimum: 1, maximum: 65536, default: 250, description: 'Images per gradient computation.' },
    backend: { enum: ['auto', 'wasm', 'cpu'], default: 'auto', description: 'The TensorFlow.js backend: auto (wasm, then pure JS), wasm or cpu.' },
  },
} as const;

/** attack_config after validation and defaults (pgd keys filled in for attack: pgd). */
export interface AttackConfig {
  attack: 'fgm' | 'pgd';
  norm: 'inf';
  eps: number[];
  steps?: number;
  step_size?: number;
  random_start?: boolean;
  seed: number;
  images?: number;
  batch_size: number;
  backend: 'auto' | 'wasm' | 'cpu';
}
