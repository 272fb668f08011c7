package store

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// auxMagic marks small side files a note keeps beside its history: sync
// states per peer, the peers a note is shared with. Losing one costs a
// slower sync, never text, so they are plain atomic files, not log records.
const auxMagic = "CLBAUX"

// validAuxName limits side-file names to what is safe in a path (libp2p
// peer IDs are base58, so they fit): 1–201 of [A-Za-z0-9._-], not starting
// with '.', '_' or '-'. (Not a regexp: compiling `{0,200}` cost every
// command a few milliseconds at start.)
func validAuxName(name string) bool {
	if len(name) == 0 || len(name) > 201 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if !alnum && (i == 0 || c != '.' && c != '_' && c != '-') {
			return false
		}
	}
	return true
}

// WriteAux atomically stores a small side file of the note under name.
func (l *NoteLog) WriteAux(name string, data []byte) error {
	if !validAuxName(name) {
		return fmt.Errorf("side file name %q: %w", name, ErrInvalidID)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usable(false); err != nil {
		return err
	}
	if err := l.writable("write " + name + " of"); err != nil {
		return err
	}
	if err := writeFileAtomic(l.path("aux."+name), encodeBlob(auxMagic, data), tmpPrefix); err != nil {
		return fmt.Errorf("write %s of note %s: %w", name, l.id, err)
	}
	return nil
}

// ReadAux reads a side file; a missing one is ErrNotFound, a damaged one
// ErrCorrupt.
func (l *NoteLog) ReadAux(name string) ([]byte, error) { return l.readAux(name, -1) }

// ReadAuxLimit is ReadAux for a side file whose content should not exceed
// limit bytes: a larger one (written by hand, or by an older version that
// did not bound it) is ErrCorrupt, and is not read into memory.
func (l *NoteLog) ReadAuxLimit(name string, limit int) ([]byte, error) {
	return l.readAux(name, limit)
}

func (l *NoteLog) readAux(name string, limit int) ([]byte, error) {
	if !validAuxName(name) {
		return nil, fmt.Errorf("side file name %q: %w", name, ErrInvalidID)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usable(false); err != nil {
		return nil, err
	}
	b, err := readFileLimit(l.path("aux."+name), limit)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s of note %s: %w", name, l.id, ErrNotFound)
	}
	if errors.Is(err, errTooLarge) {
		return nil, fmt.Errorf("%s of note %s: larger than %d bytes: %w", name, l.id, limit, ErrCorrupt)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s of note %s: %w", name, l.id, err)
	}
	data, err := decodeBlob(auxMagic, name, b)
	if err != nil {
		return nil, fmt.Errorf("note %s: %w", l.id, err)
	}
	return data, nil
}

var errTooLarge = errors.New("file too large")

// readFileLimit reads a blob file whose payload may be at most limit bytes
// (no limit if negative).
func readFileLimit(path string, limit int) ([]byte, error) {
	if limit < 0 {
		return os.ReadFile(path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	max := int64(limit) + blobHeaderSize
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, errTooLarge
	}
	return b, nil
}
