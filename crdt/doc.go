// Package crdt is the note document: one Automerge document per note holding
// its title and its body as Automerge Text, edited in rune offsets.
//
// A Note owns its automerge.Doc. automerge-go locks the document per call,
// but a splice followed by a commit is not atomic across calls and two docs
// merging each other can deadlock, so every operation here runs under the
// Note's own mutex and documents are combined only through change bytes.
//
// The document layout is the one JavaScript editors on Automerge use, so the
// ecosystem can open our notes: the root map holds "text" (Text, the body) and
// "title" (a plain string; the last rename wins).
package crdt
