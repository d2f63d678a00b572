#!/usr/bin/env node
// Interop client, second driver: the official engine.io-client of protocol
// revision 3 (3.5, installed as "engine.io-client-v3"; with EIO_CLIENT set,
// 2.1 or 1.8: see package.json), and option-heavy scenarios of the 6.x
// client (CORS with credentials) that client.mjs does not cover. The server under test echoes every message
// (text as text, binary as binary; the text "close-me" makes it close the
// session).
//
// Usage:
//   [EIO_CLIENT=engine.io-client-v1|engine.io-client-v2] node client3.mjs <scenario> <server-url> [transport]
//
// Revision 3 scenarios (the server needs WithAllowEIO3(true)):
//   v3-echo         <transport>   text (ASCII, "€ 😀 ünïcödé") + binary echo
//                                 (1.8 over polling: ASCII text only, see
//                                 TEXT_ENCODED_TWICE)
//   v3-xhr2                       polling with binary as XHR2 (see below)
//   v3-base64                     polling with forceBase64: true
//   v3-large        <transport>   500 KiB text and 500 KiB binary echoed intact
//   v3-heartbeat    <transport>   stay connected 2 s (the client pings every
//                                 pingInterval, the server pongs), then echo
//   v3-server-close <transport>   send "close-me"; the server closes
//   v3-client-close <transport>   echo "hi", then socket.close()
//   v3-refused                    the server refuses EIO=3: the client must
//                                 get an error and never open
// engine.io-client 6.x scenarios (Origin "http://other.example",
// withCredentials: true, so the client keeps cookies):
//   cors            <transport>   text + binary echo across origins
//   cors-refused    <transport>   the server refuses the origin: the client
//                                 must get an error and never open
//
// <transport> is "polling" (polling only), "websocket" (websocket only) or
// "upgrade" (polling first, then the client waits for its "upgrade" event).
//
// XHR2 in Node: engine.io-client 1.8 to 3.5 poll through xmlhttprequest-ssl,
// which has no responseType, so in Node the client always asks for base64
// (b64=1) and never sends or receives the XHR2 binary payload. v3-xhr2
// therefore gives the client, in place of xmlhttprequest-ssl, a small
// XMLHttpRequest over node:http that supports responseType "arraybuffer" as
// browsers do; the client, its parser and their binary code paths are the
// unmodified package. The script reports the Content-Type of every POST and
// response it saw.
//
// On success the script prints exactly one JSON line on stdout ({"ok":true,...})
// and exits 0. On failure it prints "client3.mjs: <scenario>: <error>" and a
// trace of the socket events on stderr and exits 1. Every scenario has an
// overall timeout.

import http from "node:http";
import path from "node:path";
import { createRequire } from "node:module";

import { elapsedMs, finish, installedVersion, note, sleep, waitFor, withTimeout } from "./common.mjs";

const require = createRequire(import.meta.url);

// EIO_CLIENT names the revision 3 client package the v3-* scenarios drive
// (see package.json): "engine.io-client-v3" (3.5, the default),
// "engine.io-client-v1" (1.8) or "engine.io-client-v2" (2.1).
const V3_PACKAGE = process.env.EIO_CLIENT || "engine.io-client-v3";

// loaded is the package of the client a scenario created, for the report.
let loaded = null;

const LARGE_SIZE = 500 * 1024;
const FOREIGN_ORIGIN = "http://other.example";
const TIMEOUT_MS = 20000;

function toBytes(data) {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return null;
}

function describe(data) {
  if (typeof data === "string") {
    return data.length > 60 ? `text(${data.length}) ${JSON.stringify(data.slice(0, 40))}...` : `text ${JSON.stringify(data)}`;
  }
  const b = toBytes(data);
  return b ? `binary(${b.length}) [${Array.from(b.subarray(0, 16)).join(",")}${b.length > 16 ? ",..." : ""}]` : `unknown ${typeof data}`;
}

function bytesEqual(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function firstDifference(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

function describeError(d) {
  if (d === undefined || d === null) return undefined;
  if (typeof d !== "object") return String(d);
  const parts = [];
  if (typeof d.message === "string") parts.push(d.message);
  if (d.type) parts.push(`type ${d.type}`);
  if (d.description !== undefined && d.description !== null) {
    const inner = d.description;
    if (typeof inner === "number") parts.push(`HTTP status ${inner}`);
    else if (typeof inner === "string") parts.push(inner);
    else if (typeof inner.message === "string") parts.push(inner.message);
    else if (typeof inner === "object" && "code" in inner) parts.push(`code ${inner.code}`);
  }
  const ctx = d.context;
  if (ctx && typeof ctx === "object" && typeof ctx.responseText === "string" && ctx.responseText)
    parts.push(`response ${JSON.stringify(ctx.responseText.slice(0, 200))}`);
  if (parts.length) return parts.join(": ");
  try {
    return JSON.stringify(d);
  } catch {
    return String(d);
  }
}

// ---- an XMLHttpRequest with responseType, for engine.io-client 3.5 ----

const xhrLog = { posts: [], responses: [] };

// XHR2 implements what engine.io-client 3.5's polling-xhr uses of
// XMLHttpRequest, over node:http, with responseType "arraybuffer" (the
// response is then a Buffer, which is what the Node build of
// engine.io-parser 2 decodes).
class XHR2 {
  constructor() {
    this.readyState = 0;
    this.status = 0;
    this.responseType = "";
    this.response = null;
    this.responseText = "";
    this.withCredentials = false;
    this.onreadystatechange = null;
    this._headers = {};
    this._res = null;
  }
  open(method, url) {
    this._method = method;
    this._url = url;
    this._setState(1);
  }
  setDisableHeaderCheck() {}
  setRequestHeader(name, value) {
    this._headers[name] = value;
  }
  getResponseHeader(name) {
    if (!this._res) return null;
    const v = this._res.headers[name.toLowerCase()];
    if (v === undefined) return null;
    return Array.isArray(v) ? v.join(", ") : v;
  }
  send(data) {
    const u = new URL(this._url);
    let body = data;
    if (body !== null && body !== undefined && typeof body !== "string" && !Buffer.isBuffer(body)) {
      const b = toBytes(body);
      body = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
    }
    const headers = { ...this._headers };
    if (body !== null && body !== undefined) headers["Content-Length"] = Buffer.byteLength(body);
    if (this._method === "POST") {
      const ct = Object.entries(headers).find(([k]) => k.toLowerCase() === "content-type");
      xhrLog.posts.push(ct ? ct[1] : null);
    }
    const req = http.request({ hostname: u.hostname, port: u.port, path: u.pathname + u.search, method: this._method, headers });
    req.on("response", (res) => {
      this._res = res;
      this.status = res.statusCode;
      if (this._method === "GET") xhrLog.responses.push(res.headers["content-type"] || null);
      this._setState(2); // the client picks responseType here
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => {
        if (this._aborted) return;
        const buf = Buffer.concat(chunks);
        if (this.responseType === "arraybuffer") {
          this.response = buf;
        } else {
          this.responseText = buf.toString("utf8");
          this.response = this.responseText;
        }
        this._setState(4);
      });
    });
    req.on("error", () => {
      if (this._aborted) return;
      this.status = 0;
      this._setState(4);
    });
    this._req = req;
    if (body !== null && body !== undefined) req.write(body);
    req.end();
  }
  abort() {
    this._aborted = true;
    if (this._req) this._req.destroy();
  }
  _setState(s) {
    this.readyState = s;
    if (this.onreadystatechange) this.onreadystatechange();
  }
}

// loadV3 loads engine.io-client 3.5, with XHR2 in place of
// xmlhttprequest-ssl when xhr2 is set. This must happen before the client's
// modules are first loaded: its polling transport probes XHR2 support once.
function loadV3(xhr2) {
  if (xhr2) {
    const lib = path.dirname(require.resolve(V3_PACKAGE));
    const target = require.resolve("xmlhttprequest-ssl", { paths: [path.join(lib, "transports")] });
    require.cache[target] = { id: target, filename: target, loaded: true, exports: XHR2, children: [], paths: [] };
  }
  loaded = V3_PACKAGE;
  return require(V3_PACKAGE);
}

// ---- the client wrapper, for both client generations ----

const V3_TRANSPORTS = {
  polling: { transports: ["polling"], upgrade: false },
  websocket: { transports: ["websocket"] },
  upgrade: { transports: ["polling", "websocket"], upgrade: true },
};

class Client {
  // socket is an engine.io-client Socket (3.5 or 6.x): both emit open,
  // message, close(reason, description), upgrade, upgradeError and error.
  constructor(socket, mode) {
    this.socket = socket;
    this.mode = mode;
    this.queue = [];
    this.waiters = [];
    this.closed = null;
    this.upgraded = false;
    this.errors = [];
    this.pongs = 0;
    this.pings = 0;

    this.opened = new Promise((resolve, reject) => {
      socket.on("open", () => {
        this.sid = socket.id;
        note("open", { sid: socket.id, transport: socket.transport && socket.transport.name });
        resolve();
      });
      socket.on("close", (reason, desc) => reject(new Error(`closed before open: ${reason} (${describeError(desc)})`)));
    });
    this.opened.catch(() => {});
    this.closedPromise = new Promise((resolve) => {
      socket.on("close", (reason, desc) => {
        const description = describeError(desc);
        note("close", { reason, description });
        this.closed = { reason, description };
        for (const w of this.waiters.splice(0)) w.reject(new Error(`socket closed (${reason}) while waiting for a message`));
        resolve(this.closed);
      });
    });
    socket.on("message", (data) => {
      note("message", describe(data));
      const w = this.waiters.shift();
      if (w) w.resolve(data);
      else this.queue.push(data);
    });
    socket.on("upgrade", () => {
      this.upgraded = true;
      note("upgrade", socket.transport && socket.transport.name);
    });
    socket.on("upgradeError", (err) => note("upgradeError", describeError(err)));
    socket.on("error", (err) => {
      const msg = describeError(err);
      this.errors.push(msg);
      note("error", msg);
    });
    socket.on("ping", () => this.pings++);
    socket.on("pong", () => this.pongs++);
  }

  next(what, ms = 10000) {
    if (this.queue.length) return Promise.resolve(this.queue.shift());
    if (this.closed) return Promise.reject(new Error(`socket closed (${this.closed.reason}) while waiting for ${what}`));
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: (v) => (clearTimeout(timer), resolve(v)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`timeout after ${ms} ms waiting for ${what}`));
      }, ms);
      this.waiters.push(waiter);
    });
  }

  async echoText(text) {
    this.socket.send(text);
    const got = await this.next(`the echo of ${describe(text)}`);
    if (typeof got !== "string") throw new Error(`sent ${describe(text)}, got back ${describe(got)}`);
    if (got !== text) throw new Error(`sent ${describe(text)}, got back ${describe(got)} (first difference at ${firstDifference(got, text)})`);
  }

  async echoBinary(bytes) {
    this.socket.send(bytes);
    const got = await this.next(`the echo of ${describe(bytes)}`);
    const b = typeof got === "string" ? null : toBytes(got);
    if (!b) throw new Error(`sent ${describe(bytes)}, got back ${describe(got)}`);
    if (!bytesEqual(b, bytes)) throw new Error(`sent ${describe(bytes)}, got back ${describe(b)} (first difference at ${firstDifference(b, bytes)})`);
  }

  async waitUpgrade() {
    if (this.upgraded) return;
    await withTimeout(
      Promise.race([
        new Promise((resolve) => this.socket.once("upgrade", resolve)),
        new Promise((_, reject) => this.socket.once("upgradeError", (e) => reject(new Error(`upgradeError: ${describeError(e)}`)))),
        this.closedPromise.then((r) => {
          throw new Error(`socket closed (${r.reason}) before the upgrade`);
        }),
      ]),
      10000,
      "the upgrade event",
    );
  }

  transportName() {
    return this.socket.transport ? this.socket.transport.name : null;
  }

  // close3 closes an engine.io-client 3.5 socket and waits (bounded) until
  // the close has reached the wire: the POST of the close packet for
  // polling, the WebSocket closing handshake for websocket.
  async close3() {
    const transport = this.socket.transport;
    const ws = transport && transport.ws;
    this.socket.close();
    await withTimeout(this.closedPromise, 5000, "the close event after socket.close()");
    let ok;
    if (transport.name === "polling") {
      // The POST of the close packet has ended once its request has been
      // cleaned up (on success or on an error status).
      const post = transport.sendXhr;
      ok = await waitFor(() => transport.writable === true || !post || !post.xhr, 2000);
      if (!ok) return "close not confirmed within 2 s";
      return transport.writable === true ? "polling close packet sent" : "polling close packet sent, the POST failed";
    }
    ok = await waitFor(() => !ws || ws.readyState === 3, 2000);
    return ok ? "websocket closed" : "close not confirmed within 2 s";
  }

  // close6 closes an engine.io-client 6.x socket and waits for the close to
  // reach the wire.
  async close6() {
    this.socket.close();
    await withTimeout(this.closedPromise, 5000, "the close event after socket.close()");
    const transport = this.socket.transport;
    if (transport && transport.name === "polling") {
      const ok = await waitFor(() => transport.writable === true, 2000);
      return ok ? "polling close packet sent" : "close not confirmed within 2 s";
    }
    const ws = transport && transport.ws;
    const ok = await waitFor(() => !ws || ws.readyState === 3, 2000);
    return ok ? "websocket closed" : "close not confirmed within 2 s";
  }
}

function needTransport(transport, scenario) {
  if (!V3_TRANSPORTS[transport]) throw new Error(`scenario ${scenario} needs a transport: polling, websocket or upgrade`);
  return transport;
}

function v3Client(url, mode, extra = {}, xhr2 = false) {
  const eio = loadV3(xhr2);
  const opts = { ...V3_TRANSPORTS[mode], forceNode: true, ...extra };
  opts.transports = [...opts.transports];
  const c = new Client(new eio.Socket(url, opts), mode);
  c.protocol = eio.protocol;
  return c;
}

async function v6Client(url, mode) {
  const { Socket } = await import("engine.io-client");
  loaded = "engine.io-client";
  const opts = { ...V3_TRANSPORTS[mode], extraHeaders: { Origin: FOREIGN_ORIGIN }, withCredentials: true };
  opts.transports = [...opts.transports];
  return new Client(new Socket(url, opts), mode);
}

const TEXTS = ["hello", "€ 😀 ünïcödé \u2028 \"q\" \n"];
const ASCII_TEXTS = ["hello", "plain ASCII \u007f \"q\" \n"];
const BINARIES = [Buffer.from([1, 2, 3, 4]), Buffer.from([4, 0, 255, 10, 13])];

// engine.io-client 1.x (engine.io-parser 1.x) encodes the text packets of a
// polling payload to UTF-8 once more before the request does, and decodes
// the server's the same way. Servers on engine.io-parser 2.0 and later (the
// JavaScript engine.io 3.x to 6.x) do neither, and nor does this one, so
// with 1.x only ASCII text crosses polling intact; over WebSocket any text
// does. The 1.x polling scenarios therefore echo ASCII_TEXTS
// (interop_v3_test.go expects the same).
const TEXT_ENCODED_TWICE = V3_PACKAGE === "engine.io-client-v1";

async function basicEcho(c) {
  const texts = TEXT_ENCODED_TWICE && c.mode === "polling" ? ASCII_TEXTS : TEXTS;
  for (const t of texts) await c.echoText(t);
  for (const b of BINARIES) await c.echoBinary(b);
  return texts.length + BINARIES.length;
}

function largeText() {
  const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  const chunk = [];
  for (let i = 0; i < 1024; i++) chunk.push(alphabet[(i * 7 + (i >> 6)) % alphabet.length]);
  const block = chunk.join("");
  let s = "";
  for (let i = 0; i < LARGE_SIZE / 1024; i++) s += block.slice(i % 61) + block.slice(0, i % 61);
  return s;
}

function largeBinary() {
  const b = Buffer.alloc(LARGE_SIZE);
  for (let i = 0; i < b.length; i++) b[i] = (i * 31 + (i >> 8)) & 0xff;
  return b;
}

// pollingSupportsBinary reports whether the polling transport sends and
// accepts binary payloads (false: it asked for b64=1).
function pollingSupportsBinary(c) {
  const t = c.socket.transport;
  return t && t.name === "polling" ? t.supportsBinary !== false : null;
}

async function echoScenario(c, { waitUpgrade = false } = {}) {
  await withTimeout(c.opened, 10000, "the open event");
  const firstTransport = c.transportName();
  const supportsBinary = pollingSupportsBinary(c);
  if (waitUpgrade) await c.waitUpgrade();
  const echoed = await basicEcho(c);
  const transport = c.transportName();
  return { firstTransport, transport, supportsBinary, upgraded: c.upgraded, sid: c.sid, echoed };
}

const scenarios = {
  async "v3-echo"(url, mode) {
    const c = v3Client(url, needTransport(mode, "v3-echo"));
    const r = await echoScenario(c, { waitUpgrade: mode === "upgrade" });
    return { ...r, protocol: c.protocol, closed: await c.close3() };
  },

  async "v3-xhr2"(url) {
    const c = v3Client(url, "polling", {}, true);
    const r = await echoScenario(c);
    return { ...r, protocol: c.protocol, closed: await c.close3(), postTypes: xhrLog.posts, responseTypes: xhrLog.responses };
  },

  async "v3-base64"(url) {
    // With the XHR2-capable XMLHttpRequest, so that base64 is the doing of
    // forceBase64 and not of a missing responseType.
    const c = v3Client(url, "polling", { forceBase64: true }, true);
    const r = await echoScenario(c);
    return { ...r, protocol: c.protocol, closed: await c.close3(), postTypes: xhrLog.posts, responseTypes: xhrLog.responses };
  },

  async "v3-large"(url, mode) {
    const c = v3Client(url, needTransport(mode, "v3-large"));
    await withTimeout(c.opened, 10000, "the open event");
    if (mode === "upgrade") await c.waitUpgrade();
    const text = largeText();
    await c.echoText(text);
    const bin = largeBinary();
    await c.echoBinary(bin);
    return { transport: c.transportName(), sid: c.sid, textLength: text.length, binaryLength: bin.length, echoed: 2, closed: await c.close3() };
  },

  async "v3-heartbeat"(url, mode) {
    const c = v3Client(url, needTransport(mode, "v3-heartbeat"));
    await withTimeout(c.opened, 10000, "the open event");
    const sid = c.sid;
    await Promise.race([
      sleep(2000),
      c.closedPromise.then((r) => {
        throw new Error(`socket closed (${r.reason}) during the 2 s wait, after ${c.pongs} pongs`);
      }),
    ]);
    if (c.closed) throw new Error(`socket closed (${c.closed.reason})`);
    await c.echoText("still-alive");
    if (c.socket.id !== sid) throw new Error(`session id changed from ${sid} to ${c.socket.id}`);
    return {
      transport: c.transportName(),
      sid,
      upgraded: c.upgraded,
      pings: c.pings,
      pongs: c.pongs,
      pingInterval: c.socket.pingInterval,
      pingTimeout: c.socket.pingTimeout,
      echoed: 1,
      closed: await c.close3(),
    };
  },

  async "v3-server-close"(url, mode) {
    const c = v3Client(url, needTransport(mode, "v3-server-close"));
    await withTimeout(c.opened, 10000, "the open event");
    if (mode === "upgrade") await c.waitUpgrade();
    const transport = c.transportName();
    c.socket.send("before-close");
    c.socket.send("close-me");
    const closed = await withTimeout(c.closedPromise, 10000, 'the close event after "close-me"');
    const received = c.queue.map((m) => (typeof m === "string" ? m : describe(m)));
    return { transport, sid: c.sid, closeReason: closed.reason, closeDescription: closed.description, received };
  },

  async "v3-client-close"(url, mode) {
    const c = v3Client(url, needTransport(mode, "v3-client-close"));
    await withTimeout(c.opened, 10000, "the open event");
    if (mode === "upgrade") await c.waitUpgrade();
    await c.echoText("hi");
    const transport = c.transportName();
    const closed = await c.close3();
    return { transport, sid: c.sid, closeReason: c.closed.reason, echoed: 1, closed };
  },

  async "v3-refused"(url) {
    const c = v3Client(url, "polling");
    const closed = await withTimeout(c.closedPromise, 10000, "the close event of a refused handshake");
    return { refused: !c.sid, closeReason: closed.reason, closeDescription: closed.description, errors: c.errors };
  },

  async cors(url, mode) {
    const c = await v6Client(url, needTransport(mode, "cors"));
    const r = await echoScenario(c, { waitUpgrade: mode === "upgrade" });
    return { ...r, closed: await c.close6() };
  },

  async "cors-refused"(url, mode) {
    const c = await v6Client(url, needTransport(mode, "cors-refused"));
    const closed = await withTimeout(c.closedPromise, 10000, "the close event of a refused handshake");
    return { refused: !c.sid, closeReason: closed.reason, closeDescription: closed.description, errors: c.errors };
  },
};

async function main() {
  const [scenario, url, transport] = process.argv.slice(2);
  if (!scenario || !url || !scenarios[scenario]) {
    throw new Error(`usage: node client3.mjs <scenario> <server-url> [transport]\nscenarios: ${Object.keys(scenarios).join(", ")}`);
  }
  const result = await withTimeout(scenarios[scenario](url, transport), TIMEOUT_MS, `scenario ${scenario} to finish`);
  return { ok: true, scenario, mode: transport || null, client: loaded && installedVersion(loaded), ...result, totalMs: elapsedMs() };
}

finish("client3.mjs", main());
