/** JSON schema of data_config (copied verbatim to schemas/mnist-data-config.schema.json; a test keeps them equal). */
export const DATA_CONFIG_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://mlcube-ts.local/schemas/mnist-data-config.schema.json',
  title: 'data_config of the mnist cube (data.yaml)',
  description: 'Where the download task gets MNIST from. Without `uri`, the canonical internet source of `dataset` is used.',
  type: 'object',
  additionalProperties: false,
  properties: {
    dataset: { enum: ['mnist', 'fashion_mnist'], default: 'mnist', description: 'Which data set; picks the canonical source when `uri` is absent.' },
    uri: {
      description:
        'https://, http://, file:// or a path relative to this file. A .npz file (hash: one sha256); a directory ending in / holding the four *-idx?-ubyte.gz files (hash: file name -> sha256); or a list of {uri, hash}.',
      oneOf: [
        { type: 'string', minLength: 1 },
        {
          type: 'array',
          minItems: 1,
          items: { type: 'object', additionalProperties: false, required: ['uri', 'hash'], properties: { uri: { type: 'string', minLength: 1 }, hash: { $ref: '#/$defs/sha256' } } },
        },
      ],
    },
    hash: {
      description: 'sha256 of the file (hex), or for a directory uri a map from file name to sha256.',
      oneOf: [{ $ref: '#/$defs/sha256' }, { type: 'object', additionalProperties: { $ref: '#/$defs/sha256' } }],
    },
    timeout_s: { type: 'number', exclusiveMinimum: 0, default: 60, description: 'Seconds without any data before an attempt is abandoned.' },
    retries: { type: 'integer', minimum: 0, maximum: 20, default: 4, description: 'Extra attempts after a transient network error (exponential backoff, resumed with HTTP Range).' },
  },
  $defs: {
    sha256: { type: 'string', pattern: '^[0-9a-fA-F]{64}$', description: 'sha256 in hex, as printed by `sha256sum`.' },
  },
} as const;

/** data_config after validation and defaults. */
export interface DataConfig {
  dataset: 'mnist' | 'fashion_mnist';
  uri?: string | Array<{ uri: string; hash: string }>;
  hash?: string | Record<string, string>;
  timeout_s: number;
  retries: number;
}
