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
	archive, m, err := n.storedHistory()
	if err != nil {
		return nil, Epoch{}, nil, err
	}
	if m != nil {
		// Cut in Go at the model's heads: no change is late, and the
		// history is neither loaded in the core nor decoded again.
		heads := m.Heads()
		root := amformat.RootAt(amformat.EpochActor(note[:], number, heads), m)
		e = Epoch{Number: number, Heads: changeHashes(heads), Root: ChangeHash(root.Hash)}
		if first, err = documentOf(root.Encode()); err != nil {
			return nil, Epoch{}, nil, fmt.Errorf("begin epoch %d: %w", number, err)
		}
		return archive, e, first, nil
	}
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
	// A sleeping note's history is read from its stored bytes, in Go.
	archive, m, err := n.storedHistory()
	if err == nil && m == nil {
		archive, _, err = n.saveWithHeads()
	}
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
	if !n.workerUpLocked() && n.model != nil && n.body == bodyText &&
		n.model.m.Title() == n.title && n.model.m.Text() == n.text.String() {
		// Asleep, and the new document reads as the note does (a cut
		// keeps the text): it stays asleep, and loads when next needed.
		n.lastHeads.set(changeHashes(n.model.m.Heads()))
		return nil
	}
	_, err := n.buildLocked(nil)
	n.checkNewModelLocked()
	if err != nil {
		return fmt.Errorf("reset note: %w", err)
	}
	return nil
}

// ReadStored reads the stored history of a note opened with LoadKnownFrom
// into memory without loading it in the core (a no-op once read). Call it
// before holding a lock the note's source takes, e.g. before a cut under
// the note's log lock.
func (n *Note) ReadStored() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.readBaseLocked()
}

// storedHistory returns, for a note with nothing open, its whole document
// as its rebuild recipe holds it (the saved document and the change
// records after it, concatenated, as automerge loads them and
// archiveChanges reads them: the recipe a worker is rebuilt from holds
// every change the worker has) and the model of exactly those bytes. A
// history is so cut without the core, which may not even hold it (a
// million keystrokes need over 2 GiB there, 16 MiB in the model). It
// returns a nil model, to go through the core instead, when edits are
// open, or the model does not take every record or does not read the text
// and heads the note has (the core is right).
func (n *Note) storedHistory() ([]byte, *amformat.Model, error) {
	n.reqMu.Lock()
	defer n.reqMu.Unlock()
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.usable(); err != nil {
		return nil, nil, err
	}
	if n.body != bodyText || n.pending > 0 || len(n.journal) > 0 || len(n.committed) > 0 || n.textDrift {
		return nil, nil, nil
	}
	if err := n.readBaseLocked(); err != nil {
		return nil, nil, err
	}
	if len(n.snapshot) == 0 && len(n.changes) == 0 {
		return nil, nil, nil
	}
	t := &textModel{m: amformat.NewModel()}
	if len(n.snapshot) > 0 {
		m, err := amformat.FromDocument(n.snapshot)
		if err != nil {
			return nil, nil, nil
		}
		t.m = m
	}
	size := len(n.snapshot)
	for _, r := range n.changes {
		if _, err := t.applyBytes(r); err != nil {
			return nil, nil, nil
		}
		size += len(r)
	}
	if len(t.waiting) > 0 || t.m.Len() != n.text.Len() || t.m.Title() != n.title || t.m.Text() != n.text.String() {
		return nil, nil, nil
	}
	if heads := n.lastHeads.get(); len(heads) > 0 && !SameHeads(heads, changeHashes(t.m.Heads())) {
		return nil, nil, nil
	}
	archive := make([]byte, 0, size)
	archive = append(archive, n.snapshot...)
	for _, r := range n.changes {
		archive = append(archive, r...)
	}
	return archive, t.m, nil
}

func changeHashes(hs []amformat.Hash) []ChangeHash {
	out := make([]ChangeHash, len(hs))
	for i, h := range hs {
		out[i] = ChangeHash(h)
	}
	return out
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

// archiveChanges reads every change of an archived epoch, dependencies
// first: an archive is a saved document, or (cut without the core, see
// storedHistory) a saved document followed by change records, as
// automerge loads them.
func archiveChanges(archive []byte) ([]*amformat.Change, error) {
	chunks, err := amformat.SplitChunks(archive)
	if err != nil {
		return nil, fmt.Errorf("read an archived epoch: %w", err)
	}
	if len(chunks) == 1 && chunks[0].Type == amformat.ChunkDocument {
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
	var all []*amformat.Change
	for _, ch := range chunks {
		if ch.Type == amformat.ChunkDocument {
			doc, err := amformat.DecodeDocument(ch.Raw)
			if err != nil {
				return nil, fmt.Errorf("read an archived epoch: %w", err)
			}
			history, err := doc.History()
			if err != nil {
				return nil, fmt.Errorf("read an archived epoch: %w", err)
			}
			all = append(all, history...)
			continue
		}
		c, err := amformat.DecodeChange(ch.Raw)
		if err != nil {
			return nil, fmt.Errorf("read an archived epoch: %w", err)
		}
		all = append(all, c)
	}
	return depsFirst(all)
}

// depsFirst orders changes so each comes after its deps, keeping the given
// order where it already does, and drops repeats. A dep none of them is
// makes an error: an archive holds its whole history.
func depsFirst(changes []*amformat.Change) ([]*amformat.Change, error) {
	byHash := make(map[amformat.Hash]*amformat.Change, len(changes))
	unique := changes[:0:0]
	for _, c := range changes {
		if _, dup := byHash[c.Hash]; !dup {
			byHash[c.Hash] = c
			unique = append(unique, c)
		}
	}
	placed := make(map[amformat.Hash]bool, len(unique))
	out := make([]*amformat.Change, 0, len(unique))
	// Depth-first from each change in order, with an explicit stack: a
	// history may be a million changes deep.
	type frame struct {
		c    *amformat.Change
		next int
	}
	for _, start := range unique {
		if placed[start.Hash] {
			continue
		}
		stack := []frame{{c: start}}
		onStack := map[amformat.Hash]bool{start.Hash: true}
		for len(stack) > 0 {
			top := &stack[len(stack)-1]
			if top.next < len(top.c.Deps) {
				d := top.c.Deps[top.next]
				top.next++
				if placed[d] {
					continue
				}
				dc, ok := byHash[d]
				if !ok {
					return nil, fmt.Errorf("read an archived epoch: change %s needs %s, which it lacks", ChangeHash(top.c.Hash), ChangeHash(d))
				}
				if onStack[d] {
					return nil, fmt.Errorf("read an archived epoch: changes depend on each other in a cycle at %s", ChangeHash(d))
				}
				onStack[d] = true
				stack = append(stack, frame{c: dc})
				continue
			}
			placed[top.c.Hash] = true
			delete(onStack, top.c.Hash)
			out = append(out, top.c)
			stack = stack[:len(stack)-1]
		}
	}
	return out, nil
}
