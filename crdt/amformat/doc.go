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
//     that applying a change yields the exact splices it made.
//
// Positions are Unicode code points, the 2023 core's unit. Errors wrap the
// sentinels ErrMalformed, ErrUnsupported, ErrTooLarge, ErrChecksum and, for
// Model.Apply, ErrMissingDeps, ErrDuplicateSeq and ErrConflict.
//
// Nothing here uses cgo or the Automerge core; the tests compare against
// the core (automerge-go) and against JavaScript Automerge.
package amformat
