// The whole-process floor for `npm run normalize`: reads NDJSON on stdin and writes, per line,
// JSON.stringify(JSON.parse(line)) to stdout, buffered as the normalize CLI buffers its output.
// Compare the two with any process timer, e.g.
//   /usr/bin/time -f '%U %S' npm run --silent normalize -- --tenant <GUID> --content-type Audit.General < records.ndjson > /dev/null
//   /usr/bin/time -f '%U %S' node tools/bench/floor.mjs < records.ndjson > /dev/null
import { readFileSync, writeSync } from 'node:fs';

const FLUSH_AT_CHARS = 1 << 16;
let parts = [];
let chars = 0;
for (const line of readFileSync(0, 'utf8').split('\n')) {
  const text = line.trim();
  if (text === '') continue;
  const out = JSON.stringify(JSON.parse(text));
  parts.push(out, '\n');
  chars += out.length + 1;
  if (chars >= FLUSH_AT_CHARS) {
    writeSync(1, parts.join(''));
    parts = [];
    chars = 0;
  }
}
if (parts.length > 0) writeSync(1, parts.join(''));
