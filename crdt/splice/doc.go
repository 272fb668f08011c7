// Package splice is the position algebra of concurrent text edits, in rune
// offsets: the Splice, applying and checking splices (CheckAll), the one
// form of inserted text both sides count in runes (ValidText), carrying
// positions through them
// (Map: the one rule every cursor, selection, viewport anchor and
// collaborator's cursor follows), and rebasing two edit sequences made on
// the same text onto each other (Transform), as operational-transformation
// libraries do.
//
// The note document (package crdt) and the editor (package tui/editor)
// both use it: the document when it applies a keystroke typed against a
// text that has changed since, the editor when it moves what it holds
// through a collaborator's edit. Keeping the rule in one place is what
// makes the two agree.
//
// It is pure Go with no dependency on the CRDT.
package splice
