package notebook

import (
	"errors"
	"strings"
	"time"

	"github.com/collab-editor/collab/crdt"
)

// What the app reads and changes of a note. Reads go straight to the
// document. Local edits take editMu, which Snapshot holds between
// committing and saving, so a copy sent to a peer never has an edit
// committed behind the commit policy's back; they commit when Flush (or
// Run) says, not here.

// Title is the note's title ("" when it has none).
func (n *Note) Title() string { return n.doc.Title() }

// Awake reports whether the note's document is loaded in the Automerge
// core (a worker runs for it); a note asleep answers from Go.
func (n *Note) Awake() bool { return n.doc.Awake() }

// HasBody reports whether the note's text has arrived: false for a note
// being joined until a peer's changes bring it.
func (n *Note) HasBody() bool { return n.doc.HasBody() }

// Text returns the body. It costs milliseconds on a large note: keep it
// off per-keystroke paths (editors use ReadText once, then Edit).
func (n *Note) Text() (string, error) { return n.doc.Text() }

// Len is the body's length in runes.
func (n *Note) Len() int { return n.doc.Len() }

// TextWindow returns the body's runes [start, end), clamped, and its length.
func (n *Note) TextWindow(start, end int) ([]rune, int) { return n.doc.TextWindow(start, end) }

// Pending reports the edits not committed yet: how many, and when the
// first and the last were made.
func (n *Note) Pending() (edits int, first, last time.Time) { return n.doc.Pending() }

// History lists every change, dependencies first: those of the epochs
// before the note's (archived) come first.
func (n *Note) History() ([]crdt.ChangeInfo, error) {
	before, e, err := n.epochHistory()
	if err != nil {
		return nil, err
	}
	hist, err := n.doc.History()
	if err != nil {
		return nil, err
	}
	for i := range hist {
		hist[i].Epoch = e.Number
		if e.Number > 0 && hist[i].Hash == e.Root {
			// Not an edit: the text at the cut, following the heads it
			// was cut at, so the history reads on across epochs.
			hist[i].BeginsEpoch, hist[i].Deps = true, e.Heads
		}
	}
	return append(before, hist...), nil
}

// Heads returns the note's current heads (committing open edits).
func (n *Note) Heads() ([]crdt.ChangeHash, error) { return n.doc.Heads() }

// At returns the title and text as of the given heads.
func (n *Note) At(heads ...crdt.ChangeHash) (title, text string, err error) {
	title, text, err = n.doc.At(heads...)
	if errors.Is(err, crdt.ErrUnknownHash) {
		// Perhaps a version from before the note's epoch.
		if e, eerr := n.Epoch(); eerr == nil && e.Number > 0 {
			return n.atArchived(e.Number, heads)
		}
	}
	return title, text, err
}

// Save returns the whole document in automerge's storage format (what
// `collab export` writes and JavaScript's Automerge.load opens).
func (n *Note) Save() ([]byte, error) { return n.doc.Save() }

// SetTitle renames the note.
func (n *Note) SetTitle(title string) error {
	n.editMu.Lock()
	defer n.editMu.Unlock()
	if err := n.loadForEdit(); err != nil {
		return err
	}
	return n.doc.SetTitle(title)
}

// Splice deletes del runes at pos and inserts ins there.
func (n *Note) Splice(pos, del int, ins string) error {
	n.editMu.Lock()
	defer n.editMu.Unlock()
	if err := n.loadForEdit(); err != nil {
		return err
	}
	return n.doc.Splice(pos, del, ins)
}

// Append adds text at the end of the body, on a line of its own.
func (n *Note) Append(text string) error {
	n.editMu.Lock()
	defer n.editMu.Unlock()
	if err := n.loadForEdit(); err != nil {
		return err
	}
	end := n.doc.Len()
	if end > 0 && text != "" {
		// On a line of its own: onto a body that does not end in a
		// newline, text would otherwise be glued to its last line.
		body, err := n.doc.Text()
		if err != nil {
			return err
		}
		if !strings.HasSuffix(body, "\n") {
			text = "\n" + text
		}
	}
	return n.doc.Splice(end, 0, text)
}

// ReplaceText makes the body read text, by the smallest splices that do,
// so concurrent edits elsewhere in the note survive.
func (n *Note) ReplaceText(text string) ([]crdt.Splice, error) {
	n.editMu.Lock()
	defer n.editMu.Unlock()
	if err := n.loadForEdit(); err != nil {
		return nil, err
	}
	return n.doc.ReplaceText(text)
}

// loadForEdit loads the document of a note opened unloaded (or
// hibernated) before a local edit is placed: the history read then may hold
// more than the text the edit's positions were worked out on.
func (n *Note) loadForEdit() error {
	if n.doc.Awake() {
		return nil
	}
	// In Go when it can be: the text model is made from the same history.
	return n.doc.WakeForEdit()
}
