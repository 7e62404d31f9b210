// SPDX-License-Identifier: Apache-2.0
// A small key-value server for tests/real-node.sh: an in-memory map over
// HTTP, and a signal handler installed on request (libuv's signal lock is a
// pipe holding one byte: it must come back exactly).
'use strict';
const http = require('http');
const url = require('url');
const port = Number(process.argv[2]);
const store = new Map();
for (let i = 0; i < 50000; i++) store.set('k' + i, 'v' + i);

http.createServer((req, res) => {
  const u = url.parse(req.url, true);
  if (u.pathname === '/get') {
    const v = store.get(u.query.k);
    res.writeHead(v === undefined ? 404 : 200);
    res.end(v === undefined ? 'missing\n' : v + '\n');
  } else if (u.pathname === '/set') {
    store.set(u.query.k, u.query.v);
    res.end('ok\n');
  } else if (u.pathname === '/size') {
    res.end(store.size + '\n');
  } else if (u.pathname === '/trap') {
    process.on('SIGUSR2', () => console.log('got SIGUSR2'));
    res.end('trapping\n');
  } else {
    res.end('up\n');
  }
}).listen(port, '127.0.0.1', () => console.log('listening'));
