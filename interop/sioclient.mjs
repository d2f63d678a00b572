#!/usr/bin/env node
// Interop client, third driver: the official socket.io-client, whose
// transport is engine.io-client, against the echo server of the interop
// tests with its Socket.IO answers on (interop_sio_test.go): the server
// connects the client to the main namespace and echoes every other packet as
// it is, so that each event the client emits comes back to it.
//
// Usage:
//   [SIO_CLIENT=socket.io-client-v2] node sioclient.mjs echo <server-url> <transport>
//
// SIO_CLIENT names the package (see package.json): "socket.io-client" (4.x,
// the default: Engine.IO revision 4, Socket.IO protocol 5) or
// "socket.io-client-v2" (2.x: revision 3, Socket.IO protocol 4).
//
// echo: connect over <transport> ("polling", "websocket", or "upgrade":
// polling first, then wait for the Engine.IO upgrade), emit "text" with two
// strings (ASCII, and characters outside the BMP) and "bin" with a Buffer,
// wait for both to come back intact, then disconnect.
//
// On success the script prints exactly one JSON line on stdout
// ({"ok":true,...}) and exits 0. On failure it prints "sioclient.mjs: echo:
// <error>" and a trace of the events on stderr and exits 1. The scenario has
// an overall timeout.

import { createRequire } from "node:module";

import { elapsedMs, finish, installedVersion, note, sleep, waitFor, withTimeout } from "./common.mjs";

const require = createRequire(import.meta.url);
const CLIENT_PACKAGE = process.env.SIO_CLIENT || "socket.io-client";
const CLIENT_VERSION = installedVersion(CLIENT_PACKAGE);
const io = require(CLIENT_PACKAGE);

const TIMEOUT_MS = 15000;
const TEXTS = ["hello", "€ 😀 ünïcödé"];
const BINARY = Buffer.from([1, 2, 3, 4, 0, 255]);

const TRANSPORTS = {
  polling: { transports: ["polling"], upgrade: false },
  websocket: { transports: ["websocket"] },
  upgrade: { transports: ["polling", "websocket"], upgrade: true },
};

function once(emitter, event) {
  return new Promise((resolve) => emitter.once(event, (...args) => resolve(args)));
}

function toBuffer(data) {
  if (Buffer.isBuffer(data)) return data;
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return null;
}

async function echo(url, mode) {
  const opts = TRANSPORTS[mode];
  if (!opts) throw new Error(`transport must be polling, websocket or upgrade, not ${mode}`);
  const socket = io(url, {
    path: "/engine.io/",
    transports: [...opts.transports],
    upgrade: opts.upgrade !== false,
    reconnection: false,
    forceNew: true,
  });
  socket.on("connect_error", (err) => note("connect_error", String(err && err.message)));
  socket.on("disconnect", (reason) => note("disconnect", reason));
  // The Manager opens its engine at once: its first transport is known
  // before the connection, which may come after the upgrade.
  const engine = socket.io.engine;
  const firstTransport = engine.transport.name;
  await withTimeout(once(socket, "connect"), 10000, "the connect event");
  note("connect", { sid: engine.id, transport: engine.transport.name });
  if (mode === "upgrade" && engine.transport.name !== "websocket") {
    await withTimeout(once(engine, "upgrade"), 10000, "the Engine.IO upgrade");
    note("upgrade", engine.transport.name);
  }

  const text = once(socket, "text");
  socket.emit("text", ...TEXTS);
  const [a, b] = await withTimeout(text, 10000, `the echo of "text"`);
  if (a !== TEXTS[0] || b !== TEXTS[1]) throw new Error(`"text" came back as ${JSON.stringify([a, b])}`);

  const bin = once(socket, "bin");
  socket.emit("bin", BINARY);
  const [got] = await withTimeout(bin, 10000, `the echo of "bin"`);
  const buf = toBuffer(got);
  if (!buf || !buf.equals(BINARY)) throw new Error(`"bin" came back as ${buf ? `[${[...buf]}]` : typeof got}`);

  const sid = engine.id;
  const transport = engine.transport;
  const ws = transport.ws;
  const closed = once(engine, "close");
  socket.disconnect();
  const [reason] = await withTimeout(closed, 5000, "the Engine.IO close after disconnect");
  // Exiting before the close reaches the wire would abort it: wait for the
  // POST of the close packet (polling) or the closing handshake.
  await sleep(0);
  let flushed;
  if (transport.name === "polling") {
    flushed = (await waitFor(() => transport.writable === true, 2000)) ? "polling close packet sent" : "close not confirmed within 2 s";
  } else {
    flushed = (await waitFor(() => !ws || ws.readyState === 3, 2000)) ? "websocket closed" : "close not confirmed within 2 s";
  }
  return { sid, firstTransport, transport: transport.name, echoed: 2, closeReason: reason, closed: flushed };
}

async function main() {
  const [scenario, url, mode] = process.argv.slice(2);
  if (scenario !== "echo" || !url) throw new Error("usage: node sioclient.mjs echo <server-url> <transport>");
  const result = await withTimeout(echo(url, mode), TIMEOUT_MS, "the scenario to finish");
  return { ok: true, scenario, mode, client: CLIENT_VERSION, ...result, totalMs: elapsedMs() };
}

finish("sioclient.mjs", main());
