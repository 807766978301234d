export { ALGORITHMS, isAlgorithm, type DigestAlgorithm } from './algorithms.js';
export { parseDigest, validateDigest, isDigest, type ParsedDigest } from './parse.js';
export { createDigester, digestOf, type Digester } from './digester.js';
