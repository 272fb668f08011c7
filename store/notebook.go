package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ResolveHome picks the notebook directory: flagValue if non-empty, else
// $COLLAB_HOME, else $XDG_DATA_HOME/collab (only if that is an absolute path,
// as the XDG spec requires), else ~/.local/share/collab. The result is
// absolute.
func ResolveHome(flagValue string) (string, error) {
	if flagValue != "" {
		return absPath(flagValue)
	}
	if v := os.Getenv("COLLAB_HOME"); v != "" {
		return absPath(v)
	}
	if v := os.Getenv("XDG_DATA_HOME"); v != "" && filepath.IsAbs(v) {
		return filepath.Join(v, "collab"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("resolve notebook directory: %w", err)
	}
	return filepath.Join(home, ".local", "share", "collab"), nil
}

func absPath(p string) (string, error) {
	a, err := filepath.Abs(p)
	if err != nil {
		return "", fmt.Errorf("resolve notebook directory %q: %w", p, err)
	}
	return a, nil
}

// ValidateID reports whether id can name a note: 1–200 characters of
// [A-Za-z0-9_-]. The result wraps ErrInvalidID.
func ValidateID(id string) error {
	if id == "" || len(id) > 200 {
		return fmt.Errorf("note id %q: must be 1-200 characters: %w", id, ErrInvalidID)
	}
	for _, c := range []byte(id) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return fmt.Errorf("note id %q: only letters, digits, '_' and '-' are allowed: %w", id, ErrInvalidID)
		}
	}
	return nil
}

// Notebook is a directory of notes. It holds no open files and is safe for
// concurrent use.
type Notebook struct {
	dir      string
	readOnly bool
}

// TrashedNote is a note in the trash.
type TrashedNote struct {
	ID        string
	TrashedAt time.Time
	Dir       string
}

const (
	notesDirName   = "notes"
	trashDirName   = "trash"
	tmpPrefix      = ".tmp-"
	staleTempAfter = time.Hour
)

// Open opens the notebook in dir, creating dir, dir/notes and dir/trash with
// mode 0700 if they do not exist (dir/invites comes with the first
// invitation). Leftovers of interrupted note creations older than an hour
// are removed, and so are offers whose invitation is gone.
func Open(dir string) (*Notebook, error) {
	if dir == "" {
		return nil, errors.New("open notebook: empty directory name")
	}
	dir, err := absPath(dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(dir), dirMode); err != nil {
		return nil, fmt.Errorf("open notebook: %w", err)
	}
	nb := &Notebook{dir: dir}
	for _, d := range []string{dir, nb.notesDir(), nb.trashDir()} {
		if err := mkdirPrivate(d); err != nil {
			return nil, fmt.Errorf("open notebook: %w", err)
		}
	}
	nb.removeStaleTemps()
	nb.removeOrphanOffers()
	return nb, nil
}

// Dir returns the notebook's directory.
func (nb *Notebook) Dir() string { return nb.dir }

// OpenReadOnly opens the existing notebook in dir for reading only: for
// commands that only read (cat, ls, log, export, search) on a notebook the
// user may only read (a read-only mount, someone else's files). It creates,
// chmods and cleans up nothing; its notes open their files read-only and
// take only shared locks; every write (Create, Trash, Restore, EmptyTrash,
// invitations, and a NoteLog's Append, Compact, WriteView, WriteAux)
// fails with ErrReadOnly.
func OpenReadOnly(dir string) (*Notebook, error) {
	if dir == "" {
		return nil, errors.New("open notebook: empty directory name")
	}
	dir, err := absPath(dir)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("open notebook %s: %w", dir, ErrNotFound)
		}
		return nil, fmt.Errorf("open notebook: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("open notebook: %s is not a directory", dir)
	}
	return &Notebook{dir: dir, readOnly: true}, nil
}

// ReadOnly reports whether the notebook was opened with OpenReadOnly.
func (nb *Notebook) ReadOnly() bool { return nb.readOnly }

// writable refuses a write on a read-only notebook.
func (nb *Notebook) writable(what string) error {
	if nb.readOnly {
		return fmt.Errorf("%s: %w", what, ErrReadOnly)
	}
	return nil
}

func (nb *Notebook) notesDir() string         { return filepath.Join(nb.dir, notesDirName) }
func (nb *Notebook) trashDir() string         { return filepath.Join(nb.dir, trashDirName) }
func (nb *Notebook) noteDir(id string) string { return filepath.Join(nb.notesDir(), id) }

func (nb *Notebook) removeStaleTemps() {
	entries, err := os.ReadDir(nb.notesDir())
	if err != nil {
		return
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), tmpPrefix) {
			continue
		}
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > staleTempAfter {
			os.RemoveAll(filepath.Join(nb.notesDir(), e.Name()))
		}
	}
}

// NoteIDs returns the sorted ids of the live notes. Entries that are not
// directories or whose names are not valid ids (temporary files) are ignored.
func (nb *Notebook) NoteIDs() ([]string, error) {
	entries, err := os.ReadDir(nb.notesDir())
	if err != nil {
		return nil, fmt.Errorf("list notes: %w", err)
	}
	var ids []string
	for _, e := range entries {
		if e.IsDir() && ValidateID(e.Name()) == nil {
			ids = append(ids, e.Name())
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// Create creates a new, empty note and returns its log, ready for Append
// (no Load needed). It returns an error wrapping ErrExists if a live note
// with that id exists. The note appears atomically: it is built in a
// temporary directory and renamed into place.
func (nb *Notebook) Create(id string) (*NoteLog, error) {
	if err := nb.writable("create note"); err != nil {
		return nil, err
	}
	if err := ValidateID(id); err != nil {
		return nil, fmt.Errorf("create note: %w", err)
	}
	final := nb.noteDir(id)
	if _, err := os.Lstat(final); err == nil {
		return nil, fmt.Errorf("create note %s: %w", id, ErrExists)
	}
	tmp, err := os.MkdirTemp(nb.notesDir(), tmpPrefix+"create-"+id+"-")
	if err != nil {
		return nil, fmt.Errorf("create note %s: %w", id, err)
	}
	if err := nb.populate(tmp); err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("create note %s: %w", id, err)
	}
	if err := renameNoReplace(tmp, final); err != nil {
		os.RemoveAll(tmp)
		if isExist(err) {
			return nil, fmt.Errorf("create note %s: %w", id, ErrExists)
		}
		return nil, fmt.Errorf("create note %s: %w", id, err)
	}
	if err := syncDir(nb.notesDir()); err != nil {
		return nil, fmt.Errorf("create note %s: %w", id, err)
	}
	l, err := openNoteLog(id, final, false)
	if err != nil {
		return nil, fmt.Errorf("create note %s: %w", id, err)
	}
	f, err := os.OpenFile(filepath.Join(final, logName(0)), os.O_RDWR, 0)
	if err != nil {
		l.Close()
		return nil, fmt.Errorf("create note %s: %w", id, err)
	}
	l.logF, l.gen, l.pos, l.loaded = f, 0, logHeaderSize, true
	return l, nil
}

// populate writes the files of an empty note into dir.
func (nb *Notebook) populate(dir string) error {
	if err := os.Chmod(dir, dirMode); err != nil {
		return err
	}
	f, err := createPrivate(filepath.Join(dir, logName(0)), os.O_WRONLY)
	if err != nil {
		return err
	}
	_, err = f.Write(logHeader())
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	lf, err := createPrivate(filepath.Join(dir, lockName), os.O_RDWR)
	if err != nil {
		return err
	}
	lf.Close()
	return syncDir(dir)
}

// NotesStamp fingerprints the live notes: their IDs and their directories'
// modification times. It changes when a note is created, joined, trashed
// or restored, and when a note's view cache or generation files are
// replaced (a rename inside its directory), so a notes list can poll it
// cheaply (one directory read and a stat per note) instead of re-reading
// every view.
func (nb *Notebook) NotesStamp() (uint64, error) {
	entries, err := os.ReadDir(nb.notesDir())
	if err != nil {
		return 0, fmt.Errorf("list notes: %w", err)
	}
	h := fnv.New64a()
	var buf [8]byte
	for _, e := range entries {
		if !e.IsDir() || ValidateID(e.Name()) != nil {
			continue
		}
		h.Write([]byte(e.Name()))
		if info, err := e.Info(); err == nil {
			binary.LittleEndian.PutUint64(buf[:], uint64(info.ModTime().UnixNano()))
			h.Write(buf[:])
		}
	}
	return h.Sum64(), nil
}

// OpenNote opens an existing live note. Call Load before Append, Poll,
// Compact or WriteView; ReadView works without Load.
func (nb *Notebook) OpenNote(id string) (*NoteLog, error) {
	if err := ValidateID(id); err != nil {
		return nil, fmt.Errorf("open note: %w", err)
	}
	dir := nb.noteDir(id)
	st, err := os.Stat(dir)
	if err != nil || !st.IsDir() {
		if err == nil || errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("open note %s: %w", id, ErrNotFound)
		}
		return nil, fmt.Errorf("open note %s: %w", id, err)
	}
	l, err := openNoteLog(id, dir, nb.readOnly)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("open note %s: %w", id, ErrNotFound)
		}
		return nil, fmt.Errorf("open note %s: %w", id, err)
	}
	return l, nil
}

// Trash moves a live note into the trash with one atomic rename. It can be
// brought back with Restore until EmptyTrash. A NoteLog still open on the
// note fails its next Append or Compact with ErrNotFound.
func (nb *Notebook) Trash(id string) error {
	if err := nb.writable("trash note"); err != nil {
		return err
	}
	if err := ValidateID(id); err != nil {
		return fmt.Errorf("trash note: %w", err)
	}
	src := nb.noteDir(id)
	if _, err := os.Lstat(src); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("trash note %s: %w", id, ErrNotFound)
		}
		return fmt.Errorf("trash note %s: %w", id, err)
	}
	for attempt := 0; ; attempt++ {
		dst := filepath.Join(nb.trashDir(), id+"."+strconv.FormatInt(time.Now().UnixNano(), 10))
		err := renameNoReplace(src, dst)
		if err == nil {
			break
		}
		if isExist(err) && attempt < 10 {
			continue
		}
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("trash note %s: %w", id, ErrNotFound)
		}
		return fmt.Errorf("trash note %s: %w", id, err)
	}
	if err := syncDir(nb.trashDir()); err != nil {
		return fmt.Errorf("trash note %s: %w", id, err)
	}
	if err := syncDir(nb.notesDir()); err != nil {
		return fmt.Errorf("trash note %s: %w", id, err)
	}
	return nil
}

// parseTrashName splits "<id>.<unix-nanos>".
func parseTrashName(name string) (id string, at time.Time, ok bool) {
	i := strings.LastIndexByte(name, '.')
	if i < 0 {
		return "", time.Time{}, false
	}
	id, ns := name[:i], name[i+1:]
	n, err := strconv.ParseInt(ns, 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != ns || ValidateID(id) != nil {
		return "", time.Time{}, false
	}
	return id, time.Unix(0, n), true
}

// Trashed lists the notes in the trash, oldest first.
func (nb *Notebook) Trashed() ([]TrashedNote, error) {
	entries, err := os.ReadDir(nb.trashDir())
	if err != nil {
		return nil, fmt.Errorf("list trash: %w", err)
	}
	var out []TrashedNote
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if id, at, ok := parseTrashName(e.Name()); ok {
			out = append(out, TrashedNote{ID: id, TrashedAt: at, Dir: filepath.Join(nb.trashDir(), e.Name())})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].TrashedAt.Equal(out[j].TrashedAt) {
			return out[i].TrashedAt.Before(out[j].TrashedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// Restore moves the most recently trashed note with this id back to the live
// notes. It returns ErrNotFound if the trash has no such note and ErrExists
// if a live note has that id.
func (nb *Notebook) Restore(id string) error {
	if err := nb.writable("restore note"); err != nil {
		return err
	}
	if err := ValidateID(id); err != nil {
		return fmt.Errorf("restore note: %w", err)
	}
	trashed, err := nb.Trashed()
	if err != nil {
		return fmt.Errorf("restore note %s: %w", id, err)
	}
	// Restore mirrors Trash (rename, then fsync both directories); kept as
	// two so that each error names its own operation.
	var src string
	for _, t := range trashed {
		if t.ID == id {
			src = t.Dir // sorted oldest first: the last match is the newest
		}
	}
	if src == "" {
		return fmt.Errorf("restore note %s: %w", id, ErrNotFound)
	}
	if err := renameNoReplace(src, nb.noteDir(id)); err != nil {
		if isExist(err) {
			return fmt.Errorf("restore note %s: %w", id, ErrExists)
		}
		return fmt.Errorf("restore note %s: %w", id, err)
	}
	if err := syncDir(nb.notesDir()); err != nil {
		return fmt.Errorf("restore note %s: %w", id, err)
	}
	if err := syncDir(nb.trashDir()); err != nil {
		return fmt.Errorf("restore note %s: %w", id, err)
	}
	return nil
}

// EmptyTrash permanently deletes everything in the trash.
func (nb *Notebook) EmptyTrash() error {
	if err := nb.writable("empty trash"); err != nil {
		return err
	}
	entries, err := os.ReadDir(nb.trashDir())
	if err != nil {
		return fmt.Errorf("empty trash: %w", err)
	}
	var errs []error
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(nb.trashDir(), e.Name())); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("empty trash: %w", err)
	}
	return syncDir(nb.trashDir())
}
