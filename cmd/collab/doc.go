// Command collab is a peer-to-peer collaborative note editor for the
// terminal. This package owns the command line: flags, subcommands and
// their exit codes (2 for bad usage); the peer runtime of a process (the
// notebook's peer lock, the control socket other collab processes ask, and
// logging); each peer operation (id, invite, join, share, accept, peers,
// relay)
// written once and reached both through the control socket and from a
// short-lived peer; tickets; and the adapter that shows the sync engine to
// the terminal app as its Network.
//
// Run with no subcommand it opens the terminal app on the notebook. The
// same executable is also the Automerge worker process of package crdt.
package main
