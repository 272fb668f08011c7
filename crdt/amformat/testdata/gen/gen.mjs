// Generates JS Automerge fixtures for crdt/amformat's tests: documents,
// changes and sync messages as @automerge/automerge 3.5 writes them (text
// splices, marks, updateText, a concurrent merge, titles as Text and as a
// string), with what JS says their text and title are.
//
// Usage: node gen.mjs PATH/TO/node_modules/@automerge/automerge > ../js.json
// Actors and times are fixed so the output is the same on every run.
import { pathToFileURL } from "node:url";
import path from "node:path";

const dir = process.argv[2];
if (!dir) {
  console.error("usage: node gen.mjs PATH/TO/@automerge/automerge");
  process.exit(2);
}
const A = await import(pathToFileURL(path.join(dir, "dist/mjs/entrypoints/fullfat_node.js")).href);

const hex = (b) => Buffer.from(b).toString("hex");
const opts = (actor) => ({ actor });
const at = { time: 1700000000 };
const out = { version: "3.5", docs: [], changes: [], sync: [] };

function text(d, key) {
  const v = d[key];
  return v === undefined ? "" : String(v);
}

function record(name, d) {
  out.docs.push({ name, doc: hex(A.save(d)), text: text(d, "text"), title: text(d, "title") });
  for (const c of A.getAllChanges(d)) out.changes.push({ name, change: hex(c) });
}

// 1. Splices, multi-byte characters, a mark, an unmark and updateText, with
// the title as a Text (what A.from writes for strings).
let d = A.change(A.init(opts("a1a1a1a1")), at, (x) => { x.text = ""; x.title = "JS note"; });
d = A.change(d, at, (x) => A.splice(x, ["text"], 0, 0, "héllo wörld 😀 字"));
d = A.change(d, at, (x) => A.mark(x, ["text"], { start: 1, end: 5, expand: "both" }, "bold", true));
d = A.change(d, at, (x) => A.mark(x, ["text"], { start: 3, end: 9, expand: "none" }, "link", "https://example.com"));
d = A.change(d, at, (x) => A.unmark(x, ["text"], { start: 2, end: 4, expand: "after" }, "bold"));
d = A.change(d, at, (x) => A.updateText(x, ["text"], "hey héllo wörld! 😀😀 字"));
d = A.change(d, at, (x) => A.splice(x, ["text"], 3, 4));
d = A.change(d, at, (x) => A.splice(x, ["title"], 0, 2, "A JS"));
record("splices-marks-text-title", d);

// 2. A note as collab writes it: the title a plain string.
let e = A.change(A.init(opts("b2b2")), at, (x) => {
  x.text = "";
  x.title = new A.ImmutableString("plain title");
});
e = A.change(e, at, (x) => A.splice(x, ["text"], 0, 0, "typed\nlines\n"));
e = A.change(e, at, (x) => { x.title = new A.ImmutableString("renamed"); });
record("string-title", e);

// 3. Concurrent edits merged, with a large paste (compressed columns).
let base = A.change(A.init(opts("c3c3c3")), at, (x) => { x.text = "base text"; x.title = "merge"; });
let left = A.clone(base, opts("d4d4d4"));
let right = A.clone(base, opts("e5e5e5"));
left = A.change(left, at, (x) => A.splice(x, ["text"], 4, 0, " left" + " lorem ipsum".repeat(60)));
right = A.change(right, at, (x) => A.splice(x, ["text"], 0, 4, "RIGHT"));
right = A.change(right, at, (x) => A.mark(x, ["text"], { start: 0, end: 5, expand: "before" }, "em", true));
left = A.change(left, at, (x) => A.splice(x, ["text"], 0, 0, "<"));
let merged = A.merge(A.clone(left, opts("f6f6")), right);
merged = A.change(merged, at, (x) => A.splice(x, ["text"], 2, 3, "+"));
record("concurrent-merge", merged);

// 4. Sync messages between two JS peers, one of them joining empty, each
// playing the 2023 core to the other: what it receives loses the trailing
// capability flags (length 2: 0x02 "understands version 2", then a
// bitfield byte), so both keep to version 1, as JS does with collab. Each
// message is recorded as sent (with its flags) and as delivered.
const asOldPeer = (m) => {
  const n = m.length;
  return n >= 3 && m[n - 3] === 2 && m[n - 2] === 2 && m[n - 1] >= 0x80 ? m.subarray(0, n - 3) : m;
};
let p = A.clone(merged, opts("a7a7"));
let q = A.init(opts("b8b8"));
let sp = A.initSyncState(), sq = A.initSyncState();
const send = (m) => {
  const old = asOldPeer(m);
  out.sync.push(hex(m));
  if (old.length !== m.length) out.sync.push(hex(old));
  return old;
};
const round = (n) => {
  for (let i = 0; i < n; i++) {
    let m;
    [sp, m] = A.generateSyncMessage(p, sp);
    if (m) [q, sq] = A.receiveSyncMessage(q, sq, send(m));
    [sq, m] = A.generateSyncMessage(q, sq);
    if (m) [p, sp] = A.receiveSyncMessage(p, sp, send(m));
  }
};
round(8);
q = A.change(q, at, (x) => A.splice(x, ["text"], 0, 0, "from q "));
round(6);
record("synced", p);

process.stdout.write(JSON.stringify(out, null, 1) + "\n");
