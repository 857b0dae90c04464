// A registry front for the integration tests that misbehaves on purpose, in ways a real docker-registry
// cannot be made to: it proxies to the real registry on UPSTREAM, except
//   /v2/flaky/...              the first 2 requests to each path answer 503 (then proxied): retries
//   /v2/huge/*/manifests/...   a 5 MB manifest (the real registry refuses to store or serve one)
//   /v2/schema1/*/manifests/...  a schema 1 signed manifest
// usage: node hostile-proxy.js UPSTREAM_HOST:PORT PORTFILE
'use strict';
const http = require('http');
const fs = require('fs');
const [upstream, portFile] = process.argv.slice(2);
const [uhost, uport] = upstream.split(':');
const seen = new Map();

const server = http.createServer((req, res) => {
  const path = req.url.split('?')[0];
  if (/^\/v2\/huge\/.*\/manifests\//.test(path)) {
    const body = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
                                  annotations: { pad: 'a'.repeat(5000000) } });
    res.writeHead(200, { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json', 'Content-Length': body.length });
    return res.end(body);
  }
  if (/^\/v2\/schema1\/.*\/manifests\//.test(path)) {
    const body = JSON.stringify({ schemaVersion: 1, name: 'schema1', tag: '1', architecture: 'amd64', fsLayers: [],
                                  history: [], signatures: [] });
    res.writeHead(200, { 'Content-Type': 'application/vnd.docker.distribution.manifest.v1+prettyjws' });
    return res.end(body);
  }
  if (path.startsWith('/v2/flaky/')) {
    const n = (seen.get(path) || 0) + 1;
    seen.set(path, n);
    fs.appendFileSync(portFile + '.log', `${req.method} ${path} ${n}\n`);
    if (n <= 2) {
      res.writeHead(503, { 'Content-Type': 'application/json' });
      return res.end('{"errors":[{"code":"UNAVAILABLE","message":"try again"}]}');
    }
  }
  const up = http.request({ host: uhost, port: uport, method: req.method, path: req.url, headers: req.headers }, (ur) => {
    res.writeHead(ur.statusCode, ur.headers);
    ur.pipe(res);
  });
  up.on('error', () => { res.writeHead(502); res.end(); });
  req.pipe(up);
});
server.listen(0, '127.0.0.1', () => fs.writeFileSync(portFile, String(server.address().port)));
