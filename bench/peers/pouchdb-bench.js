// SPDX-License-Identifier: GPL-3.0-or-later
//
// The same workload as rfl-bench-sync's "e2e", on PouchDB 9 with LevelDB:
// device A stores the records (the baseline), then replicates them to a
// server over HTTP on loopback while device B, replicating from the
// server from the same moment, waits until it holds every record. One
// JSON line of results on stdout.
//
//   node pouchdb-bench.js WORKDIR CASES.jsonl
//
// Run by bench/peers/pouchdb.sh, which installs the packages first.

'use strict';

const fs = require('fs');
const path = require('path');
const readline = require('readline');
const express = require('express');
const PouchDB = require('pouchdb-node');

async function readCases(file) {
  const docs = [];
  const lines = readline.createInterface({ input: fs.createReadStream(file), crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.trim() === '')
      continue;
    const record = JSON.parse(line);
    record._id = record.id;
    delete record.id;
    docs.push(record);
  }
  return docs;
}

function listen(app) {
  return new Promise((resolve, reject) => {
    const server = app.listen(0, '127.0.0.1', () => resolve(server));
    server.on('error', reject);
  });
}

async function main() {
  const [work, cases] = process.argv.slice(2);
  if (!work || !cases) {
    console.error('usage: node pouchdb-bench.js WORKDIR CASES.jsonl');
    process.exit(2);
  }
  fs.rmSync(work, { recursive: true, force: true });
  for (const dir of ['server', 'a', 'b'])
    fs.mkdirSync(path.join(work, dir), { recursive: true });

  // The server: PouchDB's own CouchDB-compatible HTTP front, on LevelDB.
  const ServerDB = PouchDB.defaults({ prefix: path.join(work, 'server') + path.sep });
  const app = express();
  app.use('/', require('express-pouchdb')(ServerDB, { mode: 'minimumForPouchDB', logPath: path.join(work, 'log.txt') }));
  const server = await listen(app);
  const url = `http://127.0.0.1:${server.address().port}/goma`;
  await new ServerDB('goma').info();

  const docs = await readCases(cases);
  const a = new PouchDB(path.join(work, 'a', 'goma'));
  const b = new PouchDB(path.join(work, 'b', 'goma'));

  let t0 = process.hrtime.bigint();
  for (let i = 0; i < docs.length; i += 1000)
    await a.bulkDocs(docs.slice(i, i + 1000));
  const importS = Number(process.hrtime.bigint() - t0) / 1e9;

  t0 = process.hrtime.bigint();
  const pull = b.replicate.from(url, { live: true, retry: true, batch_size: 1000 });
  const push = a.replicate.to(url, { batch_size: 1000 });
  const pushDone = push.then(() => Number(process.hrtime.bigint() - t0) / 1e9);
  const pullDone = new Promise((resolve, reject) => {
    const check = async () => {
      const info = await b.info();
      if (info.doc_count >= docs.length) {
        resolve(Number(process.hrtime.bigint() - t0) / 1e9);
        return true;
      }
      return false;
    };
    pull.on('change', () => { check().catch(reject); });
    pull.on('error', reject);
  });
  const [pushS, pullS] = await Promise.all([pushDone, pullDone]);
  pull.cancel();

  console.log(JSON.stringify({
    workload: 'pouchdb', records: docs.length, import_s: importS,
    push_s: pushS, e2e_s: Math.max(pushS, pullS), pouchdb: require('pouchdb-node/package.json').version,
  }));
  await a.close();
  await b.close();
  server.close();
  process.exit(0);
}

main().catch((err) => {
  console.error(`pouchdb-bench: ${err.message}`);
  process.exit(1);
});
