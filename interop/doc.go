// Package interop holds collab's interoperability tests with the real
// automerge ecosystem: a Node.js automerge-repo peer over js-libp2p
// (repo-peer.mjs, driven by the tests through JSON lines on stdin/stdout)
// against collab's Go side. It has no non-test code; see README.md.
package interop
