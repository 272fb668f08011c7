package notebook

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/store"
)

// CompactAt is the size of a note's change log past which it is folded into
// a new snapshot: loading replays each record (~60 µs apiece), so the log is
// kept to a few thousand records. COLLAB_COMPACT_AT overrides it (tests use
// a tiny value to compact constantly).
var CompactAt int64 = 256 << 10

// PollInterval is how often a long-running process looks for changes other
// processes appended to a note's log (a stat when nothing changed).
const PollInterval = 200 * time.Millisecond

// viewEvery bounds how often a long-running process rewrites a note's view
// cache: reading the whole text costs milliseconds on a large note.
const viewEvery = 2 * time.Second

// Note is an open note: its document and its files. Methods are safe for
// concurrent use.
type Note struct {
	ID  crdt.DocumentID
	nb  *Notebook
	doc *crdt.Note
	log *store.NoteLog

	mu sync.Mutex
	// Changes committed to the document that no Append has stored yet (the
	// disk was full, say). They are retried on every Flush.
	unsaved   []crdt.Change
	viewAt    time.Time
	viewStale bool
}

// OpenNote loads a note. warnings report recovered damage (a torn log tail,
// a bad snapshot replaced by its predecessor, a record automerge refused).
func (nb *Notebook) OpenNote(id crdt.DocumentID) (*Note, []error, error) {
	log, err := nb.store.OpenNote(id.String())
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil, fmt.Errorf("%s: %w", id, ErrNotFound)
		}
		return nil, nil, fmt.Errorf("open note %s: %w", id, err)
	}
	n, warnings, err := nb.openLog(id, log)
	if err != nil {
		log.Close()
		return nil, warnings, err
	}
	return n, warnings, nil
}

func (nb *Notebook) openLog(id crdt.DocumentID, log *store.NoteLog) (*Note, []error, error) {
	snapshot, records, warnings, err := log.Load()
	if err != nil {
		return nil, warnings, fmt.Errorf("load note %s: %w", id, err)
	}
	doc, more, err := crdt.Load(snapshot, records, nb.author)
	warnings = append(warnings, more...)
	if err != nil {
		return nil, warnings, fmt.Errorf("load note %s: %w", id, err)
	}
	n := &Note{ID: id, nb: nb, doc: doc, log: log}
	// A document that needed repair (e.g. a missing body) saves it now.
	if _, err := n.Flush(); err != nil {
		return nil, warnings, err
	}
	return n, warnings, nil
}

// PeekView returns a note's title and text as last cached on disk, without
// loading its history: what a UI shows while the note loads. current says
// whether the cache covers every change on disk.
func (nb *Notebook) PeekView(id crdt.DocumentID) (v store.View, current bool, err error) {
	log, err := nb.store.OpenNote(id.String())
	if err != nil {
		return store.View{}, false, fmt.Errorf("open note %s: %w", id, err)
	}
	defer log.Close()
	return log.ReadView()
}

// Doc is the note's document. Edit it, then Flush (or let Run do it).
func (n *Note) Doc() *crdt.Note { return n.doc }

// URL is the note's automerge URL.
func (n *Note) URL() string { return n.ID.URL() }

// Flush commits open edits and makes every local change durable: when it
// returns without error, everything edited so far survives a crash. It
// returns the changes it stored, for sending to peers.
func (n *Note) Flush() ([]crdt.Change, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.flushLocked()
}

func (n *Note) flushLocked() ([]crdt.Change, error) {
	fresh, err := n.doc.Commit()
	if err != nil {
		return nil, err
	}
	n.unsaved = append(n.unsaved, fresh...)
	if len(n.unsaved) == 0 {
		return nil, nil
	}
	records := make([][]byte, len(n.unsaved))
	for i, c := range n.unsaved {
		records[i] = c.Bytes
	}
	others, err := n.log.Append(records...)
	if err != nil {
		return nil, fmt.Errorf("save note %s: %w", n.ID, err)
	}
	stored := n.unsaved
	n.unsaved = nil
	n.viewStale = true
	if err := n.applyLocked(others); err != nil {
		return stored, err
	}
	if n.log.LogSize() > CompactAt {
		if err := n.compactLocked(); err != nil {
			return stored, err
		}
	}
	return stored, nil
}

func (n *Note) applyLocked(records [][]byte) error {
	for _, r := range records {
		if err := n.doc.Apply(r); err != nil {
			return fmt.Errorf("apply change from another process to note %s: %w", n.ID, err)
		}
		n.viewStale = true
	}
	return nil
}

func (n *Note) compactLocked() error {
	err := n.log.Compact(func(unseen [][]byte) ([]byte, error) {
		if err := n.applyLocked(unseen); err != nil {
			return nil, err
		}
		return n.doc.Save()
	})
	if err != nil {
		return fmt.Errorf("compact note %s: %w", n.ID, err)
	}
	// The view names a log position, which compaction moved: restamp it so
	// lists and fast opens keep trusting it.
	if err := n.writeView(); err != nil {
		return err
	}
	// Edits Save committed meanwhile stay queued: the next Flush stores them
	// again (harmless, changes are idempotent) and hands them to peers.
	return nil
}

// Refresh applies changes other processes stored since the last look and
// reports whether there were any.
func (n *Note) Refresh() (bool, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	records, err := n.log.Poll()
	if err != nil {
		return false, fmt.Errorf("read changes of note %s: %w", n.ID, err)
	}
	return len(records) > 0, n.applyLocked(records)
}

// ApplyRemote merges change bytes from a peer and stores them.
func (n *Note) ApplyRemote(changes []byte) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, err := n.flushLocked(); err != nil {
		return err
	}
	if err := n.doc.Apply(changes); err != nil {
		return err
	}
	if _, err := n.log.Append(changes); err != nil {
		return fmt.Errorf("save note %s: %w", n.ID, err)
	}
	n.viewStale = true
	return nil
}

// Merge brings in another copy of the note (e.g. an exported file) and
// stores what was new. It refuses a copy of a different note.
func (n *Note) Merge(other []byte) (int, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	added, err := n.doc.Merge(other)
	if err != nil {
		return 0, err
	}
	_, err = n.flushLocked()
	return added, err
}

// writeView caches title and text on disk for fast opening and listing.
func (n *Note) writeView() error {
	title := n.doc.Title()
	text, err := n.doc.Text()
	if err != nil {
		return err
	}
	heads, err := n.doc.Heads()
	if err != nil {
		return err
	}
	hs := make([]string, len(heads))
	for i, h := range heads {
		hs[i] = h.String()
	}
	if err := n.log.WriteView(store.View{Title: title, Text: text, Heads: hs}); err != nil {
		return fmt.Errorf("cache view of note %s: %w", n.ID, err)
	}
	n.viewAt, n.viewStale = time.Now(), false
	return nil
}

// Close stores everything and releases the note's files.
func (n *Note) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	_, err := n.flushLocked()
	if err == nil && n.viewStale {
		err = n.writeView()
	}
	return errors.Join(err, n.log.Close())
}

// Run keeps an open note durable and current until ctx ends: it commits and
// stores edits as policy says, picks up changes other processes store, and
// calls changed (if not nil) after those. The caller owns the goroutine Run
// runs on; Run returns when ctx is done, after a final Flush.
func (n *Note) Run(ctx context.Context, policy crdt.CommitPolicy, changed func()) error {
	timer := time.NewTimer(PollInterval)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			_, err := n.Flush()
			return err
		case <-timer.C:
		}
		now := time.Now()
		edits, first, last := n.doc.Pending()
		if policy.Due(now, edits, first, last) {
			if _, err := n.Flush(); err != nil {
				return err
			}
		}
		got, err := n.Refresh()
		if err != nil {
			return err
		}
		if got && changed != nil {
			changed()
		}
		n.mu.Lock()
		if n.viewStale && time.Since(n.viewAt) > viewEvery {
			err = n.writeView()
		}
		n.mu.Unlock()
		if err != nil {
			return err
		}
		edits, first, last = n.doc.Pending()
		wait := PollInterval
		if w := policy.Wait(time.Now(), edits, first, last); w >= 0 && w < wait {
			wait = max(w, time.Millisecond)
		}
		timer.Reset(wait)
	}
}
