// `npm run normalize`: runs tools/cli/normalize.ts compiled to JavaScript (see tools/cli/buildOnDemand.mjs), so a
// run does not pay for a TypeScript transpile (about 0.7 s of CPU through tsx, more than normalizing
// 10,000 records). The build is made on first use and again whenever one of its source files changed.
import { pathToFileURL } from 'node:url';
import { compiledEntry } from './buildOnDemand.mjs';

await import(pathToFileURL(await compiledEntry('tools/cli/normalize.ts')).href);
