// selftest.mjs: checks repo-peer.mjs against a second instance of itself, over
// real libp2p on loopback. Run from the repository root or from interop/:
//   node interop/selftest.mjs        (exit status 0 on success)
// Set COLLAB_INTEROP_TRACE=1 to see every message on stderr.
import { generateAutomergeUrl } from "@automerge/automerge-repo";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

class Peer {
  #nextId = 1;
  #pending = new Map();
  constructor(name, extraArgs = []) {
    this.name = name;
    this.proc = spawn(process.execPath, [join(here, "repo-peer.mjs"), ...extraArgs], {
      stdio: ["pipe", "pipe", "inherit"],
    });
    this.exited = new Promise((resolve) => this.proc.on("exit", (code) => resolve(code)));
    this.ready = new Promise((resolve, reject) => {
      this.proc.on("exit", (code) => reject(new Error(`${name} exited (${code}) before ready`)));
      createInterface({ input: this.proc.stdout }).on("line", (line) => {
        const ev = JSON.parse(line);
        if (ev.event === "ready") resolve(ev);
        else if (ev.id !== undefined && this.#pending.has(ev.id)) {
          this.#pending.get(ev.id)(ev);
          this.#pending.delete(ev.id);
        }
      });
    });
  }
  async cmd(c, timeoutMs = 40_000) {
    const id = this.#nextId++;
    const reply = new Promise((resolve, reject) => {
      this.#pending.set(id, resolve);
      setTimeout(() => reject(new Error(`${this.name}: no reply to ${JSON.stringify(c)}`)), timeoutMs).unref();
    });
    this.proc.stdin.write(JSON.stringify({ ...c, id }) + "\n");
    const ev = await reply;
    if (ev.event === "error") throw new Error(`${this.name} ${c.cmd}: ${ev.error}`);
    return ev;
  }
  kill() {
    this.proc.kill("SIGKILL");
  }
}

function expect(cond, what, got) {
  if (!cond) throw new Error(`${what}${got === undefined ? "" : `: got ${JSON.stringify(got)}`}`);
  console.log(`ok   ${what}`);
}

const a = new Peer("A");
const b = new Peer("B");
let failed = false;
try {
  const ra = await a.ready;
  const rb = await b.ready;

  const dialed = await b.cmd({ cmd: "dial", addr: ra.addrs[0] });
  expect(dialed.event === "dialed" && dialed.peerId === ra.peerId && dialed.repoPeerId === ra.repoPeerId,
    "B dials A; the handshake names A's libp2p and repo peer ids", dialed);
  const peers = await a.cmd({ cmd: "peers" });
  expect(peers.peers.length === 1 && peers.peers[0].repoPeerId === rb.repoPeerId && peers.peers[0].peerId === rb.peerId,
    "A sees B as its one peer", peers);

  // A note created on the accepting side reaches the dialler.
  const created = await a.cmd({ cmd: "create", title: "Interop ☃", text: "héllo 👍🏽 wörld\n" });
  const found = await b.cmd({ cmd: "find", url: created.url });
  expect(found.event === "found" && found.title === "Interop ☃" && found.text === "héllo 👍🏽 wörld\n",
    "B finds the note A created, title and text intact", found);

  // Edits both ways (positions in code points: 👍🏽 counts two).
  await b.cmd({ cmd: "splice", url: created.url, pos: 9, del: 0, text: "from B " });
  let w = await a.cmd({ cmd: "wait", url: created.url, contains: "from B" });
  expect(w.event === "text" && w.text === "héllo 👍🏽 from B wörld\n", "B's edit reaches A", w);
  await a.cmd({ cmd: "splice", url: created.url, pos: 0, del: 5, text: "hello" });
  w = await b.cmd({ cmd: "wait", url: created.url, contains: "hello 👍🏽" });
  expect(w.event === "text" && w.text === "hello 👍🏽 from B wörld\n", "A's edit reaches B", w);

  // Concurrent edits converge.
  await Promise.all([
    a.cmd({ cmd: "splice", url: created.url, pos: 0, del: 0, text: "[A]" }),
    b.cmd({ cmd: "splice", url: created.url, pos: 0, del: 0, text: "[B]" }),
  ]);
  const wa = await a.cmd({ cmd: "wait", url: created.url, contains: "[B]" });
  const wb = await b.cmd({ cmd: "wait", url: created.url, contains: "[A]" });
  expect(wa.event === "text" && wb.event === "text" && wa.text === wb.text && wa.text.endsWith("hello 👍🏽 from B wörld\n"),
    "concurrent edits converge", [wa.text, wb.text]);

  // A note created on the dialling side reaches the accepting side.
  const c2 = await b.cmd({ cmd: "create", title: "from B", text: "second note" });
  const f2 = await a.cmd({ cmd: "find", url: c2.url });
  expect(f2.event === "found" && f2.title === "from B" && f2.text === "second note", "A finds the note B created", f2);

  // A document neither has: doc-unavailable comes back at once.
  const missing = await b.cmd({ cmd: "find", url: generateAutomergeUrl() });
  expect(missing.event === "unavailable" && missing.ms < 5000, "a random URL is unavailable, promptly", missing);

  const q = await a.cmd({ cmd: "quit" });
  expect(q.event === "bye" && (await a.exited) === 0, "A quits cleanly");
  await b.cmd({ cmd: "quit" });
  expect((await b.exited) === 0, "B quits cleanly");
} catch (err) {
  failed = true;
  console.error(`FAIL ${err.message}`);
  a.kill();
  b.kill();
}
process.exit(failed ? 1 : 0);
