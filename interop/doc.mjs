// Opens and writes Automerge documents with the official JavaScript
// automerge, for collab's interop tests.
//   node doc.mjs read FILE            prints {"title","text","heads"} as JSON
//   node doc.mjs create FILE TITLE    writes a new note whose text comes from stdin
//   node doc.mjs edit IN OUT TEXT     loads IN, appends TEXT to the text, saves OUT
import * as A from "@automerge/automerge";
import { readFileSync, writeFileSync } from "node:fs";

const [cmd, ...args] = process.argv.slice(2);
const str = (v) => (v === undefined ? "" : v.toString());

switch (cmd) {
  case "read": {
    const doc = A.load(new Uint8Array(readFileSync(args[0])));
    const textIsText = typeof doc.text === "string"; // Text reads as a string in automerge 3
    console.log(JSON.stringify({ title: str(doc.title), text: str(doc.text), textIsText, heads: A.getHeads(doc) }));
    break;
  }
  case "create": {
    const body = readFileSync(0, "utf8");
    let doc = A.init();
    doc = A.change(doc, (d) => {
      d.text = "";
      d.title = args[1];
    });
    doc = A.change(doc, (d) => A.splice(d, ["text"], 0, 0, body));
    writeFileSync(args[0], A.save(doc));
    break;
  }
  case "edit": {
    let doc = A.load(new Uint8Array(readFileSync(args[0])));
    doc = A.change(doc, (d) => A.splice(d, ["text"], d.text.length, 0, args[2]));
    writeFileSync(args[1], A.save(doc));
    break;
  }
  default:
    console.error("usage: node doc.mjs read|create|edit ...");
    process.exit(2);
}
