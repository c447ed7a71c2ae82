// A minimal Lambda Runtime API loop (next, handler, response), standing in
// for the managed nodejs20.x runtime under the Runtime Interface Emulator.
'use strict';
const http = require('node:http');

const base = `http://${process.env.AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime`;
const agent = new http.Agent({ keepAlive: true });

function call(method, path, body) {
  return new Promise((resolve, reject) => {
    const headers = body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
    const req = http.request(base + path, { method, agent, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const failure = (err) => JSON.stringify({ errorType: err.name || 'Error', errorMessage: String(err.message || err) });

async function main() {
  let handler;
  try {
    handler = require('./index.js').handler;
  } catch (err) {
    await call('POST', '/init/error', failure(err));
    process.exit(1);
  }
  for (;;) {
    const next = await call('GET', '/invocation/next');
    const id = next.headers['lambda-runtime-aws-request-id'];
    try {
      const out = await handler(JSON.parse(next.body), { awsRequestId: id });
      await call('POST', `/invocation/${id}/response`, JSON.stringify(out));
    } catch (err) {
      await call('POST', `/invocation/${id}/error`, failure(err));
    }
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
