// Package notebook is the user's notebook as the rest of collab sees it: it
// ties each note's document (package crdt) to its files (package store),
// resolves the NOTE arguments people type, and keeps open notes durable and
// current.
//
// Durability: a change is stored (appended and fsync'd) before Flush returns,
// so a command reports success only for edits that survive a crash. A
// long-running process calls Run, which flushes as the commit policy says and
// picks up what other processes (e.g. `collab append` in another shell)
// stored, so two processes on one notebook see each other's edits and lose
// none: changes are CRDT operations and merge in any order.
//
// Known peers: each note keeps the peers it is shared with in its peers
// side file (KnownPeer), bounded because peers can make it grow: at most
// MaxPeerAddrs addresses per peer (the most recently confirmed first) and
// MaxPeersPerNote peers (a new one replaces the least recently seen one the
// user did not choose; Chosen peers, named by a ticket, stay). The same
// bounds apply to what is read from disk, and a file past 4 MiB is not
// read at all (treated as damaged; the list is rebuilt from what is learnt
// next). Which addresses are worth keeping is the caller's call (the sync
// engine passes only confirmed ones).
//
// Pending joins: a join whose inviter could not be reached is kept
// (PendingJoin: the ticket's addresses, tries, the last error, the next
// try) in one notebook-wide file that store replaces atomically under a
// lock, for the running peer to retry and any process to list or cancel.
// At most MaxPendingJoins are kept (one more is refused with
// ErrTooManyPendingJoins), each with at most MaxPeerAddrs addresses and a
// bounded error; the same bounds apply to what is read.
//
// Collisions (collision.go): a note remembers the actors its own edits were
// made under (side file "actors", the last 256 sessions that edited), so a
// change forged under one of them while we were offline is recognised as a
// collision on our own actor even after a restart. Reissue recovers from
// it: the dropped originals are kept beside the log (aux.rejected.<hash>),
// the log is compacted without them, and the edits made again are stored
// and reach subscribers like any local change.
package notebook
