// Jest transformer for ESM-only packages in node_modules (@kubernetes/client-node 1.x and its
// openid-client/jose/oauth4webapi): jest's CommonJS runtime cannot load ES modules on Node 20, so
// we transpile them to CommonJS with TypeScript's transpileModule (syntax only, no type check).
// Wire it with transformIgnorePatterns that let those packages through (see jest.apiserver.config.js).
'use strict';
const crypto = require('crypto');
const ts = require('typescript');

const COMPILER_OPTIONS = {
  module: ts.ModuleKind.CommonJS,
  target: ts.ScriptTarget.ES2022,
  esModuleInterop: true,
  allowJs: true,
  sourceMap: false,
  inlineSourceMap: true,
};

module.exports = {
  process(sourceText, sourcePath) {
    const out = ts.transpileModule(sourceText, { compilerOptions: COMPILER_OPTIONS, fileName: sourcePath });
    return { code: out.outputText };
  },
  getCacheKey(sourceText, sourcePath) {
    return crypto.createHash('sha256').update('esm-transform-1\0').update(ts.version).update('\0').update(sourcePath).update('\0').update(sourceText).digest('hex');
  },
};
