package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// RawView is a note's view cache read and verified (checksum, version) but
// not decoded: JSON is the stored View, its title and text JSON-escaped. A
// scan over many notes (a search) looks through JSON first and decodes only
// the views that may hold what it looks for: decoding 10 KB of JSON costs
// tens of times more than reading and scanning it.
type RawView struct {
	JSON     []byte
	Position Position
	file     []byte // the whole file as read: Buffer hands it back for reuse
}

// Buffer is the memory the view was read into, for the next ReadRawView
// (after which JSON must not be used any more).
func (r RawView) Buffer() []byte { return r.file[:0] }

// Decode decodes the whole view.
func (r RawView) Decode() (View, error) {
	var v View
	if err := json.Unmarshal(r.JSON, &v); err != nil {
		return View{}, fmt.Errorf("view: %v: %w", err, ErrCorrupt)
	}
	return v, nil
}

// TrashedView reads a trashed note's view cache (its title and text when
// it was trashed), verified like ReadView's.
func (nb *Notebook) TrashedView(t TrashedNote) (View, error) {
	b, err := readFileInto(filepath.Join(t.Dir, viewName), nil)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return View{}, fmt.Errorf("view of trashed note %s: %w", t.ID, ErrNotFound)
		}
		return View{}, fmt.Errorf("read view of trashed note %s: %w", t.ID, err)
	}
	payload, err := decodeBlob(viewMagic, viewName, b)
	if err != nil {
		return View{}, fmt.Errorf("trashed note %s: %w", t.ID, err)
	}
	return RawView{JSON: payload}.Decode()
}

// positionKey starts the view's last field as WriteView encodes it. Inside
// JSON strings a quote is always escaped, so these bytes can only be the key.
var positionKey = []byte(`"Position":`)

// ReadRawView reads live note id's view cache as NoteLog.ReadView does
// (current means the same), without opening the note or decoding its text:
// only the position at its end is decoded. The file is read into buf (a
// previous RawView's Buffer), grown when too small. A missing view is
// ErrNotFound, a damaged one ErrCorrupt.
func (nb *Notebook) ReadRawView(id string, buf []byte) (RawView, bool, error) {
	if err := ValidateID(id); err != nil {
		return RawView{}, false, fmt.Errorf("read view: %w", err)
	}
	dir := nb.noteDir(id)
	b, err := readFileInto(filepath.Join(dir, viewName), buf)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return RawView{}, false, fmt.Errorf("view of note %s: %w", id, ErrNotFound)
		}
		return RawView{}, false, fmt.Errorf("read view of note %s: %w", id, err)
	}
	payload, err := decodeBlob(viewMagic, viewName, b)
	if err != nil {
		return RawView{}, false, fmt.Errorf("note %s: %w", id, err)
	}
	r := RawView{JSON: payload, file: b}
	i := bytes.LastIndex(payload, positionKey)
	if i < 0 || len(payload) == 0 || payload[len(payload)-1] != '}' ||
		json.Unmarshal(payload[i+len(positionKey):len(payload)-1], &r.Position) != nil {
		// Not laid out as WriteView writes it: decode it all.
		v, err := r.Decode()
		if err != nil {
			return RawView{}, false, fmt.Errorf("note %s: %w", id, err)
		}
		r.Position = v.Position
	}
	return r, viewCurrent(dir, r.Position), nil
}

// readFileInto reads the file at path into buf (grown if too small) with
// as few system calls as it can (open, read, close: os.Open would add an
// fstat): a scan over many notes pays them for every note.
func readFileInto(path string, buf []byte) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	buf = buf[:cap(buf)]
	if len(buf) < 64<<10 {
		buf = make([]byte, 64<<10)
	}
	n := 0
	for {
		m, err := unix.Read(fd, buf[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "read", Path: path, Err: err}
		}
		n += m
		// A regular file reads short only at its end.
		if m == 0 || n < len(buf) {
			return buf[:n], nil
		}
		buf = append(buf, make([]byte, len(buf))...)
	}
}
