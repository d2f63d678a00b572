'use strict';
// Reference Engine.IO v4 echo server for bench/run.sh.
//
//   node echo.js [-port 3000] [-host 127.0.0.1] [-ping-interval 25000] [-ping-timeout 20000]
//                [-cert cert.pem -key key.pem]   (HTTPS and wss://)
//
// Every flag may also be given as --flag=value, or through the environment:
// PORT, HOST, PING_INTERVAL, PING_TIMEOUT. Flags win over the environment.
// Every message is sent back unchanged: a string as a text message, a Buffer
// as a binary message. Prints one line with the address once it listens.

const fs = require('fs');
const http = require('http');
const https = require('https');
const path = require('path');
const engine = require('engine.io');

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const m = /^--?([a-z-]+)(?:=(.*))?$/.exec(argv[i]);
    if (!m) {
      throw new Error(`unexpected argument ${argv[i]}`);
    }
    if (m[2] !== undefined) {
      out[m[1]] = m[2];
    } else if (i + 1 < argv.length) {
      out[m[1]] = argv[++i];
    } else {
      throw new Error(`flag ${argv[i]} needs a value`);
    }
  }
  return out;
}

function intOption(value, name) {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) {
    throw new Error(`${name} must be a non-negative integer, got ${value}`);
  }
  return n;
}

const args = parseArgs(process.argv.slice(2));
const known = new Set(['port', 'host', 'ping-interval', 'ping-timeout', 'cert', 'key']);
for (const k of Object.keys(args)) {
  if (!known.has(k)) {
    console.error(`unknown flag -${k}; known: ${[...known].map((f) => '-' + f).join(' ')}`);
    process.exit(2);
  }
}

const port = intOption(args.port ?? process.env.PORT ?? 3000, 'port');
const host = args.host ?? process.env.HOST ?? '127.0.0.1';
const pingInterval = intOption(args['ping-interval'] ?? process.env.PING_INTERVAL ?? 25000, 'ping-interval');
const pingTimeout = intOption(args['ping-timeout'] ?? process.env.PING_TIMEOUT ?? 20000, 'ping-timeout');

if ((args.cert === undefined) !== (args.key === undefined)) {
  console.error('-cert and -key go together');
  process.exit(2);
}
const notFound = (req, res) => {
  res.writeHead(404).end();
};
const httpServer = args.cert === undefined
  ? http.createServer(notFound)
  : https.createServer({ cert: fs.readFileSync(args.cert), key: fs.readFileSync(args.key) }, notFound);

const eio = engine.attach(httpServer, {
  path: '/engine.io/',
  pingInterval,
  pingTimeout,
  maxHttpBufferSize: 1e6,
});

eio.on('connection', (socket) => {
  socket.on('message', (data) => {
    socket.send(data);
  });
});

function engineVersion() {
  // engine.io's "exports" map hides its package.json from require().
  try {
    const file = path.join(__dirname, 'node_modules', 'engine.io', 'package.json');
    return JSON.parse(fs.readFileSync(file, 'utf8')).version;
  } catch {
    return 'unknown';
  }
}

httpServer.listen(port, host, () => {
  const addr = httpServer.address();
  const scheme = args.cert === undefined ? 'http' : 'https';
  console.log(`engine.io ${engineVersion()} echo server listening on ${scheme}://${addr.address}:${addr.port}/engine.io/`);
});

function shutdown() {
  eio.close();
  httpServer.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
