package notebook

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/store"
)

// DefaultCompactAt is the size of a note's change log past which it is
// folded into a new snapshot, unless Options.CompactAt says otherwise:
// loading replays each record (~60 µs apiece), so the log is kept to a few
// thousand records.
const DefaultCompactAt int64 = 256 << 10

// Compaction saves and verifies the whole document: on a long history that
// holds the note for most of a second. So a note whose log passed CompactAt
// compacts once it has been quiet for compactQuiet (no edit, nothing
// stored): in Run, in Tidy, on Close. Only a log that keeps growing to
// compactCap times CompactAt without a pause compacts at once.
const (
	compactQuiet = time.Second
	compactCap   = 4
)

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
	// epoch is the epoch of the note's history doc holds (changed under
	// mu; read without it by EpochNumber).
	epoch atomic.Uint64

	peersMu   sync.Mutex  // serialises read-modify-write of the peers file
	peers     []KnownPeer // the peers file as last read or written
	peersRead bool
	subMu     sync.Mutex
	subs      map[int]func(Update)
	nextSub   int

	kick chan struct{} // wakes Run

	// editMu serialises local edits with Snapshot's commit and save (not
	// with storing: typing never waits for the disk).
	editMu sync.Mutex

	mu sync.Mutex
	// actorSaved is the document's actor as last recorded in the actors
	// side file (collision.go).
	actorSaved string
	// Changes committed to the document that no Append has stored yet (the
	// disk was full, say). They are retried on every Flush.
	unsaved    [][]byte
	unsavedN   atomic.Int64 // len(unsaved), read without mu (held across fsyncs)
	committing atomic.Int32 // a commit is moving edits into unsaved
	viewAt     time.Time
	viewStale  bool
	viewsTaken uint64 // views taken by takeViewLocked, numbered in order

	// viewMu serialises writing views, which Run does without mu so that
	// applying and committing never wait for the view's fsync; viewPut is
	// the number of the newest view written (an older one is dropped).
	viewMu  sync.Mutex
	viewPut uint64
	// compactRefusedAt is the log size at which a compaction failed (0:
	// none did); the next waits until the log has doubled.
	compactRefusedAt atomic.Int64
	// compactDue: the log passed CompactAt and waits for a quiet moment;
	// compactNow: it passed the cap. lastStored is when records were last
	// appended (Unix ns). All are read without mu.
	compactDue atomic.Bool
	compactNow atomic.Bool
	lastStored atomic.Int64
	// compactMu lets one compaction run at a time (it is not held with mu).
	compactMu sync.Mutex
	// upkeepErr is the last housekeeping failure Run met, for Close.
	upkeepMu  sync.Mutex
	upkeepErr error
	// Updates made under mu, delivered to subscribers after it is released
	// so they may call back into the note.
	pendingUpdates []Update
}

// Origin says where changes to a note came from.
type Origin int

const (
	FromLocal Origin = iota // edits made in this process
	FromDisk                // another process on this notebook stored them
	FromPeer                // a peer sent them
)

// Update tells subscribers that a note changed. Changes are change bytes
// (Apply/loadIncremental input); nil after a reload means "anything may be
// new".
type Update struct {
	Note    crdt.DocumentID
	Origin  Origin
	Peer    string // for FromPeer
	Changes [][]byte
	Epoch   uint64 // the epoch the note (and Changes) are in
}

// Subscribe calls fn after every stored change until cancel is called. fn
// runs on the goroutine that made the change, with no lock of the note
// held; it must not block for long.
func (n *Note) Subscribe(fn func(Update)) (cancel func()) {
	n.subMu.Lock()
	defer n.subMu.Unlock()
	if n.subs == nil {
		n.subs = map[int]func(Update){}
	}
	// The same registry as engine.Engine.Subscribe: not shared, as no package
	// below both would own eight lines of it.
	id := n.nextSub
	n.nextSub++
	n.subs[id] = fn
	return func() {
		n.subMu.Lock()
		defer n.subMu.Unlock()
		delete(n.subs, id)
	}
}

func (n *Note) queue(u Update) {
	u.Note, u.Epoch = n.ID, n.epoch.Load()
	n.pendingUpdates = append(n.pendingUpdates, u)
}

func (n *Note) takeUpdatesLocked() []Update {
	u := n.pendingUpdates
	n.pendingUpdates = nil
	return u
}

func (n *Note) emit(updates []Update) {
	if len(updates) == 0 {
		return
	}
	n.subMu.Lock()
	fns := make([]func(Update), 0, len(n.subs))
	for _, fn := range n.subs {
		fns = append(fns, fn)
	}
	n.subMu.Unlock()
	for _, u := range updates {
		for _, fn := range fns {
			fn(u)
		}
	}
}

func newNote(id crdt.DocumentID, nb *Notebook, doc *crdt.Note, log *store.NoteLog) *Note {
	doc.AddOwnActors(ownActors(log)...)
	n := &Note{ID: id, nb: nb, doc: doc, log: log, kick: make(chan struct{}, 1)}
	if info, err := log.Epoch(); err == nil {
		n.epoch.Store(info.Epoch)
	}
	return n
}

// OpenNote loads a note. warnings report recovered damage (a torn log tail,
// a bad snapshot replaced by its predecessor, a record automerge refused).
func (nb *Notebook) OpenNote(id crdt.DocumentID) (*Note, []error, error) {
	return nb.openNote(id, false)
}

// OpenNoteUnloaded opens a note like OpenNote, except that when the note's
// view cache is exactly what its log holds and the log loaded without
// damage, the document is not loaded until something needs it
// (crdt.LoadKnown): the note answers with its text, title and heads at the
// cost of reading its files. The sync engine opens the notes peers share
// this way. Damage found later is handled as it is found (SetAside).
func (nb *Notebook) OpenNoteUnloaded(id crdt.DocumentID) (*Note, []error, error) {
	return nb.openNote(id, true)
}

func (nb *Notebook) openNote(id crdt.DocumentID, unloaded bool) (*Note, []error, error) {
	log, err := nb.store.OpenNote(id.String())
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil, fmt.Errorf("%s: %w", id, ErrNotFound)
		}
		return nil, nil, fmt.Errorf("open note %s: %w", id, err)
	}
	n, warnings, err := nb.openLog(id, log, unloaded)
	if err != nil {
		log.Close()
		return nil, warnings, err
	}
	return n, warnings, nil
}

// knownView is what the view cache says of the note just loaded from log,
// if it says it of exactly what was loaded.
func knownView(log *store.NoteLog) (crdt.Known, bool) {
	v, _, err := log.ReadView()
	if err != nil || v.Position != log.Position() || len(v.Heads) == 0 {
		return crdt.Known{}, false
	}
	heads := make([]crdt.ChangeHash, len(v.Heads))
	for i, s := range v.Heads {
		h, err := crdt.ParseChangeHash(s)
		if err != nil {
			return crdt.Known{}, false
		}
		heads[i] = h
	}
	return crdt.Known{Title: v.Title, Text: v.Text, Heads: heads}, true
}

func (nb *Notebook) openLog(id crdt.DocumentID, log *store.NoteLog, unloaded bool) (*Note, []error, error) {
	snapshot, records, warnings, err := log.Load()
	if err != nil {
		return nil, warnings, fmt.Errorf("load note %s: %w", id, err)
	}
	if unloaded && len(warnings) == 0 {
		if known, ok := knownView(log); ok {
			// The history is read again when the document is first
			// needed, through a handle of its own (this one's position
			// is the poller's): an idle note holds no copy of it.
			source := func() ([]byte, [][]byte, error) {
				again, err := nb.store.OpenNote(id.String())
				if err != nil {
					return nil, nil, err
				}
				defer again.Close()
				snapshot, records, _, err := again.Load()
				return snapshot, records, err
			}
			return newNote(id, nb, crdt.LoadKnownFrom(source, nb.author, known), log), nil, nil
		}
	}
	doc, more, err := crdt.Load(snapshot, records, nb.author)
	warnings = append(warnings, more...)
	if err != nil {
		return nil, warnings, fmt.Errorf("load note %s: %w", id, err)
	}
	n := newNote(id, nb, doc, log)
	// Records the core aborts on were left out of the document: keep them
	// out of the log too.
	var poisonous []*crdt.Rejected
	for _, w := range warnings {
		var r *crdt.Rejected
		if errors.As(w, &r) {
			poisonous = append(poisonous, r)
		}
	}
	if len(poisonous) > 0 {
		if err := n.step(func() error { return n.setAsideLocked(poisonous) }); err != nil {
			doc.Close()
			return nil, warnings, err
		}
	}
	if nb.readOnly {
		// Left out of this document, but left on disk for a writer to
		// set aside; a repair is not stored either.
		return n, warnings, nil
	}
	// A document that needed repair (e.g. a missing body) saves it now.
	if _, err := n.Flush(); err != nil {
		doc.Close()
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

// URL is the note's automerge URL.
func (n *Note) URL() string { return n.ID.URL() }

// Flush commits open edits and makes every change durable: when it returns
// without error, everything edited so far survives a crash. Subscribers hear
// of the new changes as soon as they are committed, before the fsync, so
// peers get them without waiting for the disk (were this process to die in
// between, a peer that got them gives them back). It returns the changes
// it committed.
func (n *Note) Flush() ([]crdt.Change, error) {
	var fresh []crdt.Change
	err := n.step(func() (err error) {
		fresh, err = n.commitLocked()
		return err
	})
	if err != nil {
		return fresh, err
	}
	return fresh, n.persist()
}

// step runs f under the note's lock and then delivers the updates it queued.
// Changes the document set aside meanwhile (the core aborted on them) are
// moved out of the log.
func (n *Note) step(f func() error) error {
	n.mu.Lock()
	err := f()
	if poisonous := n.doc.SetAside(); len(poisonous) > 0 {
		err = errors.Join(err, n.setAsideLocked(poisonous))
	}
	updates := n.takeUpdatesLocked()
	n.mu.Unlock()
	n.emit(updates)
	return err
}

// commitLocked closes the open change and queues every change the document
// committed (edits, merged copies) for storing and for subscribers.
func (n *Note) commitLocked() ([]crdt.Change, error) {
	n.committing.Add(1) // Saved must not see the gap before unsaved grows
	defer n.committing.Add(-1)
	fresh, err := n.doc.Commit()
	if err != nil || len(fresh) == 0 {
		return nil, err
	}
	n.rememberActorLocked()
	records := make([][]byte, len(fresh))
	for i, c := range fresh {
		records[i] = c.Bytes
	}
	n.unsaved = append(n.unsaved, records...)
	n.unsavedN.Store(int64(len(n.unsaved)))
	n.queue(Update{Origin: FromLocal, Changes: records})
	return fresh, nil
}

// persist stores what is unsaved and compacts a log past the cap.
func (n *Note) persist() error {
	if err := n.step(n.storeLocked); err != nil {
		return err
	}
	return n.compactIfOverCap()
}

// storeLocked appends every unsaved record durably and applies what other
// processes stored meanwhile.
func (n *Note) storeLocked() error {
	if len(n.unsaved) == 0 {
		return nil
	}
	others, err := n.log.Append(n.unsaved...)
	switch {
	case errors.Is(err, store.ErrStale):
		if err = n.reloadLocked(); err == nil {
			others, err = n.log.Append(n.unsaved...)
		}
	case errors.Is(err, store.ErrNewEpoch):
		// unsaved becomes their translations into the new epoch.
		if err = n.followEpochLocked(); err == nil {
			others, err = n.log.Append(n.unsaved...)
		}
	}
	if err != nil {
		// Kept in unsaved: the next Flush tries again.
		return fmt.Errorf("save note %s: %w", n.ID, err)
	}
	// A whole document just stored (what a cold join brings) is as compact
	// as a log gets: compacting because of it would only load it in the
	// core to save it again. Compaction waits for the log to grow past it.
	var wholeDocs int64
	for _, r := range n.unsaved {
		if crdt.IsDocument(r) {
			wholeDocs += int64(len(r))
		}
	}
	n.unsaved = nil
	n.unsavedN.Store(0)
	n.viewStale = true
	if err := n.applyLocked(others); err != nil {
		return err
	}
	n.lastStored.Store(time.Now().UnixNano())
	if size := n.log.LogSize() - wholeDocs; size > n.nb.compactAt && size > n.compactRefusedAt.Load()*2 {
		n.compactDue.Store(true)
		// The caller compacts once it has let go of mu (compactIfOverCap).
		n.compactNow.Store(size > compactCap*n.nb.compactAt)
	}
	return nil
}

// compactIfOverCap compacts a log that grew past the cap without a quiet
// moment. The caller holds no lock of the note.
func (n *Note) compactIfOverCap() error {
	if !n.compactNow.Load() {
		return nil
	}
	return n.Tidy()
}

// Tidy compacts the note's log if it has grown past CompactAt: call it
// when nothing is being edited (Run and Close do; the sync engine does
// before it unloads an idle note). Edits, applies and appends go on while
// it runs; the document is held only while it is saved. An error wraps
// ErrHousekeeping: every record stays in the log.
func (n *Note) Tidy() error {
	if !n.compactDue.Load() || n.nb.readOnly {
		return nil
	}
	if !n.compactMu.TryLock() {
		return nil // one is running
	}
	defer n.compactMu.Unlock()
	size := n.log.LogSize()
	if size <= n.nb.compactAt || size <= n.compactRefusedAt.Load()*2 {
		// Another process compacted meanwhile.
		n.compactDue.Store(false)
		n.compactNow.Store(false)
		return nil
	}
	err := n.compact()
	if err != nil {
		// Keep the log (every record is in it) and try again once it has
		// doubled, not at every quiet moment.
		n.compactRefusedAt.Store(size)
	}
	n.compactDue.Store(false)
	n.compactNow.Store(false)
	switch {
	case err == nil, errors.Is(err, store.ErrCompactRaced), errors.Is(err, store.ErrNewEpoch):
		// Another process's compaction or new epoch: nothing replaced,
		// nothing wrong (the next look follows it).
		return nil
	case errors.Is(err, ErrHousekeeping):
		return err
	default:
		return fmt.Errorf("note %s: %w: %w", n.ID, ErrHousekeeping, err)
	}
}

// quietFor is how long ago records were last stored.
func (n *Note) quietFor(now time.Time) time.Duration {
	return now.Sub(time.Unix(0, n.lastStored.Load()))
}

// compact folds the log into a verified snapshot without holding mu: the
// document is saved under the log's lock, checked with the lock released,
// and records stored meanwhile start the new generation.
func (n *Note) compact() error {
	var cp *crdt.Checkpoint
	var fromDisk [][]byte
	err := n.log.CompactChecked(func(unseen [][]byte) ([]byte, error) {
		// Not under mu (the lock order is mu, then the log's): the
		// document applies them itself; subscribers hear below.
		for _, r := range unseen {
			if err := n.doc.Apply(r); err != nil {
				return nil, fmt.Errorf("apply change from another process to note %s: %w", n.ID, err)
			}
		}
		fromDisk = unseen
		var err error
		cp, err = n.doc.Checkpoint()
		if err != nil {
			return nil, err
		}
		return cp.Data, nil
	}, func([]byte) error { return cp.Verify() })
	// Tell subscribers of what other processes stored, and restamp the
	// view: it names a log position, which compaction moved.
	serr := n.step(func() error {
		if len(fromDisk) > 0 {
			n.viewStale = true
			n.queue(Update{Origin: FromDisk, Changes: fromDisk})
		}
		if err != nil {
			return nil
		}
		return n.writeView()
	})
	if err != nil {
		return fmt.Errorf("compact note %s: %w", n.ID, err)
	}
	n.doc.Rebase(cp)
	return serr
}

func (n *Note) applyLocked(records [][]byte) error {
	if len(records) == 0 {
		return nil
	}
	for _, r := range records {
		if err := n.doc.Apply(r); err != nil {
			return fmt.Errorf("apply change from another process to note %s: %w", n.ID, err)
		}
	}
	n.viewStale = true
	n.queue(Update{Origin: FromDisk, Changes: records})
	return nil
}

// reloadLocked catches up with a log that other processes compacted more
// than once since this process last read it: the newest snapshot is merged
// in whole (changes are idempotent), then the records after it.
func (n *Note) reloadLocked() error {
	snapshot, records, _, err := n.log.Load()
	if err != nil {
		return fmt.Errorf("reload note %s: %w", n.ID, err)
	}
	if info, err := n.log.Epoch(); err != nil {
		return fmt.Errorf("reload note %s: %w", n.ID, err)
	} else if info.Epoch != n.epoch.Load() {
		// Epochs began meanwhile: the snapshot is another document.
		return n.followEpochLocked()
	}
	if len(snapshot) > 0 {
		if _, err := n.doc.Merge(snapshot); err != nil {
			return fmt.Errorf("reload note %s: %w", n.ID, err)
		}
		// Merge queued what was new for storing; it is on disk already.
		if _, err := n.doc.Commit(); err != nil {
			return err
		}
	}
	for _, r := range records {
		if err := n.doc.Apply(r); err != nil {
			return fmt.Errorf("reload note %s: %w", n.ID, err)
		}
	}
	n.viewStale = true
	n.queue(Update{Origin: FromDisk}) // no list: everything may be new
	return nil
}

// setAsideLocked keeps records the core aborts on as side files (for
// manual recovery) and compacts, so the log and the snapshot no longer
// hold them: the document left them out already.
func (n *Note) setAsideLocked(poisonous []*crdt.Rejected) error {
	if n.nb.readOnly {
		// Left out of this document; a writer sets them aside on disk.
		return nil
	}
	for _, r := range poisonous {
		name := r.Hash.String()
		if r.Hash == (crdt.ChangeHash{}) {
			sum := sha256.Sum256(r.Bytes)
			name = hex.EncodeToString(sum[:])
		}
		if err := n.log.WriteAux("rejected."+name, r.Bytes); err != nil {
			return fmt.Errorf("set aside a record of note %s: %w", n.ID, err)
		}
	}
	return n.compactLocked()
}

func (n *Note) compactLocked() error {
	err := n.log.Compact(func(unseen [][]byte) ([]byte, error) {
		if err := n.applyLocked(unseen); err != nil {
			return nil, err
		}
		// Verified (loaded back in a fresh worker) before it replaces
		// anything, and then the document's new base.
		return n.doc.Snapshot()
	})
	if err != nil {
		return fmt.Errorf("compact note %s: %w", n.ID, err)
	}
	// The view names a log position, which compaction moved: restamp it so
	// lists and fast opens keep trusting it.
	if err := n.writeView(); err != nil {
		return err
	}
	// Edits Save committed meanwhile stay queued in the document: the next
	// Flush stores them again (harmless, changes are idempotent) and hands
	// them to subscribers.
	return nil
}

// Refresh applies changes other processes stored since the last look and
// reports whether there were any.
func (n *Note) Refresh() (got bool, err error) {
	err = n.step(func() error {
		records, err := n.log.Poll()
		if errors.Is(err, store.ErrStale) {
			got = true
			return n.reloadLocked()
		}
		if errors.Is(err, store.ErrNewEpoch) {
			got = true
			return n.followEpochLocked()
		}
		if err != nil {
			return fmt.Errorf("read changes of note %s: %w", n.ID, err)
		}
		got = len(records) > 0
		return n.applyLocked(records)
	})
	return got, err
}

// ApplyRemote merges change bytes a peer pushed. Subscribers hear of them
// once applied; they are durable when ApplyRemote returns.
func (n *Note) ApplyRemote(peer string, changes []byte) error {
	return n.ApplyRemoteIn(AnyEpoch, peer, changes)
}

// AnyEpoch, as the epoch of ApplyRemoteIn or ReceiveSyncIn, takes the
// bytes for whatever epoch the note is in (a peer that knows no epochs).
const AnyEpoch = ^uint64(0)

// ErrOtherEpoch: bytes of one epoch of the note were offered while the
// note is in another (it began or followed a cut meanwhile); nothing was
// applied: two epochs are two documents.
var ErrOtherEpoch = errors.New("the note is in another epoch")

// checkEpochLocked refuses bytes of another epoch than the note's. The
// caller holds mu, under which the epoch changes, so bytes are applied
// only to the document they belong to.
func (n *Note) checkEpochLocked(epoch uint64) error {
	if epoch != AnyEpoch && epoch != n.epoch.Load() {
		return fmt.Errorf("note %s: bytes of epoch %d in epoch %d: %w", n.ID, epoch, n.epoch.Load(), ErrOtherEpoch)
	}
	return nil
}

// ApplyRemoteIn is ApplyRemote for changes of the given epoch of the note
// (ErrOtherEpoch if it is not the note's).
func (n *Note) ApplyRemoteIn(epoch uint64, peer string, changes []byte) error {
	err := n.step(func() error {
		if err := n.checkEpochLocked(epoch); err != nil {
			return err
		}
		if _, err := n.commitLocked(); err != nil {
			return err
		}
		if err := n.doc.Apply(changes); err != nil {
			return fmt.Errorf("apply changes from %s: %w", peer, err)
		}
		n.receivedLocked(peer, [][]byte{changes})
		return nil
	})
	if err != nil {
		return err
	}
	return n.persist()
}

func (n *Note) receivedLocked(peer string, records [][]byte) {
	if len(records) == 0 {
		return
	}
	n.unsaved = append(n.unsaved, records...)
	n.unsavedN.Store(int64(len(n.unsaved)))
	n.queue(Update{Origin: FromPeer, Peer: peer, Changes: records})
}

// GenerateSync returns the next automerge sync message for a peer (ok=false:
// nothing to send). Open edits are committed first so they travel too.
func (n *Note) GenerateSync(s *crdt.SyncState) (msg []byte, ok bool, err error) {
	msg, _, ok, err = n.GenerateSyncIn(s)
	return msg, ok, err
}

// GenerateSyncIn is GenerateSync that also says which epoch of the note
// the message is about.
func (n *Note) GenerateSyncIn(s *crdt.SyncState) (msg []byte, epoch uint64, ok bool, err error) {
	err = n.step(func() error {
		if _, err := n.commitLocked(); err != nil {
			return err
		}
		epoch = n.epoch.Load()
		msg, ok, err = n.doc.GenerateSyncMessage(s)
		return err
	})
	return msg, epoch, ok, err
}

// ReceiveSync applies an automerge sync message from peer; the changes it
// carried are durable when it returns.
func (n *Note) ReceiveSync(peer string, s *crdt.SyncState, msg []byte) error {
	return n.ReceiveSyncIn(AnyEpoch, peer, s, msg)
}

// ReceiveSyncIn is ReceiveSync for a message about the given epoch of the
// note (ErrOtherEpoch if it is not the note's).
func (n *Note) ReceiveSyncIn(epoch uint64, peer string, s *crdt.SyncState, msg []byte) error {
	err := n.step(func() error {
		if err := n.checkEpochLocked(epoch); err != nil {
			return err
		}
		if _, err := n.commitLocked(); err != nil {
			return err
		}
		changes, err := n.doc.ReceiveSyncMessage(s, msg)
		if err != nil {
			return err
		}
		records := make([][]byte, len(changes))
		for i, c := range changes {
			records[i] = c.Bytes
		}
		n.receivedLocked(peer, records)
		return nil
	})
	if err != nil {
		return err
	}
	return n.persist()
}

// Merge brings in another copy of the note (e.g. an exported file) and
// stores what was new. It refuses a copy of a different note.
func (n *Note) Merge(other []byte) (added int, err error) {
	err = n.step(func() error {
		added, err = n.doc.Merge(other)
		if err != nil {
			return err
		}
		_, err = n.commitLocked()
		return err
	})
	if err != nil {
		return added, err
	}
	return added, n.persist()
}

// writeView caches title and text on disk for fast opening and listing.
// viewNow is what the view cache should say now.
func (n *Note) viewNow() (store.View, error) {
	title := n.doc.Title()
	// With no edit open the text and its heads are known without a request
	// (a hibernated document stays so); otherwise Heads commits the open
	// edits first, and then they are known together unless a keystroke
	// came meanwhile (then the text read after may hold it).
	text, heads, ok := n.doc.CommittedText()
	if !ok {
		var err error
		if heads, err = n.doc.Heads(); err != nil {
			return store.View{}, err
		}
		if t, h, ok := n.doc.CommittedText(); ok {
			text, heads = t, h
		} else if text, err = n.doc.Text(); err != nil {
			return store.View{}, err
		}
	}
	hs := make([]string, len(heads))
	for i, h := range heads {
		hs[i] = h.String()
	}
	return store.View{Title: title, Text: text, Heads: hs}, nil
}

// writeView rewrites the view cache now; mu is held.
func (n *Note) writeView() error {
	v, err := n.takeViewLocked()
	if err != nil || v == nil {
		return err
	}
	if err := n.putView(v); err != nil {
		n.viewStale = true
		return err
	}
	return nil
}

// takenView is the note's view as of a log position, to be written.
type takenView struct {
	store.View
	seq uint64
}

// takeViewLocked takes the view of the note as it is now, stamped with
// the log's position now (nil in a read-only notebook, which leaves its
// cache as it is).
func (n *Note) takeViewLocked() (*takenView, error) {
	if n.nb.readOnly {
		return nil, nil
	}
	v, err := n.viewNow()
	if err != nil {
		return nil, err
	}
	v.Position = n.log.Position()
	n.viewsTaken++
	n.viewAt, n.viewStale = time.Now(), false
	return &takenView{View: v, seq: n.viewsTaken}, nil
}

// putView writes a view taken by takeViewLocked, unless a newer one was
// written meanwhile. mu need not be held.
func (n *Note) putView(v *takenView) error {
	n.viewMu.Lock()
	defer n.viewMu.Unlock()
	if v.seq <= n.viewPut {
		return nil
	}
	if err := n.log.WriteViewAt(v.View); err != nil {
		return fmt.Errorf("note %s: %w: could not update the view cache: %w", n.ID, ErrHousekeeping, err)
	}
	n.viewPut = v.seq
	return nil
}

// Saved reports whether every edit is committed and stored on disk (what
// an editor's "saved" means). It never waits for a write in progress.
func (n *Note) Saved() bool {
	// In this order: an edit committed after the first read is still
	// counted by one of the later ones.
	edits, _, _ := n.doc.Pending()
	return edits == 0 && n.committing.Load() == 0 && n.unsavedN.Load() == 0
}

// Close stores everything and releases the note's files. An error that
// wraps ErrHousekeeping means every edit was stored and only the view cache
// or a compaction failed; if anything else failed, the error does not wrap
// ErrHousekeeping (upkeep failures are then only mentioned in its text).
func (n *Note) Close() error {
	_, flushErr := n.Flush()
	if flushErr == nil {
		flushErr = n.Tidy()
	}
	var viewErr error
	closeErr := n.step(func() error {
		if n.viewStale {
			viewErr = n.writeView()
		}
		return errors.Join(n.log.Close(), n.doc.Close())
	})
	n.upkeepMu.Lock()
	runErr := n.upkeepErr
	n.upkeepMu.Unlock()
	var failed, upkeep []error
	for _, err := range []error{flushErr, viewErr, closeErr, runErr} {
		if errors.Is(err, ErrHousekeeping) {
			upkeep = append(upkeep, err)
		} else if err != nil {
			failed = append(failed, err)
		}
	}
	if len(failed) == 0 {
		return errors.Join(upkeep...)
	}
	for _, err := range upkeep {
		failed = append(failed, fmt.Errorf("also: %v", err))
	}
	return errors.Join(failed...)
}

// Kick wakes Run to look at the commit policy now: call it after an edit
// when the policy may already be due (e.g. every keystroke while live).
func (n *Note) Kick() {
	select {
	case n.kick <- struct{}{}:
	default:
	}
}

// upkeep keeps an error that wraps ErrHousekeeping (every edit is stored;
// a compaction or the view cache failed) for Close to report, so that Run
// goes on saving; it returns any other error.
func (n *Note) upkeep(err error) error {
	if err == nil || !errors.Is(err, ErrHousekeeping) {
		return err
	}
	n.upkeepMu.Lock()
	n.upkeepErr = err
	n.upkeepMu.Unlock()
	return nil
}

// Run keeps an open note durable and current until ctx ends: it commits and
// stores edits as policy() says (asked anew each time, so it can change
// when peers come and go), picks up changes other processes store, and
// rewrites the view cache now and then. The caller owns the goroutine Run
// runs on; Run returns when ctx is done, after a final Flush.
func (n *Note) Run(ctx context.Context, policy func() crdt.CommitPolicy) error {
	timer := time.NewTimer(PollInterval)
	defer timer.Stop()
	nextPoll := time.Now().Add(PollInterval)
	for {
		select {
		case <-ctx.Done():
			_, err := n.Flush()
			return err
		case <-n.kick:
		case <-timer.C:
		}
		p := policy()
		if edits, first, last := n.doc.Pending(); p.Due(time.Now(), edits, first, last) {
			if _, err := n.Flush(); n.upkeep(err) != nil {
				return err
			}
		}
		if now := time.Now(); !now.Before(nextPoll) {
			nextPoll = now.Add(PollInterval)
			if _, err := n.Refresh(); err != nil {
				return err
			}
			if err := n.refreshView(); n.upkeep(err) != nil {
				return err
			}
		}
		wait := time.Until(nextPoll)
		edits, first, last := n.doc.Pending()
		if w := p.Wait(time.Now(), edits, first, last); w >= 0 && w < wait {
			wait = max(w, time.Millisecond)
		}
		if n.compactDue.Load() && edits == 0 {
			if w := compactQuiet - n.quietFor(time.Now()); w > 0 {
				wait = min(wait, w)
			} else if err := n.Tidy(); n.upkeep(err) != nil {
				return err
			}
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(max(wait, time.Millisecond))
	}
}

// Hibernate frees the memory an idle note's document holds (its worker
// process) while keeping the note open: text, title and heads stay, and the
// next operation that needs the document loads it again. It does nothing
// and returns false while changes wait to be stored or edits are open.
func (n *Note) Hibernate() bool {
	n.mu.Lock()
	busy := len(n.unsaved) > 0
	n.mu.Unlock()
	// Not under mu: ending a worker waits for the request it may be
	// answering. The document refuses for itself if edits arrived meanwhile.
	return !busy && n.doc.Hibernate()
}

// Rest ends the worker of a note in use (one an editor holds) once it is
// idle, keeping the note ready to edit in Go (crdt.Note.Rest): its memory
// goes back to what its text costs. False while changes wait to be stored
// or edits are open, or when the note cannot go on in Go.
func (n *Note) Rest() bool {
	n.mu.Lock()
	busy := len(n.unsaved) > 0
	n.mu.Unlock()
	return !busy && n.doc.Rest()
}

// Loaded reports whether the note's document is in memory (not hibernated).
func (n *Note) Loaded() bool { return n.doc.Awake() }

// Editable reports whether the note takes edits without a load first: its
// document is loaded in the core, or its text model in Go holds the
// history (ReadyForEdit).
func (n *Note) Editable() bool { return n.doc.Awake() || n.doc.EditedInGo() }

// Load loads the note's document now if it is not in memory (opened
// unloaded, or hibernated), so the next operation does not wait for it.
// Damage found on the way is set aside as usual.
func (n *Note) Load() error {
	// Not under mu: loading a long history takes a while.
	err := n.doc.Wake()
	return errors.Join(err, n.step(func() error { return nil }))
}

// ReadyForEdit readies the note for the user's edits, so the first
// keystroke's commit does not wait: the text model is made in Go from the
// stored history, in what the text costs, and edits commit without loading
// the history in the Automerge core (crdt.Note.WakeForEdit); where the
// model cannot be made, the document loads in the core as Load does.
func (n *Note) ReadyForEdit() error {
	n.editMu.Lock()
	err := n.loadForEdit()
	n.editMu.Unlock()
	return errors.Join(err, n.step(func() error { return nil }))
}

// refreshView rewrites a view cache that is behind the note, at most
// every viewEvery. The view is taken under mu (its text, heads and log
// position agree) and written after: commits, applies and keystrokes never
// wait for its fsync. Only stored changes go into it, so a view never shows
// what a crash could lose.
func (n *Note) refreshView() error {
	var v *takenView
	err := n.step(func() (err error) {
		if n.viewStale && time.Since(n.viewAt) > viewEvery && len(n.unsaved) == 0 {
			v, err = n.takeViewLocked()
		}
		return err
	})
	if err != nil || v == nil {
		return err
	}
	if err := n.putView(v); err != nil {
		n.step(func() error { n.viewStale = true; return nil })
		return err
	}
	return nil
}

// ReadText returns the note's text and the revision it shows (see
// crdt.Rev): what an editor starts from.
func (n *Note) ReadText() (string, crdt.Rev, error) { return n.doc.ReadText() }

// TextSince returns the splices that turn the text at rev into the text
// now, and the revision they lead to (crdt.ErrStale: re-read the text).
func (n *Note) TextSince(rev crdt.Rev) ([]crdt.Splice, crdt.Rev, error) {
	return n.doc.TextSince(rev)
}

// Edit applies an editor's splices made on the text at revision base,
// rebased past whatever was merged since (see crdt.Note.Edit), and wakes
// Run so the commit policy sees them.
func (n *Note) Edit(base crdt.Rev, splices []crdt.Splice) (crdt.EditResult, error) {
	n.editMu.Lock()
	err := n.loadForEdit()
	var res crdt.EditResult
	if err == nil {
		res, err = n.doc.Edit(base, splices)
	}
	n.editMu.Unlock()
	if err == nil && len(splices) > 0 {
		n.Kick()
	}
	return res, err
}
