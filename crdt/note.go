package crdt

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/automerge/automerge-go"

	"github.com/collab-editor/collab/crdt/amformat"
	"github.com/collab-editor/collab/crdt/splice"
	"github.com/collab-editor/collab/internal/display"
)

// Root keys of a note document.
const (
	KeyText  = "text"
	KeyTitle = "title"
)

// ChangeHash names one change in a note's history. (Only the type comes
// from automerge-go: this process never calls the core.)
type ChangeHash = automerge.ChangeHash

// Errors a caller may want to tell apart.
// Each package declares its own sentinels (matched with errors.Is), so the
// blocks look alike across packages.
var (
	ErrNotANote     = errors.New("not a collab note")
	ErrOutOfRange   = errors.New("position out of range")
	ErrDifferentDoc = errors.New("documents do not share any history")
	ErrUnknownHash  = errors.New("no such change in this note")
	ErrNoBody       = errors.New("the note's text has not arrived yet")
	// ErrRejected: the input made the Automerge core abort (or exceed its
	// memory or time), so it was dropped and the note rebuilt without it.
	// The sync layer refuses the peer that sent it.
	ErrRejected = errors.New("input rejected")
	ErrClosed   = errors.New("note is closed")
)

// IsBadInput reports whether err rejected bytes no correct automerge peer
// sends: malformed, with wrong checksums, or aborting the core. Data that
// is only too large, of a newer format, or outside the note schema (a JS
// app's own fields) is rejected too, but says nothing bad of the sender.
func IsBadInput(err error) bool {
	return errors.Is(err, ErrRejected) &&
		!errors.Is(err, amformat.ErrUnsupported) && !errors.Is(err, amformat.ErrTooLarge)
}

// Change is one committed change: its hash and the bytes that carry it to
// another copy of the note (Apply / automerge's loadIncremental).
type Change struct {
	Hash  ChangeHash
	Bytes []byte
}

// Rejected is a record or change set aside because the core aborts on it
// (found at load, or by bisection after a later operation aborted), or
// because another copy holds a different change under its actor and
// sequence number and the note gave way (Collided, see Reissue).
type Rejected struct {
	Hash     ChangeHash // zero when the bytes are not exactly one change
	Bytes    []byte
	Death    *DeathError // nil when Collided
	Collided bool
}

func (r *Rejected) Error() string {
	what := "a record"
	if r.Hash != (ChangeHash{}) {
		what = "change " + r.Hash.String()
	}
	if r.Collided {
		return fmt.Sprintf("%s was set aside: %v (its edits were made again)", what, ErrCollision)
	}
	return fmt.Sprintf("%s was set aside: %v", what, r.Death)
}

func (r *Rejected) Unwrap() []error {
	if r.Collided {
		return []error{ErrCollision}
	}
	return []error{ErrRejected, r.Death}
}

// Note is one note document. All methods are safe for concurrent use.
//
// The document itself lives in a worker process (see worker.go and
// doc.go); the Note keeps what rebuilds it exactly after the worker dies:
// the base it was loaded from, every change applied or committed since, and
// the journal of local edits not yet committed. It also caches what the UI
// asks for on every frame (title, length), so those never wait on the
// worker.
type Note struct {
	// reqMu serialises requests to the worker; mu guards everything else
	// and is never held while a request is on its way. Lock order: reqMu,
	// then mu.
	reqMu sync.Mutex
	mu    sync.Mutex
	// building is a worker loading the recipe, with mu let go; the
	// recipe and sync states it was sent must stay as they are until it
	// is in (see probeEditsLocked), and Close ends it.
	building *worker
	author   string
	actor    string // hex; the same across worker restarts, so seq numbers continue
	// ownActors are actors this note's edits used before (earlier
	// sessions, or before a Reissue): collisions on them are ours to fix.
	ownActors map[string]bool
	// yielded are changes under our actors taken in by Reissue: not ours
	// to give way with again.
	yielded map[ChangeHash]bool
	limits  Limits
	proc    *procRef
	closed  bool

	// The rebuild recipe.
	snapshot []byte
	changes  [][]byte // loaded with the snapshot, then applied or committed since
	// baseSource, until the document first loads, reads the snapshot and
	// records from where they are kept (LoadKnownFrom), so a note nobody
	// uses holds no copy of its history.
	baseSource BaseSource
	// recipeGen counts the times the recipe was rearranged (a poisonous
	// change set aside, a new base): a Checkpoint taken before that is not
	// made the base (Rebase), since its count of changes no longer applies.
	recipeGen uint64
	journal   []edit // local edits not yet committed
	sent      int    // journal edits the worker has

	// Read back from the worker, updated by local edits.
	body  bodyKind
	title string
	// text is the body as Go keeps it, with its recent revisions: read
	// back whole after every merge from elsewhere, spliced by local edits.
	text textState
	// textDrift: the worker's text length differs from ours (it refused an
	// edit we had checked); the next request re-reads the text.
	textDrift bool
	// lastHeads are the heads as of the last commit or merge, read without
	// the lock (LastHeads).
	lastHeads headsNow
	// model works out what merged changes did to the text (nil: none, or
	// it could not follow; the worker's text is read back instead).
	model *textModel
	// modelLater: the model is made when the document next loads (the
	// note was opened from a view, or hibernated, and holds no model).
	modelLater bool

	// Edits made since the last commit; each change carries their stats.
	pending        int
	pendingAdded   int
	pendingRemoved int
	firstPending   time.Time
	lastPending    time.Time
	// Changes committed but not yet handed to the caller by Commit, e.g.
	// because merging remote bytes had to close the local transaction first.
	committed []Change

	// Live sync states by id, with their last known bytes (nil: fresh).
	states    map[uint64][]byte
	nextState uint64
	freeMu    sync.Mutex
	freed     []uint64

	setAside []*Rejected
}

// procRef holds a note's current worker. It is what a garbage-collected
// Note's cleanup stops, so it must not point back at the Note.
type procRef struct {
	mu      sync.Mutex
	w       *worker
	release func() // a scratch note's slot
	done    bool
}

func (p *procRef) swap(w *worker) {
	p.mu.Lock()
	old := p.w
	p.w = w
	p.mu.Unlock()
	if old != nil && old != w {
		old.kill()
	}
}

func (p *procRef) shutdown() { p.end((*worker).stop) }

// hibernate ends the worker and leaves p usable: the next request starts
// another. The worker holds nothing the note lacks, so it is killed rather
// than asked to exit (which can take a while, e.g. under the race detector).
func (p *procRef) hibernate() { p.swap(nil) }

// abandon is the cleanup of a Note nobody closed: it ends the worker
// without waiting (cleanups run one after another on one goroutine; the
// worker's reaper collects the process).
func (p *procRef) abandon() { p.end(func(w *worker) { w.cmd.Process.Kill() }) }

// end takes the worker out of p, ends it with stop, and runs release the
// first time only.
func (p *procRef) end(stop func(*worker)) {
	p.mu.Lock()
	w, release, done := p.w, p.release, p.done
	p.w, p.done = nil, true
	p.mu.Unlock()
	if w != nil {
		stop(w)
	}
	if release != nil && !done {
		release()
	}
}

func newNote(author string, limits Limits) *Note {
	var actor [16]byte
	if _, err := rand.Read(actor[:]); err != nil {
		panic(fmt.Sprintf("crdt: reading random bytes: %v", err))
	}
	n := &Note{
		author:    author,
		actor:     hex.EncodeToString(actor[:]),
		ownActors: map[string]bool{},
		yielded:   map[ChangeHash]bool{},
		limits:    limits,
		proc:      &procRef{},
		states:    map[uint64][]byte{},
	}
	// A note nobody closed (a scratch document, a test's) still ends its
	// worker once it is garbage.
	runtime.AddCleanup(n, (*procRef).abandon, n.proc)
	return n
}

// New creates a note with the given title and an empty body. author names
// this device's edits in the history (e.g. the user's display name).
func New(title, author string) (*Note, error) {
	n := newNote(author, NoteLimits)
	n.model = buildModel(nil, nil)
	n.journal = []edit{{Kind: editEnsureBody}, {Kind: editTitle, Insert: title}}
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.rebuildLocked(); err != nil {
		n.closeLocked()
		return nil, err
	}
	n.pending = 1
	if err := n.flushLocked(); err != nil {
		n.closeLocked()
		return nil, err
	}
	return n, nil
}

// Load opens a note from a saved document (snapshot may be nil) followed by
// change records in the order they were written. A record automerge rejects
// is skipped and reported in warnings; so is a record the core aborts on
// (a *Rejected, found by bisection), and the rest still load. A snapshot
// the core aborts on is an error wrapping ErrRejected.
func Load(snapshot []byte, records [][]byte, author string) (n *Note, warnings []error, err error) {
	n = newNote(author, NoteLimits)
	n.snapshot = snapshot
	n.changes = records
	n.model = buildModel(snapshot, records)
	if len(snapshot) == 0 && len(records) == 0 {
		return n, nil, nil // empty: the worker starts on first use
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	resp, err := n.buildLocked(nil)
	n.checkNewModelLocked()
	for _, r := range n.setAside {
		warnings = append(warnings, r)
	}
	n.setAside = nil
	if err != nil {
		n.closeLocked()
		return nil, warnings, err
	}
	for _, r := range resp.Rejected {
		warnings = append(warnings, fmt.Errorf("record %d rejected by automerge: %s", r.Index, r.Message))
	}
	if n.body == bodyForeign {
		n.closeLocked()
		return nil, warnings, fmt.Errorf("%q is not Text: %w", KeyText, ErrNotANote)
	}
	return n, warnings, nil
}

// Known is what a caller already knows of a document it opens with
// LoadKnown: its title, text and heads, e.g. from a view cache verified
// against the log the snapshot and records come from.
type Known struct {
	Title, Text string
	Heads       []ChangeHash
}

// LoadKnown opens a note like Load but starts no worker: the note answers
// from known (title, text, heads) and loads the document with the first
// request that needs it, as a hibernated note does. Damage Load would
// report (a record set aside) is found then and reported by SetAside. known
// must describe snapshot and records exactly; if it does not, the loaded
// document's text replaces it then.
func LoadKnown(snapshot []byte, records [][]byte, author string, known Known) *Note {
	return LoadKnownFrom(func() ([]byte, [][]byte, error) { return snapshot, records, nil }, author, known)
}

// BaseSource reads a note's saved document and change records (as Load
// takes them) from where they are kept.
type BaseSource func() (snapshot []byte, records [][]byte, err error)

// LoadKnownFrom is LoadKnown for a note whose history stays where it is
// kept until the first request that needs the document reads it through
// source. What source reads may hold more than known describes (records
// stored since): the loaded document's text replaces known's then.
func LoadKnownFrom(source BaseSource, author string, known Known) *Note {
	n := newNote(author, NoteLimits)
	n.baseSource = source
	n.modelLater = true
	n.body, n.title = bodyText, known.Title
	n.text.reset(known.Text)
	n.lastHeads.set(known.Heads)
	return n
}

// scratchSlots bounds the scratch documents alive at once: each is a
// process that may be fed a stranger's bytes.
var scratchSlots = make(chan struct{}, 4)

// NewScratch returns an empty document for looking at untrusted bytes (an
// invitation, an offer): its worker runs under ScratchLimits, and at most a
// few exist at once, so NewScratch waits for a slot until ctx ends. Close
// it when done.
func NewScratch(ctx context.Context) (*Note, error) {
	select {
	case scratchSlots <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("scratch document: %w", ctx.Err())
	}
	n := newNote("", ScratchLimits)
	var once sync.Once
	n.proc.release = func() { once.Do(func() { <-scratchSlots }) }
	return n, nil
}

// Close ends the note's worker. The note keeps answering from its caches
// (title, length) but every other call fails with ErrClosed.
func (n *Note) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.closeLocked()
	return nil
}

func (n *Note) closeLocked() {
	n.closed = true
	n.proc.shutdown()
	if n.building != nil {
		n.building.kill() // a load need not finish for a closed note
	}
}

// Hibernate ends the note's worker, and with it the memory the core holds
// for the document's history, while nothing is open: no edit uncommitted,
// no commit not yet taken by Commit. The note keeps its text, title and
// heads; the next request that needs the document starts a worker from the
// rebuild recipe, as after a worker's death (sync states carry on from
// their last saved bytes). A note edited in Go (no worker) lets go of its
// text model instead. It reports whether anything was let go of (false:
// edits are open, the note is closed, or it holds neither).
func (n *Note) Hibernate() bool {
	n.reqMu.Lock()
	defer n.reqMu.Unlock()
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed || n.pending > 0 || len(n.journal) > 0 || len(n.committed) > 0 {
		return false
	}
	if !n.workerUpLocked() {
		if n.model == nil || n.building != nil || n.modelLater ||
			(n.baseSource == nil && len(n.snapshot) == 0 && len(n.changes) == 0) {
			// Nothing to let go of, or no history to make the model
			// from again (a note made to join one holds only its model).
			return false
		}
		// Edited in Go (or resting) and idle since: the model is made
		// again from the history when next needed.
		n.model, n.modelLater = nil, true
		n.text.pack()
		n.text.log, n.text.kept = nil, 0
		return true
	}
	if !n.saveStatesLocked() {
		return false
	}
	n.proc.hibernate()
	// The model holds the history too; it is made again on waking.
	if n.model != nil {
		n.model, n.modelLater = nil, true
	}
	// Nothing used the note for a while: no editor is behind it.
	n.text.pack()
	n.text.log, n.text.kept = nil, 0
	return true
}

// saveStatesLocked keeps the worker's sync states as saved bytes, for the
// next worker (false: the worker could not save one).
func (n *Note) saveStatesLocked() bool {
	for id := range n.states {
		resp, err := n.callHeld(&request{Op: opSaveSyncState, State: id}, false)
		if err != nil || resp.err() != nil {
			return false
		}
		n.states[id] = resp.Data
	}
	return true
}

// Wake loads the document of a hibernated note (or one opened with
// LoadKnown) now, rather than with the next request that needs it.
func (n *Note) Wake() error {
	n.reqMu.Lock()
	defer n.reqMu.Unlock()
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.usable(); err != nil {
		return err
	}
	if n.workerUpLocked() {
		return nil
	}
	return n.rebuildLocked()
}

// Awake reports whether the note has a worker running.
func (n *Note) Awake() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.workerUpLocked()
}

// workerUpLocked reports whether a worker runs: not before the first
// request, after Hibernate, or after the worker died between requests.
func (n *Note) workerUpLocked() bool {
	w := n.proc.w
	return w != nil && !w.gone()
}

// Author is the name this note's local edits are recorded under.
func (n *Note) Author() string { return n.author }

// Text returns the body (a copy of the text Go keeps in step with the
// document: no request to the worker).
func (n *Note) Text() (string, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.text.String(), nil
}

// TextWindow returns a copy of the body's runes [start, end), clamped to
// it, and the body's length, read together: a caller looking near one place
// copies only that stretch, never the whole text.
func (n *Note) TextWindow(start, end int) (window []rune, total int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	total = n.text.Len()
	start, end = max(0, min(start, total)), max(0, min(end, total))
	if end < start {
		end = start
	}
	return n.text.window(start, end), total
}

// Len is the body's length in runes.
func (n *Note) Len() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.text.Len()
}

// HistorySize reports how many changes the note's history holds and how
// many characters its text has, from the Go model of a loaded note
// without asking the core (ok is false when there is none: hibernated).
func (n *Note) HistorySize() (changes, chars int, ok bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.model == nil || n.model.m == nil {
		return 0, 0, false
	}
	for _, seq := range n.model.m.Clock() {
		changes += int(seq)
	}
	return changes, n.model.m.Len(), true
}

// Title returns the note's title ("" when it has none).
func (n *Note) Title() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.title
}

// HasBody reports whether the note's text has arrived: false for a note
// being joined until a peer's changes bring its body (see Load).
func (n *Note) HasBody() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.body == bodyText
}

// EnsureBody gives a document that has no body (e.g. one made by another
// automerge app) an empty Text. Never call it on a note still being
// fetched from a peer: two separately created bodies would hide each other.
func (n *Note) EnsureBody() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	switch n.body {
	case bodyText:
		return nil
	case bodyForeign:
		return fmt.Errorf("%q is not Text: %w", KeyText, ErrNotANote)
	}
	n.journal = append(n.journal, edit{Kind: editEnsureBody})
	n.body = bodyText
	n.notePending(0, 0)
	return nil
}

// SetTitle renames the note (uncommitted until Commit).
func (n *Note) SetTitle(title string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.usable(); err != nil {
		return err
	}
	n.journal = append(n.journal, edit{Kind: editTitle, Insert: title})
	n.title = title
	n.notePending(0, 0)
	return nil
}

// Splice deletes del runes at pos and inserts ins there, in rune offsets.
// The edit is part of the open change until Commit. It is checked here and
// journalled; the worker gets it with the next request, so a keystroke
// costs no round trip.
func (n *Note) Splice(pos, del int, ins string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.spliceLocked(pos, del, ins)
}

func (n *Note) spliceLocked(pos, del int, ins string) error {
	if err := n.usable(); err != nil {
		return err
	}
	switch n.body {
	case bodyNone:
		return ErrNoBody
	case bodyForeign:
		return fmt.Errorf("%q is not Text: %w", KeyText, ErrNotANote)
	}
	length := n.text.Len()
	if pos < 0 || pos > length || del < 0 || pos+del > length {
		return fmt.Errorf("splice at %d deleting %d of %d runes: %w", pos, del, length, ErrOutOfRange)
	}
	if del == 0 && ins == "" {
		return nil
	}
	// As the rune count below sees it, so the cached length stays exact.
	ins = splice.ValidText(ins)
	added := utf8.RuneCountInString(ins)
	if n.pendingAdded+added <= MaxChangeRunes {
		n.journal = append(n.journal, edit{Kind: editSplice, Pos: pos, Delete: del, Insert: ins})
		n.text.record([]Splice{{Pos: pos, Delete: del, Insert: ins}})
		n.notePending(added, del)
		return nil
	}
	// A large insert (a paste, an append of a file) goes in as several
	// changes of at most MaxChangeRunes: peers refuse a change of more
	// than a million ops, and one huge transaction can exhaust the
	// worker.
	for first := true; ins != "" || first; first = false {
		if n.pendingAdded >= MaxChangeRunes {
			// The commit lets go of mu: text merged meanwhile moves
			// where the rest goes (after what was put in so far).
			rev := n.text.rev
			if err := n.flushLocked(); err != nil {
				return err
			}
			if n.text.rev != rev {
				merged, err := n.text.since(rev)
				if err != nil {
					return err
				}
				end := splice.MapAll(pos+del, merged, splice.Before)
				pos = splice.MapAll(pos, merged, splice.Before)
				del = max(0, end-pos)
			}
		}
		piece := display.FirstRunes(ins, MaxChangeRunes-n.pendingAdded)
		ins = ins[len(piece):]
		n.journal = append(n.journal, edit{Kind: editSplice, Pos: pos, Delete: del, Insert: piece})
		n.text.record([]Splice{{Pos: pos, Delete: del, Insert: piece}})
		k := utf8.RuneCountInString(piece)
		n.notePending(k, del)
		pos, del = pos+k, 0
	}
	return nil
}

// MaxChangeRunes bounds the characters one local change inserts: larger
// inserts are committed in several changes.
const MaxChangeRunes = 1 << 16

func (n *Note) notePending(added, removed int) {
	now := time.Now()
	if n.pending == 0 {
		n.firstPending = now
	}
	n.pending++
	n.pendingAdded += added
	n.pendingRemoved += removed
	n.lastPending = now
}

// Pending reports the uncommitted edits: how many, when the first and the
// last were made. The commit policy decides from these when to Commit.
func (n *Note) Pending() (edits int, first, last time.Time) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.pending, n.firstPending, n.lastPending
}

// Commit closes the open change (if any) and returns every change committed
// locally since the last call, oldest first, ready to be stored and sent.
func (n *Note) Commit() ([]Change, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.flushLocked(); err != nil {
		return nil, err
	}
	out := n.committed
	n.committed = nil
	return out, nil
}

// flushLocked commits the open edits.
func (n *Note) flushLocked() error {
	if n.pending == 0 {
		return nil
	}
	if n.commitInGoLocked() {
		return nil
	}
	_, err := n.callLocked(&request{Op: opFlush}, false)
	return err
}

// Apply merges change bytes from elsewhere (another process's log record or
// a peer). Local uncommitted edits are committed first; Commit returns them.
// Bytes that make the core abort are an error wrapping ErrRejected, and the
// note is as it was.
func (n *Note) Apply(changes []byte) error {
	if len(changes) == 0 {
		return nil
	}
	cs, err := checkedChanges(changes)
	if err == nil {
		err = n.checkSeqs(cs)
	}
	if err != nil {
		return invalid(opApply, err)
	}
	if adopted, err := n.adoptDocument(changes); adopted || err != nil {
		return err
	}
	n.mu.Lock()
	applied := n.applyInGoLocked(changes, cs)
	n.mu.Unlock()
	if applied {
		return nil
	}
	return n.applyUnchecked(changes)
}

// adoptDocument takes a whole document into a note that holds nothing (a
// cold join) without loading it in the core: the model reads it in Go, in
// what its text costs (~15 ms for 105 KB, where the core takes ~350 ms),
// and the note is left as LoadKnown leaves one, asleep, answering from the
// model's title, text and heads, and loading the document with the first
// request that needs the core. The core stays the authority: the model is
// made again then and checked against it, and a document the core refuses
// is set aside as any record is. adopted=false: the note holds something,
// or the model cannot read the bytes as a note; the core takes them.
func (n *Note) adoptDocument(b []byte) (adopted bool, err error) {
	if !IsDocument(b) {
		return false, nil
	}
	n.reqMu.Lock()
	defer n.reqMu.Unlock()
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.usable(); err != nil {
		return false, err
	}
	if !n.holdsNothingLocked() {
		return false, nil
	}
	t := buildModel(nil, nil)
	splices, err := t.applyBytes(b)
	if err != nil || len(t.waiting) > 0 || !t.m.HasText() || len(t.m.Heads()) == 0 {
		return false, nil
	}
	// Its heads are checked against its changes, as the core's load
	// would: the note may be edited in Go without ever loading it, and
	// edits made here name those heads as their deps.
	if err := t.m.CheckHistory(); err != nil {
		return false, nil
	}
	if n.workerUpLocked() && !n.saveStatesLocked() {
		return false, nil
	}
	n.proc.hibernate()
	n.changes = append(n.changes, b)
	n.model, n.modelLater = nil, true
	n.body, n.title = bodyText, t.m.Title()
	n.text.record(splices)
	n.lastHeads.set(changeHashes(t.m.Heads()))
	return true, nil
}

// holdsNothingLocked: no history, no edits, no text, as a note made to
// join one is until the note arrives.
func (n *Note) holdsNothingLocked() bool {
	return n.baseSource == nil && !n.modelLater && n.model != nil && len(n.model.m.Heads()) == 0 &&
		len(n.snapshot) == 0 && len(n.changes) == 0 && n.pending == 0 && len(n.journal) == 0 &&
		len(n.committed) == 0 && n.text.Len() == 0 && n.body != bodyForeign
}

// applyUnchecked is Apply without the Go validation: the worker alone
// stands between the bytes and the note (what the containment tests feed).
func (n *Note) applyUnchecked(changes []byte) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	resp, err := n.callLocked(&request{Op: opApply, Data: changes}, true)
	if err != nil {
		return err
	}
	err = n.collisionLocked(resp.err(), changes, false)
	var ce *CollisionError
	if errors.As(err, &ce) && ce.Theirs != nil {
		// The core stopped at the collision, perhaps after taking some of
		// the bytes; the recipe keeps all but the change it refused.
		n.changes = append(n.changes, withoutChunk(changes, ce.Theirs)...)
		return err
	}
	n.changes = append(n.changes, changes)
	return err
}

// Heads returns the hashes of the note's current heads.
// Like History and the other requests: lock, one request to the worker,
// its answer; one method per request is the API.
func (n *Note) Heads() ([]ChangeHash, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	resp, err := n.callLocked(&request{Op: opHeads}, false)
	if err != nil {
		return nil, err
	}
	return resp.Heads, resp.err()
}

// Save returns the whole document in automerge's storage format, which the
// JavaScript automerge opens with Automerge.load.
func (n *Note) Save() ([]byte, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	data, _, err := n.saveLocked()
	return data, err
}

func (n *Note) saveLocked() ([]byte, []ChangeHash, error) {
	resp, err := n.callLocked(&request{Op: opSave}, false)
	if err != nil {
		return nil, nil, err
	}
	return resp.Data, resp.Heads, resp.err()
}

// ChangeInfo describes one change in a note's history.
type ChangeInfo struct {
	Hash    ChangeHash
	Actor   string // automerge actor (one per device session), hex
	Seq     uint64
	Time    time.Time
	Message string
	Deps    []ChangeHash
	// Author is the name in collab's commit message (empty for changes
	// other automerge apps wrote): like Time, what the change's writer
	// recorded, which nothing verifies. Added and Removed are counted from
	// the change's own ops (Known: they could be).
	Author         string
	Added, Removed int
	Known          bool
	// Epoch is the epoch of the note's history the change belongs to;
	// BeginsEpoch marks the root change an epoch begins with (it holds
	// the text at the cut, not anyone's edit; its Deps are then the heads
	// it was cut at). The caller that knows the note's epochs sets them
	// (notebook).
	Epoch       uint64
	BeginsEpoch bool
}

// History lists every change, in an order where dependencies come first.
func (n *Note) History() ([]ChangeInfo, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	resp, err := n.callLocked(&request{Op: opHistory}, false)
	if err != nil {
		return nil, err
	}
	if err := resp.err(); err != nil {
		return nil, err
	}
	out := make([]ChangeInfo, 0, len(resp.History))
	for _, c := range resp.History {
		info := ChangeInfo{
			Hash:    c.Hash,
			Actor:   c.Actor,
			Seq:     c.Seq,
			Time:    time.Unix(0, c.Time),
			Message: c.Message,
			Deps:    c.Deps,
		}
		info.Author, _, _, _ = parseMessage(info.Message)
		info.Added, info.Removed, info.Known = c.Inserted, c.Deleted, c.Counted
		out = append(out, info)
	}
	return out, nil
}

// At returns the title and text as of the given heads (one change hash for a
// point in a linear history).
func (n *Note) At(heads ...ChangeHash) (title, text string, err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	resp, err := n.callLocked(&request{Op: opAt, Hashes: heads}, false)
	if err != nil {
		return "", "", err
	}
	return string(resp.Data), resp.Text, resp.err()
}

// Merge brings in every change of another copy of this note (e.g. a file
// carried over on a USB stick). It refuses a document with no history in
// common: two separately created notes each have their own Text under
// "text", and merging them would make one silently hide the other.
// It returns how many changes were new here. A copy that makes the core
// abort is an error wrapping ErrRejected.
func (n *Note) Merge(other []byte) (added int, err error) {
	if err := validateChanges(other); err != nil {
		return 0, invalid(opMerge, err)
	}
	return n.mergeUnchecked(other)
}

// mergeUnchecked is Merge without the Go validation (see applyUnchecked).
func (n *Note) mergeUnchecked(other []byte) (added int, err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	resp, err := n.callLocked(&request{Op: opMerge, Data: other}, true)
	if err != nil {
		return 0, err
	}
	for _, c := range resp.Changes {
		n.changes = append(n.changes, c.Bytes)
		n.committed = append(n.committed, c)
	}
	return len(resp.Changes), resp.err()
}

// Snapshot returns the whole document like Save, verified: a fresh worker
// loads it and must find the same heads and text, so a snapshot the core
// cannot load back never replaces anything. It then becomes the note's new
// base, and the changes kept since the old one are let go. Call it for
// compaction (or Checkpoint, Verify and Rebase, to do other things while
// the copy is verified).
func (n *Note) Snapshot() ([]byte, error) {
	cp, err := n.Checkpoint()
	if err != nil {
		return nil, err
	}
	if err := cp.Verify(); err != nil {
		return nil, err
	}
	n.Rebase(cp)
	return cp.Data, nil
}

// Checkpoint is the whole document saved for compaction, not yet verified.
type Checkpoint struct {
	Data   []byte
	heads  []ChangeHash
	digest []byte
	limits Limits
	// The recipe when it was saved: its first saved changes are in Data.
	saved     int
	recipeGen uint64
}

// Checkpoint saves the whole document. Requests wait for the save only, not
// for Verify (a fresh worker loading the whole document: seconds on a long
// keystroke history); what is applied or committed meanwhile stays after
// the new base when Rebase makes it one.
func (n *Note) Checkpoint() (*Checkpoint, error) {
	n.reqMu.Lock()
	defer n.reqMu.Unlock()
	n.mu.Lock()
	defer n.mu.Unlock()
	data, heads, digest, err := n.saveHeld()
	if err != nil {
		return nil, err
	}
	return &Checkpoint{Data: data, heads: heads, digest: digest, limits: n.limits,
		saved: len(n.changes), recipeGen: n.recipeGen}, nil
}

// Verify loads the checkpoint in a fresh worker, which must find the same
// heads and text; else the error wraps ErrBadSnapshot.
func (cp *Checkpoint) Verify() error {
	return verifySnapshot(cp.Data, cp.heads, cp.digest, cp.limits)
}

// Rebase makes a verified checkpoint the note's base: the changes it holds
// are let go, those applied or committed since are kept after it. It does
// nothing if the recipe was rearranged since the checkpoint was taken.
func (n *Note) Rebase(cp *Checkpoint) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.building != nil || n.recipeGen != cp.recipeGen || len(n.changes) < cp.saved {
		return
	}
	n.snapshot, n.changes = cp.Data, slices.Clone(n.changes[cp.saved:])
	n.recipeGen++
}

// saveHeld saves the document and reads its text digest; the caller holds
// reqMu and mu. Both come from one request: mu is let go while the worker
// answers, and an edit made meanwhile would ride on a second request, so a
// digest read apart could describe a newer document than the one saved.
func (n *Note) saveHeld() (data []byte, heads []ChangeHash, digest []byte, err error) {
	resp, err := n.callHeld(&request{Op: opSave, Digest: true}, false)
	if err == nil {
		err = resp.err()
	}
	if err != nil {
		return nil, nil, nil, err
	}
	data, heads, digest = resp.Data, resp.Heads, resp.Digest
	if n.model != nil && sha256.Sum256([]byte(n.model.m.Text())) != [32]byte(digest) {
		// The model went wrong somewhere: the core is right.
		n.model, n.textDrift = nil, true
	}
	return data, heads, digest, nil
}

// ErrBadSnapshot: a saved document does not load back as the same note.
var ErrBadSnapshot = errors.New("saved document does not load back as it was")

func verifySnapshot(data []byte, heads []ChangeHash, digest []byte, limits Limits) error {
	w, err := startWorker(limits)
	if err != nil {
		return err
	}
	defer w.stop()
	resp, err := w.call(&request{Op: opInit, Snapshot: data}, limits.Load)
	if err == nil {
		err = resp.err()
	}
	if err == nil {
		resp, err = w.call(&request{Op: opTextDigest}, limits.Call)
	}
	if err == nil {
		err = resp.err()
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadSnapshot, err)
	}
	if !SameHeads(resp.Heads, heads) {
		return fmt.Errorf("%w: heads differ (saved with %v, loads as %v)", ErrBadSnapshot, heads, resp.Heads)
	}
	if string(resp.Data) != string(digest) {
		return fmt.Errorf("%w: text differs", ErrBadSnapshot)
	}
	return nil
}

// SameHeads reports whether a and b name the same changes, in any order.
func SameHeads(a, b []ChangeHash) bool {
	if len(a) != len(b) {
		return false
	}
	seen := make(map[ChangeHash]bool, len(a))
	for _, h := range a {
		seen[h] = true
	}
	for _, h := range b {
		if !seen[h] {
			return false
		}
	}
	return true
}

// SetAside returns (once) the changes found poisonous since the last call:
// the core aborted on an operation after they were accepted, and bisection
// found them. The note no longer contains them; the caller keeps them out
// of its log and snapshots.
func (n *Note) SetAside() []*Rejected {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := n.setAside
	n.setAside = nil
	return out
}

// Commit messages carry who made a change and how much it added and removed,
// so history needs no per-change diff (forking per change costs seconds).
var messagePattern = regexp.MustCompile(`^(.*): \+(\d+) -(\d+)$`)

func formatMessage(author string, added, removed int) string {
	if author == "" {
		author = "?"
	}
	return fmt.Sprintf("%s: +%d -%d", author, added, removed)
}

func parseMessage(msg string) (author string, added, removed int, ok bool) {
	m := messagePattern.FindStringSubmatch(msg)
	if m == nil {
		return "", 0, 0, false
	}
	added, err1 := strconv.Atoi(m[2])
	removed, err2 := strconv.Atoi(m[3])
	if err1 != nil || err2 != nil {
		return "", 0, 0, false
	}
	return m[1], added, removed, true
}
