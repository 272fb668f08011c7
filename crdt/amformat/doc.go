// Package amformat reads Automerge's binary formats in pure Go and keeps an
// exact model of a collab note's text, so that nothing from outside reaches
// the Automerge core (which aborts the process on bad input) unchecked, and
// so that the rest of collab can know a change's effect without the core.
//
// It owns:
//   - chunks: splitting concatenated chunks, checksums, change hashes,
//     bounded inflation of compressed changes and document columns;
//   - the columnar encodings (LEB128, RLE, delta, boolean, string, value
//     columns), decoded strictly: minimal LEB128, row counts that agree,
//     actors sorted, column specifications ascending, deflate only in
//     documents, and every count checked against the bytes present before
//     anything is allocated (Limits bounds the rest);
//   - DecodeChange (and Change.Encode, byte-identical for the core's
//     changes), DecodeDocument (and the reconstruction of its changes and
//     hashes), DecodeSyncMessage and its encoder (version 1, as the 2023
//     core speaks it);
//   - the collab note schema (a root map of scalars, the body "text" as a
//     Text object, the title a string or a Text) and Model, the note's
//     text as Automerge holds it: elements with op IDs in RGA order, so
//     that applying a change yields the exact splices it made, and a
//     local edit the change the core would make. It costs about what the
//     text does: a byte per ASCII element, op IDs as runs of one actor's
//     consecutive counters (a compacted note's text is one run).
//
// Stricter than the core, where the core's own output and JS Automerge 3.5's
// always pass (tested with both): every LEB128 minimal, no empty runs,
// columns whose row counts agree exactly, sorted and unique deps, actors,
// heads and predecessors, op counters and actor indexes in range (the core
// panics past them), values the core would rewrite on save (make, delete
// and mark-end ops carry null, increments an int) refused, at most one
// "have" in a sync message, no bytes after a message but JS's capability
// flags. Changes with op columns this version does not know are valid
// Automerge but refused by the note schema: the core drops such columns
// when it saves, which would change their hashes in a saved document.
//
// Positions are Unicode code points, the 2023 core's unit. Errors wrap the
// sentinels ErrMalformed, ErrUnsupported, ErrTooLarge, ErrChecksum and, for
// Model.Apply, ErrMissingDeps, ErrDuplicateSeq and ErrConflict.
//
// Nothing here uses cgo or the Automerge core; the tests compare against
// the core (automerge-go) and against JavaScript Automerge.
package amformat
