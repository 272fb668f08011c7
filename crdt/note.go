package crdt

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/automerge/automerge-go"
)

// Root keys of a note document.
const (
	KeyText  = "text"
	KeyTitle = "title"
)

// ChangeHash names one change in a note's history.
type ChangeHash = automerge.ChangeHash

// Errors a caller may want to tell apart.
var (
	ErrNotANote     = errors.New("not a collab note")
	ErrOutOfRange   = errors.New("position out of range")
	ErrDifferentDoc = errors.New("documents do not share any history")
	ErrUnknownHash  = errors.New("no such change in this note")
	ErrNoBody       = errors.New("the note's text has not arrived yet")
)

// Change is one committed change: its hash and the bytes that carry it to
// another copy of the note (Apply / automerge's loadIncremental).
type Change struct {
	Hash  ChangeHash
	Bytes []byte
}

// Note is one note document. All methods are safe for concurrent use; the
// Note is the only owner of its automerge.Doc.
type Note struct {
	mu     sync.Mutex
	doc    *automerge.Doc
	author string

	// Edits made since the last commit; automerge keeps them in an open
	// transaction that we close ourselves so each change carries its stats.
	pending        int
	pendingAdded   int
	pendingRemoved int
	firstPending   time.Time
	lastPending    time.Time
	// text is the body as Go keeps it, with its recent revisions.
	text      textState
	lastHeads headsNow
	// Changes committed but not yet handed to the caller by Commit, e.g.
	// because merging remote bytes had to close the local transaction first.
	committed []Change
}

// New creates a note with the given title and an empty body. author names
// this device's edits in the history (e.g. the user's display name).
func New(title, author string) (*Note, error) {
	doc := automerge.New()
	root := doc.RootMap()
	if err := root.Set(KeyText, automerge.NewText("")); err != nil {
		return nil, fmt.Errorf("create text: %w", err)
	}
	if err := root.Set(KeyTitle, title); err != nil {
		return nil, fmt.Errorf("set title: %w", err)
	}
	n := &Note{doc: doc, author: author}
	if _, err := n.commitLocked(formatMessage(author, 0, 0)); err != nil {
		return nil, err
	}
	return n, nil
}

// Load opens a note from a saved document (snapshot may be nil) followed by
// change records in the order they were written. A record automerge rejects
// is skipped and reported in warnings; the rest still load.
func Load(snapshot []byte, records [][]byte, author string) (n *Note, warnings []error, err error) {
	doc := automerge.New()
	if len(snapshot) > 0 {
		if doc, err = automerge.Load(snapshot); err != nil {
			return nil, nil, fmt.Errorf("load snapshot: %w", err)
		}
	}
	// One record at a time: automerge's loadIncremental stops quietly at the
	// first bad chunk of a concatenation, and one bad record must not cost
	// the ones after it.
	for i, r := range records {
		if err := doc.LoadIncremental(r); err != nil {
			warnings = append(warnings, fmt.Errorf("record %d rejected by automerge: %w", i, err))
		}
	}
	n = &Note{doc: doc, author: author}
	if err := n.resyncTextLocked(); err != nil {
		return nil, warnings, err
	}
	return n, warnings, nil
}

// textLocked finds the body, nil while it has not arrived (a note being
// joined starts empty). It is looked up on every use because a concurrent
// peer may have put another object under the key. A body stored as a plain
// string cannot be edited collaboratively, so it is refused rather than
// silently replaced.
func (n *Note) textLocked() (*automerge.Text, error) {
	v, err := n.doc.RootMap().Get(KeyText)
	if err != nil {
		return nil, fmt.Errorf("read %q: %w", KeyText, err)
	}
	switch v.Kind() {
	case automerge.KindText:
		return v.Text(), nil
	case automerge.KindVoid:
		return nil, nil
	default:
		return nil, fmt.Errorf("%q is a %v, not Text: %w", KeyText, v.Kind(), ErrNotANote)
	}
}

// EnsureBody gives a document that has no body (e.g. one made by another
// automerge app) an empty Text. Never call it on a note still being
// fetched from a peer: two separately created bodies would hide each other.
func (n *Note) EnsureBody() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	t, err := n.textLocked()
	if err != nil || t != nil {
		return err
	}
	if err := n.doc.RootMap().Set(KeyText, automerge.NewText("")); err != nil {
		return fmt.Errorf("create text: %w", err)
	}
	n.notePending(0, 0)
	return nil
}

// Author is the name this note's local edits are recorded under.
func (n *Note) Author() string { return n.author }

// Text returns the body (a copy of the text Go keeps in step with the
// document: no call into automerge).
func (n *Note) Text() (string, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return string(n.text.runes), nil
}

func (n *Note) textStringLocked() (string, error) {
	t, err := n.textLocked()
	if err != nil || t == nil {
		return "", err
	}
	s, err := t.Get()
	if err != nil {
		return "", fmt.Errorf("read text: %w", err)
	}
	return s, nil
}

// Len is the body's length in runes.
func (n *Note) Len() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.text.runes)
}

// Title returns the note's title ("" when it has none).
func (n *Note) Title() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.titleLocked()
}

func (n *Note) titleLocked() string {
	v, err := n.doc.RootMap().Get(KeyTitle)
	if err != nil {
		return ""
	}
	switch v.Kind() {
	case automerge.KindStr:
		return v.Str()
	case automerge.KindText:
		s, _ := v.Text().Get()
		return s
	}
	return ""
}

// SetTitle renames the note (uncommitted until Commit).
func (n *Note) SetTitle(title string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.doc.RootMap().Set(KeyTitle, title); err != nil {
		return fmt.Errorf("set title: %w", err)
	}
	n.notePending(0, 0)
	return nil
}

// Splice deletes del runes at pos and inserts ins there, in rune offsets.
// The edit is part of the open change until Commit.
func (n *Note) Splice(pos, del int, ins string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.spliceLocked(pos, del, ins)
}

func (n *Note) spliceLocked(pos, del int, ins string) error {
	t, err := n.textLocked()
	if err != nil {
		return err
	}
	if t == nil {
		return ErrNoBody
	}
	length := len(n.text.runes)
	if pos < 0 || pos > length || del < 0 || pos+del > length {
		return fmt.Errorf("splice at %d deleting %d of %d runes: %w", pos, del, length, ErrOutOfRange)
	}
	if del == 0 && ins == "" {
		return nil
	}
	if err := t.Splice(pos, del, ins); err != nil {
		return fmt.Errorf("splice: %w", err)
	}
	n.text.record([]Splice{{Pos: pos, Delete: del, Insert: ins}})
	n.notePending(len([]rune(ins)), del)
	return nil
}

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

// flushLocked commits the open transaction under our message before any
// automerge call that would otherwise commit it anonymously (merging,
// saving, reading heads or history).
func (n *Note) flushLocked() error {
	if n.pending == 0 {
		return nil
	}
	msg := formatMessage(n.author, n.pendingAdded, n.pendingRemoved)
	_, err := n.commitLocked(msg)
	return err
}

func (n *Note) commitLocked(msg string) (Change, error) {
	hash, err := n.doc.Commit(msg)
	n.pending, n.pendingAdded, n.pendingRemoved = 0, 0, 0
	if err != nil {
		// automerge-go reports an empty transaction only by this text.
		if err.Error() == "Commit is empty" {
			return Change{}, nil
		}
		return Change{}, fmt.Errorf("commit: %w", err)
	}
	n.lastHeads.set(n.doc.Heads())
	ch, err := n.doc.Change(hash)
	if err != nil {
		return Change{}, fmt.Errorf("read back change %s: %w", hash, err)
	}
	c := Change{Hash: hash, Bytes: ch.Save()}
	n.committed = append(n.committed, c)
	return c, nil
}

// Apply merges change bytes from elsewhere (another process's log record or
// a peer). Local uncommitted edits are committed first; Commit returns them.
func (n *Note) Apply(changes []byte) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.flushLocked(); err != nil {
		return err
	}
	if err := n.doc.LoadIncremental(changes); err != nil {
		return errors.Join(fmt.Errorf("apply changes: %w", err), n.resyncTextLocked())
	}
	return n.resyncTextLocked()
}

// Heads returns the hashes of the note's current heads.
func (n *Note) Heads() ([]ChangeHash, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.flushLocked(); err != nil {
		return nil, err
	}
	return n.doc.Heads(), nil
}

// Save returns the whole document in automerge's storage format, which the
// JavaScript automerge opens with Automerge.load.
func (n *Note) Save() ([]byte, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.flushLocked(); err != nil {
		return nil, err
	}
	return n.doc.Save(), nil
}

// ChangeInfo describes one change in a note's history.
type ChangeInfo struct {
	Hash    ChangeHash
	Actor   string // automerge actor (one per device session), hex
	Seq     uint64
	Time    time.Time
	Message string
	Deps    []ChangeHash
	// Author, Added and Removed come from collab's commit message; changes
	// written by other automerge apps leave Author empty and Known false.
	Author         string
	Added, Removed int
	Known          bool
}

// History lists every change, in an order where dependencies come first.
func (n *Note) History() ([]ChangeInfo, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.flushLocked(); err != nil {
		return nil, err
	}
	changes, err := n.doc.Changes()
	if err != nil {
		return nil, fmt.Errorf("read history: %w", err)
	}
	out := make([]ChangeInfo, 0, len(changes))
	for _, c := range changes {
		info := ChangeInfo{
			Hash:    c.Hash(),
			Actor:   c.ActorID(),
			Seq:     c.ActorSeq(),
			Time:    c.Timestamp(),
			Message: c.Message(),
			Deps:    c.Dependencies(),
		}
		info.Author, info.Added, info.Removed, info.Known = parseMessage(info.Message)
		out = append(out, info)
	}
	return out, nil
}

// At returns the title and text as of the given heads (one change hash for a
// point in a linear history).
func (n *Note) At(heads ...ChangeHash) (title, text string, err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.flushLocked(); err != nil {
		return "", "", err
	}
	for _, h := range heads {
		if _, err := n.doc.Change(h); err != nil {
			return "", "", fmt.Errorf("%s: %w", h, ErrUnknownHash)
		}
	}
	past, err := n.doc.Fork(heads...)
	if err != nil {
		return "", "", fmt.Errorf("fork at %v: %w", heads, err)
	}
	old := &Note{doc: past}
	text, err = old.textStringLocked()
	if err != nil {
		return "", "", fmt.Errorf("read old text: %w", err)
	}
	return old.titleLocked(), text, nil
}

// Merge brings in every change of another copy of this note (e.g. a file
// carried over on a USB stick). It refuses a document with no history in
// common: two separately created notes each have their own Text under
// "text", and merging them would make one silently hide the other.
// It returns how many changes were new here.
func (n *Note) Merge(other []byte) (added int, err error) {
	theirs, err := automerge.Load(other)
	if err != nil {
		return 0, fmt.Errorf("load other copy: %w", err)
	}
	theirChanges, err := theirs.Changes()
	if err != nil {
		return 0, fmt.Errorf("read other copy's history: %w", err)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.flushLocked(); err != nil {
		return 0, err
	}
	shared := false
	var fresh []*automerge.Change
	for _, c := range theirChanges {
		if _, err := n.doc.Change(c.Hash()); err == nil {
			shared = true
		} else {
			fresh = append(fresh, c)
		}
	}
	if !shared && len(theirChanges) > 0 {
		return 0, ErrDifferentDoc
	}
	if len(fresh) == 0 {
		return 0, nil
	}
	if err := n.doc.Apply(fresh...); err != nil {
		return 0, errors.Join(fmt.Errorf("apply other copy's changes: %w", err), n.resyncTextLocked())
	}
	if err := n.resyncTextLocked(); err != nil {
		return 0, err
	}
	for _, c := range fresh {
		n.committed = append(n.committed, Change{Hash: c.Hash(), Bytes: c.Save()})
	}
	return len(fresh), nil
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
