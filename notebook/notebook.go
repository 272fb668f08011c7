package notebook

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/store"
)

// Errors callers tell apart with errors.Is.
// Each package declares its own sentinels (matched with errors.Is), so the
// blocks look alike across packages.
var (
	ErrNotFound  = errors.New("no such note")
	ErrAmbiguous = errors.New("more than one note matches")
	// ErrHousekeeping: the edits are stored durably in the log, but
	// writing the view cache or compacting the log failed (a full disk, a
	// read-only note directory). Callers report it as a warning, never as
	// a failed edit.
	ErrHousekeeping = errors.New("edits stored, but the note's upkeep failed")
)

// AmbiguousError lists the notes a NOTE argument could mean.
type AmbiguousError struct {
	Arg        string
	Candidates []Summary
}

func (e *AmbiguousError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%q matches %d notes; use more of the ID:", e.Arg, len(e.Candidates))
	for _, c := range e.Candidates {
		fmt.Fprintf(&b, "\n  %s  %s", c.ID, c.Title)
	}
	return b.String()
}

func (e *AmbiguousError) Unwrap() error { return ErrAmbiguous }

// Notebook is the user's collection of notes in one home directory.
type Notebook struct {
	store     *store.Notebook
	author    string
	compactAt int64
	readOnly  bool
}

// Options say how a notebook is opened. The zero value is the default.
type Options struct {
	// Author names this device's edits in note histories; "" means
	// DefaultAuthor().
	Author string
	// CompactAt is the size of a note's change log past which it is folded
	// into a new snapshot; 0 means DefaultCompactAt. Tests use a tiny value
	// to compact constantly.
	CompactAt int64
	// ReadOnly opens an existing notebook for reading only (cat, ls, log,
	// export, search on a notebook the user may only read): nothing is
	// created, repaired, cached or locked exclusively, and every edit
	// fails with store.ErrReadOnly.
	ReadOnly bool
}

// Open opens (creating if needed) the notebook at home. author names this
// device's edits in note histories.
func Open(home, author string) (*Notebook, error) {
	return OpenWith(home, Options{Author: author})
}

// OpenWith opens (creating if needed) the notebook at home with opts.
func OpenWith(home string, opts Options) (*Notebook, error) {
	open := store.Open
	if opts.ReadOnly {
		open = store.OpenReadOnly
	}
	st, err := open(home)
	if err != nil {
		return nil, err
	}
	if opts.Author == "" {
		opts.Author = DefaultAuthor()
	}
	if opts.CompactAt <= 0 {
		opts.CompactAt = DefaultCompactAt
	}
	return &Notebook{store: st, author: opts.Author, compactAt: opts.CompactAt, readOnly: opts.ReadOnly}, nil
}

// DefaultAuthor is the display name when none is given: $COLLAB_NAME, else
// the login name, else the host name.
func DefaultAuthor() string {
	if n := os.Getenv("COLLAB_NAME"); n != "" {
		return n
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if h, err := os.Hostname(); err == nil {
		return h
	}
	return "anonymous"
}

// Dir is the notebook's home directory.
func (nb *Notebook) Dir() string { return nb.store.Dir() }

// Author is the name local edits are recorded under.
func (nb *Notebook) Author() string { return nb.author }

// Create makes a new note with the given title, durable before it returns.
func (nb *Notebook) Create(title string) (*Note, error) {
	doc, err := crdt.New(title, nb.author)
	if err != nil {
		return nil, err
	}
	return nb.add(crdt.NewDocumentID(), doc)
}

// Import stores a whole automerge document as a note with the given ID (a
// fresh one when id is zero). A note with that ID already present is
// ErrExists: merge into it instead.
func (nb *Notebook) Import(id crdt.DocumentID, data []byte) (*Note, error) {
	doc, warnings, err := crdt.Load(data, nil, nb.author)
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	if len(warnings) > 0 {
		return nil, fmt.Errorf("import: %w", errors.Join(warnings...))
	}
	// A document from another automerge app may have no body yet.
	if err := doc.EnsureBody(); err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	if id.IsZero() {
		id = crdt.NewDocumentID()
	}
	return nb.add(id, doc)
}

// Join makes an empty note with a known ID, to be filled by syncing with a
// peer that has it. It has no body until the peer's changes arrive: making
// one here would give the note two competing bodies.
func (nb *Notebook) Join(id crdt.DocumentID) (*Note, error) {
	doc, _, err := crdt.Load(nil, nil, nb.author)
	if err != nil {
		return nil, err
	}
	return nb.add(id, doc)
}

// add writes a new note's whole history as its first records.
func (nb *Notebook) add(id crdt.DocumentID, doc *crdt.Note) (*Note, error) {
	log, err := nb.store.Create(id.String())
	if err != nil {
		return nil, fmt.Errorf("create note %s: %w", id, err)
	}
	n := newNote(id, nb, doc, log)
	data, err := doc.Save()
	if err != nil {
		log.Close()
		return nil, err
	}
	doc.Commit() // everything is in data; drop the queue
	if _, err := log.Append(data); err != nil {
		log.Close()
		return nil, fmt.Errorf("store note %s: %w", id, err)
	}
	if err := n.writeView(); err != nil {
		log.Close()
		return nil, err
	}
	return n, nil
}

// IDs lists the notes of the notebook without opening them.
func (nb *Notebook) IDs() ([]crdt.DocumentID, error) {
	ids, err := nb.store.NoteIDs()
	if err != nil {
		return nil, err
	}
	out := make([]crdt.DocumentID, 0, len(ids))
	for _, s := range ids {
		if id, err := crdt.ParseDocumentID(s); err == nil {
			out = append(out, id)
		}
	}
	return out, nil
}

// Summary is what the notes list shows of a note without loading it.
type Summary struct {
	ID       crdt.DocumentID `json:"-"`
	IDString string          `json:"id"`
	URL      string          `json:"url"`
	Title    string          `json:"title"`
	Chars    int             `json:"chars"`
	Modified time.Time       `json:"modified"`
}

// List summarises every note, most recently changed first. Titles come from
// each note's view cache; a cache another process left stale is rebuilt by
// loading that note.
func (nb *Notebook) List() ([]Summary, error) {
	ids, err := nb.store.NoteIDs()
	if err != nil {
		return nil, err
	}
	out := make([]Summary, 0, len(ids))
	for _, s := range ids {
		id, err := crdt.ParseDocumentID(s)
		if err != nil {
			continue // not a note directory of ours
		}
		sum, err := nb.summarise(id)
		if err != nil {
			return nil, err
		}
		out = append(out, sum)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Modified.After(out[j].Modified) })
	return out, nil
}

// ListStamp changes whenever List may return something new: a note added
// (created, joined, accepted, imported), trashed or restored, or its view
// rewritten (a rename, an edit from another process or a peer). It costs a
// directory read and a stat per note, so a UI showing the list polls it.
func (nb *Notebook) ListStamp() (uint64, error) { return nb.store.NotesStamp() }

func (nb *Notebook) summarise(id crdt.DocumentID) (Summary, error) {
	sum, _, _, err := nb.summariseView(id)
	return sum, err
}

// summariseView reads a note's summary and cached text from its view,
// rebuilding a view that is missing, damaged or not current; warnings are
// the damage that loading the note met and repaired.
func (nb *Notebook) summariseView(id crdt.DocumentID) (_ Summary, text string, warnings []error, _ error) {
	log, err := nb.store.OpenNote(id.String())
	if err != nil {
		return Summary{}, "", nil, fmt.Errorf("note %s: %w", id, err)
	}
	defer log.Close()
	v, current, err := log.ReadView()
	if err != nil || !current {
		var n *Note
		n, warnings, err = nb.openLog(id, log, false)
		if err != nil {
			return Summary{}, "", warnings, err
		}
		// Only the worker needs closing: log is closed below, and
		// nothing was edited.
		defer n.doc.Close()
		if nb.readOnly {
			// Summarised from the note itself; the cache stays as it is.
			if v, err = n.viewNow(); err != nil {
				return Summary{}, "", warnings, err
			}
		} else {
			if err := n.writeView(); err != nil {
				return Summary{}, "", warnings, err
			}
			if v, _, err = log.ReadView(); err != nil {
				return Summary{}, "", warnings, fmt.Errorf("note %s: %w", id, err)
			}
		}
	}
	return summary(id, v, log.Modified()), v.Text, warnings, nil
}

// ReadText returns a note's title and text. It reads them from the view
// cache when that covers every change on disk (every process that changes
// a note rewrites it), so printing a note never loads its history; a
// missing, damaged or older cache costs one load of the note, and
// warnings are the damage it met and repaired (as OpenNote's).
func (nb *Notebook) ReadText(id crdt.DocumentID) (title, text string, warnings []error, err error) {
	sum, text, warnings, err := nb.summariseView(id)
	return sum.Title, text, warnings, err
}

func summary(id crdt.DocumentID, v store.View, modified time.Time) Summary {
	return Summary{
		ID: id, IDString: id.String(), URL: id.URL(), Title: v.Title,
		Chars: utf8.RuneCountInString(v.Text), Modified: modified,
	}
}

// Resolve finds the note a NOTE argument names: an automerge URL, an ID, a
// unique ID prefix, or an exact title (case-insensitively if no exact match).
func (nb *Notebook) Resolve(arg string) (crdt.DocumentID, error) {
	if id, err := crdt.ParseDocumentID(arg); err == nil {
		if nb.exists(id) {
			return id, nil
		}
		return id, fmt.Errorf("%s: %w", id, ErrNotFound)
	}
	all, err := nb.List()
	if err != nil {
		return crdt.DocumentID{}, err
	}
	for _, match := range []func(Summary) bool{
		func(s Summary) bool { return s.Title == arg },
		func(s Summary) bool { return arg != "" && strings.HasPrefix(s.IDString, arg) },
		func(s Summary) bool { return strings.EqualFold(s.Title, arg) },
	} {
		var found []Summary
		for _, s := range all {
			if match(s) {
				found = append(found, s)
			}
		}
		switch len(found) {
		case 0:
			continue
		case 1:
			return found[0].ID, nil
		default:
			return crdt.DocumentID{}, &AmbiguousError{Arg: arg, Candidates: found}
		}
	}
	return crdt.DocumentID{}, fmt.Errorf("%q: %w", arg, ErrNotFound)
}

func (nb *Notebook) exists(id crdt.DocumentID) bool {
	ids, err := nb.store.NoteIDs()
	if err != nil {
		return false
	}
	for _, s := range ids {
		if s == id.String() {
			return true
		}
	}
	return false
}

// Trash moves a note to the notebook's trash, from where Restore brings it back.
func (nb *Notebook) Trash(id crdt.DocumentID) error {
	if err := nb.store.Trash(id.String()); err != nil {
		return fmt.Errorf("remove note %s: %w", id, err)
	}
	return nil
}

// Restore brings a trashed note back.
func (nb *Notebook) Restore(id crdt.DocumentID) error {
	if err := nb.store.Restore(id.String()); err != nil {
		return fmt.Errorf("restore note %s: %w", id, err)
	}
	return nil
}

// Trashed lists the notes in the trash, oldest first.
func (nb *Notebook) Trashed() ([]store.TrashedNote, error) { return nb.store.Trashed() }

// EmptyTrash deletes the notes in the trash for good.
func (nb *Notebook) EmptyTrash() error { return nb.store.EmptyTrash() }

// TrashedTitle is a trashed note's title as its view cache last had it.
func (nb *Notebook) TrashedTitle(t store.TrashedNote) (string, error) {
	v, err := nb.store.TrashedView(t)
	return v.Title, err
}
