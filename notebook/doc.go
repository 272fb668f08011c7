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
package notebook
