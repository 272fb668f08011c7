// Command collab is a peer-to-peer collaborative note editor for the
// terminal. This package owns the command line: flags, subcommands and
// their exit codes (2 for bad usage); the peer runtime of a process (the
// notebook's peer lock, the control socket other collab processes ask, and
// logging); each peer operation (id, invite, join, share, accept, peers,
// relay, cancel-join)
// written once and reached both through the control socket and from a
// short-lived peer; tickets; and the adapter that shows the sync engine to
// the terminal app as its Network.
//
// A join whose inviter cannot be reached is kept pending by the engine:
// `collab join` then says why and who retries it (the running collab, in
// the background; a short-lived peer never retries, leaving it to the
// collab that runs later), `collab peers` lists pending joins from the
// notebook, and `collab join --cancel URL` gives one up (through the
// running peer when there is one, so an attempt under way stops too).
//
// `collab id` prints the peer ID, then its addresses (scripts read the first
// two fields), then one line per collaborator: how it is reached, or why
// not (engine.Engine.Collaborators, asked through the running peer; with
// none running, one line says it is not known and nobody is dialled).
//
// Run with no subcommand it opens the terminal app on the notebook. The
// same executable is also the Automerge worker process of package crdt.
package main
