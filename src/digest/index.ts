export { ALGORITHMS, isAlgorithm, type DigestAlgorithm } from './algorithms.js';
export { parseDigest, validateDigest, isDigest, type ParsedDigest } from './parse.js';
export { createDigester, digestOf, type Digester } from './digester.js';
export { Verifier, verifyBytes, checkContent, type Expected } from './verifier.js';
export { VerifyingStream } from './verify-stream.js';
export { hashFd, verifyFd, verifyFile, type HashFileOptions } from './hash-file.js';
