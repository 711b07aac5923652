/**
 * The layers of byzpax, checked on every `npm test` (test/architecture/layers.test.ts).
 *
 * Each folder of src/ may import only the folders listed for it — downward — and nothing imports
 * in a cycle. The order, bottom to top:
 *
 *   crypto    bytes, hashes, Ed25519, Merkle trees, the canonical CBOR every signature covers
 *   random    the seeded generator the simulator and the strategies draw from (never the core)
 *   core      the pure replica: step(input) → outputs; no sockets, clocks, randomness or disk
 *   codec     the wire format of the core's messages (strict decoding)
 *   app       replicated applications (the key-value store); implements core's StateMachine
 *   net       authenticated WebSocket transport; knows members and keys, not the protocol
 *   storage   lmdb persistence of the core's durable state
 *   cluster   cluster and key files
 *   client    the client library
 *   check     linearizability checking, history recording
 *   server    a replica process: core + net + storage, given its application and node
 *   faults    Byzantine strategies and the live nemesis
 *   sim       the deterministic simulator and Twins
 *   cli       the byzpax command
 *
 * src/index.ts and the other package entry points sit above everything. Tests and benchmarks may
 * import anything. A new exception is a design change: write it here, with the reason.
 */
const layers = {
  crypto: [],
  random: [],
  core: ['crypto'],
  codec: ['core', 'crypto'],
  app: ['core', 'codec', 'crypto'],
  net: ['codec', 'crypto'],
  storage: ['core', 'codec', 'crypto'],
  cluster: ['core', 'codec', 'crypto'],
  client: ['core', 'codec', 'crypto', 'app', 'net', 'cluster'],
  check: ['app', 'crypto'],
  server: ['core', 'codec', 'crypto', 'net', 'storage', 'cluster'],
  faults: ['random', 'core', 'codec', 'crypto', 'app', 'net', 'storage', 'cluster', 'client', 'check', 'server'],
  sim: ['random', 'core', 'codec', 'crypto', 'app', 'cluster', 'client', 'check', 'faults'],
  cli: null, // the top: may import every layer
};

const folders = Object.keys(layers);

module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'A cycle makes two modules one: neither can be read, tested or changed alone.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    ...folders
      .filter((f) => layers[f] !== null)
      .map((f) => ({
        name: `layer-${f}`,
        severity: 'error',
        comment: `src/${f} may import only ${layers[f].length ? layers[f].map((d) => `src/${d}`).join(', ') : 'its own files'} (see the layer list at the top of .dependency-cruiser.cjs)`,
        from: { path: `^src/${f}/` },
        to: { path: '^src/', pathNot: [`^src/${f}/`, ...layers[f].map((d) => `^src/${d}/`)] },
      })),
    {
      name: 'no-unknown-folder',
      severity: 'error',
      comment: 'Every folder of src/ has a place in the layer list.',
      from: { path: '^src/[^/]+/' , pathNot: folders.map((f) => `^src/${f}/`) },
      to: {},
    },
    {
      name: 'core-is-pure',
      severity: 'error',
      comment: 'The core runs in the simulator and in real processes alike: no I/O, clock or randomness modules.',
      from: { path: '^src/core/' },
      to: { dependencyTypes: ['core', 'npm'], pathNot: ['^node_modules/(cbor-x|@noble)/'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    combinedDependencies: false,
    exclude: { path: '^(node_modules|dist)/' },
    tsConfig: { fileName: 'tsconfig.json' },
  },
};

