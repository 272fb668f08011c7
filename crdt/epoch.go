package crdt

import (
	"errors"
	"fmt"
	"time"

	"github.com/collab-editor/collab/crdt/amformat"
)

// Epochs (amformat/epoch.go has the model): a note's history is cut at
// heads H by beginning a new document whose one root change holds the
// title and text at H, built alike by every peer; late changes of the
// epoch before (not covered by H) are translated into it.

// Epoch is how an epoch of a note begins.
type Epoch struct {
	Number uint64       // 1 for the first cut
	Heads  []ChangeHash // where in the epoch before it begins
	Root   ChangeHash   // its first change
}

// ErrNotCovered: the heads an epoch is to begin at are not all in the
// document.
var ErrNotCovered = errors.New("heads not in the document")

// BeginEpoch cuts the note's history at its current heads: it returns the
// whole document as it is (the archive of the epoch that ends), how
// epoch number begins, and the new epoch's first document (a snapshot to
// store) holding the same title and text. The note itself is unchanged.
func (n *Note) BeginEpoch(note DocumentID, number uint64) (archive []byte, e Epoch, first []byte, err error) {
	archive, heads, err := n.saveWithHeads()
	if err != nil {
		return nil, Epoch{}, nil, err
	}
	root, late, err := startEpoch(note, number, archive, nil, heads)
	if err != nil {
		return nil, Epoch{}, nil, err
	}
	if len(late) > 0 {
		return nil, Epoch{}, nil, fmt.Errorf("begin epoch %d: %d changes after the document's own heads", number, len(late))
	}
	e = Epoch{Number: number, Heads: heads, Root: ChangeHash(root.Hash)}
	if first, err = documentOf(root.Encode()); err != nil {
		return nil, Epoch{}, nil, fmt.Errorf("begin epoch %d: %w", number, err)
	}
	return archive, e, first, nil
}

// ErrEpochMismatch: an epoch said to begin at heads the document holds
// does not begin with the root said; the claim is false (or made by
// different rules), and following it would merge two different notes.
var ErrEpochMismatch = errors.New("the epoch's root is not the one those heads give")

// FollowEpoch cuts the note's history where epoch e begins, as whoever
// began it did: at e.Heads, which the document must hold (ErrNotCovered
// otherwise), building the same root (ErrEpochMismatch otherwise). It
// returns the whole document as it is (the archive of the epoch that
// ends), the new epoch's first document, and the document's changes e.Heads
// do not cover translated into the new epoch (in dependency order: to
// apply after first), exactly as every peer that holds them translates
// them. The note itself is unchanged.
func (n *Note) FollowEpoch(note DocumentID, e Epoch) (archive, first []byte, late [][]byte, err error) {
	archive, _, err = n.saveWithHeads()
	if err != nil {
		return nil, nil, nil, err
	}
	root, late, err := checkedEpoch(note, e, archive, nil)
	if err != nil {
		return nil, nil, nil, err
	}
	if first, err = documentOf(root.Encode()); err != nil {
		return nil, nil, nil, fmt.Errorf("follow epoch %d: %w", e.Number, err)
	}
	return archive, first, late, nil
}

// documentOf saves changes (built here, not from outside) as a document.
func documentOf(changes ...[]byte) ([]byte, error) {
	scratch, _, err := Load(nil, changes, "")
	if err != nil {
		return nil, err
	}
	defer scratch.Close()
	return scratch.Save()
}

// ErrEditsOpen: the note has edits not committed, or commits not taken
// by Commit; Reset would lose them.
var ErrEditsOpen = errors.New("the note has edits open")

// Reset makes the note the document snapshot holds, e.g. the first
// document of a new epoch: its history, title and text are replaced, and
// sync states start afresh (they were about the document replaced). It
// fails with ErrEditsOpen while edits are open.
func (n *Note) Reset(snapshot []byte) error {
	if err := validateChanges(snapshot); err != nil {
		return invalid(opMerge, err)
	}
	n.reqMu.Lock()
	defer n.reqMu.Unlock()
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.usable(); err != nil {
		return err
	}
	if n.pending > 0 || len(n.journal) > 0 || len(n.committed) > 0 {
		return fmt.Errorf("reset note: %w", ErrEditsOpen)
	}
	n.snapshot, n.changes, n.baseSource = snapshot, nil, nil
	n.recipeGen++
	for id := range n.states {
		n.states[id] = nil
	}
	n.model, n.modelLater = buildModel(snapshot, nil), false
	_, err := n.buildLocked(nil)
	n.checkNewModelLocked()
	if err != nil {
		return fmt.Errorf("reset note: %w", err)
	}
	return nil
}

func (n *Note) saveWithHeads() ([]byte, []ChangeHash, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.flushLocked(); err != nil {
		return nil, nil, err
	}
	data, heads, err := n.saveLocked()
	if err != nil {
		return nil, nil, fmt.Errorf("save for a new epoch: %w", err)
	}
	return data, heads, nil
}

// TranslateLate turns changes of the epoch before e (e.g. edits another
// process committed there and had not stored when e began) into changes
// of epoch e, exactly as every peer would; archive is that epoch's whole
// document. Changes e covers are dropped. The result is in dependency
// order.
func TranslateLate(note DocumentID, e Epoch, archive []byte, changes [][]byte) ([][]byte, error) {
	_, late, err := checkedEpoch(note, e, archive, changes)
	return late, err
}

// checkedEpoch builds epoch e from the epoch before's document and extra
// changes of it, checks that its root is e.Root (ErrEpochMismatch), and
// returns the root and every change e.Heads do not cover, translated and
// encoded in dependency order.
func checkedEpoch(note DocumentID, e Epoch, archive []byte, extra [][]byte) (*amformat.Change, [][]byte, error) {
	root, translated, err := startEpoch(note, e.Number, archive, extra, e.Heads)
	if err != nil {
		return nil, nil, err
	}
	if got := ChangeHash(root.Hash); got != e.Root {
		return nil, nil, fmt.Errorf("epoch %d: root %s at those heads, not %s: %w", e.Number, got, e.Root, ErrEpochMismatch)
	}
	late := make([][]byte, len(translated))
	for i, c := range translated {
		late[i] = c.Encode()
	}
	return root, late, nil
}

// startEpoch builds epoch number of note at heads from the epoch before's
// document and extra changes of it, and translates every change heads do
// not cover.
func startEpoch(note DocumentID, number uint64, archive []byte, extra [][]byte, heads []ChangeHash) (*amformat.Change, []*amformat.Change, error) {
	history, err := archiveChanges(archive)
	if err != nil {
		return nil, nil, fmt.Errorf("epoch %d: %w", number, err)
	}
	have := make(map[amformat.Hash]bool, len(history))
	for _, c := range history {
		have[c.Hash] = true
	}
	for _, b := range extra {
		cs, err := amformat.DecodeChanges(b)
		if err != nil {
			return nil, nil, fmt.Errorf("epoch %d: %w", number, err)
		}
		for _, c := range cs {
			if !have[c.Hash] {
				have[c.Hash] = true
				history = append(history, c)
			}
		}
	}
	hs := make([]amformat.Hash, len(heads))
	for i, h := range heads {
		if !have[amformat.Hash(h)] {
			return nil, nil, fmt.Errorf("epoch %d at %s: %w", number, h, ErrNotCovered)
		}
		hs[i] = amformat.Hash(h)
	}
	e, late, err := amformat.StartEpoch(amformat.EpochActor(note[:], number, hs), history, hs)
	if err != nil {
		return nil, nil, fmt.Errorf("epoch %d: %w", number, err)
	}
	return e.Root, late, nil
}

// ArchiveHistory lists every change of a whole document kept on disk (an
// archived epoch), dependencies first, as History does, in Go: an archive
// is read without a worker.
func ArchiveHistory(archive []byte) ([]ChangeInfo, error) {
	history, err := archiveChanges(archive)
	if err != nil {
		return nil, err
	}
	out := make([]ChangeInfo, 0, len(history))
	for _, c := range history {
		info := ChangeInfo{
			Hash:    ChangeHash(c.Hash),
			Actor:   c.Actor.String(),
			Seq:     c.Seq,
			Time:    time.UnixMilli(c.Time),
			Message: c.Message,
			Known:   true,
		}
		for _, d := range c.Deps {
			info.Deps = append(info.Deps, ChangeHash(d))
		}
		info.Author, _, _, _ = parseMessage(info.Message)
		info.Added, info.Removed = countTextOps(c)
		out = append(out, info)
	}
	return out, nil
}

// ArchiveAt returns the title and text of an archived document as of the
// given heads, in Go.
func ArchiveAt(archive []byte, heads ...ChangeHash) (title, text string, err error) {
	history, err := archiveChanges(archive)
	if err != nil {
		return "", "", err
	}
	have := make(map[amformat.Hash]bool, len(history))
	for _, c := range history {
		have[c.Hash] = true
	}
	hs := make([]amformat.Hash, len(heads))
	for i, h := range heads {
		if !have[amformat.Hash(h)] {
			return "", "", fmt.Errorf("%s: %w", h, ErrUnknownHash)
		}
		hs[i] = amformat.Hash(h)
	}
	past, err := amformat.PastOf(history, hs)
	if err != nil {
		return "", "", fmt.Errorf("read an archived epoch: %w", err)
	}
	m := amformat.NewModel()
	for _, c := range history {
		if past[c.Hash] {
			if _, err := m.Apply(c); err != nil {
				return "", "", fmt.Errorf("read an archived epoch: %w", err)
			}
		}
	}
	return m.Title(), m.Text(), nil
}

func archiveChanges(archive []byte) ([]*amformat.Change, error) {
	doc, err := amformat.DecodeDocument(archive)
	if err != nil {
		return nil, fmt.Errorf("read an archived epoch: %w", err)
	}
	history, err := doc.History()
	if err != nil {
		return nil, fmt.Errorf("read an archived epoch: %w", err)
	}
	return history, nil
}
