// A minimal Docker registry token server (the "Bearer realm=..." flow) for the integration tests.
// usage: node token-server.js KEY.pem CERT.pem PORTFILE USER:PASS
// Anonymous callers get pull on repositories not under "private/"; USER:PASS gets pull and push on all.
// Tokens are RS256 JWTs with the certificate in the x5c header, as docker-registry's token auth expects.
'use strict';
const http = require('http');
const crypto = require('crypto');
const fs = require('fs');

const [keyFile, certFile, portFile, userPass] = process.argv.slice(2);
const key = fs.readFileSync(keyFile);
const certDer = new crypto.X509Certificate(fs.readFileSync(certFile)).raw.toString('base64');
const b64url = (b) => Buffer.from(b).toString('base64').replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');

function token(access, service) {
  const now = Math.floor(Date.now() / 1000);
  const header = { typ: 'JWT', alg: 'RS256', x5c: [certDer] };
  const claims = { iss: 'mcpvm-test-issuer', sub: 'test', aud: service, exp: now + 600, nbf: now - 10, iat: now,
                   jti: crypto.randomBytes(8).toString('hex'), access };
  const input = b64url(JSON.stringify(header)) + '.' + b64url(JSON.stringify(claims));
  return input + '.' + b64url(crypto.sign('RSA-SHA256', Buffer.from(input), key));
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://127.0.0.1');
  const auth = req.headers.authorization || '';
  let user = null;
  if (auth.startsWith('Basic ')) {
    if (Buffer.from(auth.slice(6), 'base64').toString() !== userPass) {
      res.writeHead(401, { 'Content-Type': 'application/json' });
      return res.end('{"details":"wrong credentials"}');
    }
    user = userPass.split(':')[0];
  }
  const access = [];
  for (const scope of url.searchParams.getAll('scope')) {
    const [type, name, actions] = scope.split(':');
    if (type !== 'repository' || !name) continue;
    if (user) access.push({ type, name, actions: actions.split(',') });
    else if (!name.startsWith('private/')) access.push({ type, name, actions: ['pull'] });
    else {
      res.writeHead(401, { 'Content-Type': 'application/json' });
      return res.end('{"details":"authentication required"}');
    }
  }
  fs.appendFileSync(portFile + '.log', `${user || 'anonymous'} ${url.searchParams.getAll('scope').join(' ')}\n`);
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ token: token(access, url.searchParams.get('service')), expires_in: 600 }));
});
server.listen(0, '127.0.0.1', () => fs.writeFileSync(portFile, String(server.address().port)));
