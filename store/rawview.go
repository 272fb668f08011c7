package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

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

// Decode decodes the whole view. The title and text, nearly all of a
// view, are unescaped in one pass (encoding/json scans a string twice and
// costs 3 ms on a 400 KB note, most of `collab cat`'s own time); the small
// rest goes through encoding/json. A view not laid out as WriteView writes
// it is decoded by encoding/json alone.
func (r RawView) Decode() (View, error) {
	if buf, titleEnd, rest, ok := r.unescapeTitleText(nil); ok {
		s := string(buf)
		if v, ok := decodeViewTail(s[:titleEnd], s[titleEnd:], rest); ok {
			return v, nil
		}
	}
	return decodeViewSlowly(r.JSON)
}

// decodeViewOwned decodes a view whose JSON nobody else holds, as Decode
// would, but unescapes the title and text in place (the unescaped form is
// never longer, so it never overtakes what is still to be read) and
// returns the text sharing js's memory. Reading a 400 KB note then touches
// fresh memory once, not three times: each fresh page is a page fault, and
// those were a third of `collab cat`'s time on a long note. ok is false if
// the fast path did not apply, js is then clobbered and the view must be
// read again and decoded by Decode.
func decodeViewOwned(js []byte) (_ View, ok bool) {
	buf, titleEnd, rest, ok := RawView{JSON: js}.unescapeTitleText(js[:0])
	if !ok {
		return View{}, false
	}
	// The title is cloned so that a list of titles does not keep every
	// note's text alive.
	title := string(buf[:titleEnd])
	text := unsafe.String(unsafe.SliceData(buf[titleEnd:]), len(buf)-titleEnd)
	return decodeViewTail(title, text, rest)
}

// decodeViewTail decodes the fields after the text (rest starts at the
// comma that ends it) into a view with title and text. ok is false for a
// view not laid out as WriteView writes it.
func decodeViewTail(title, text string, rest []byte) (View, bool) {
	var tail struct {
		Heads    []string
		Position Position
	}
	js := make([]byte, 0, len(rest)+1)
	js = append(append(js, '{'), rest[1:]...)
	// A repeated title or text is left to encoding/json (the last wins).
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if dec.Decode(&tail) != nil {
		return View{}, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return View{}, false
	}
	return View{Title: title, Text: text, Heads: tail.Heads, Position: tail.Position}, true
}

func decodeViewSlowly(js []byte) (View, error) {
	var v View
	if err := json.Unmarshal(js, &v); err != nil {
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

// viewStart and textKey frame the view's first two fields as WriteView
// encodes them (json.Marshal keeps the struct's field order).
var viewStart, textKey = []byte(`{"Title":"`), []byte(`,"Text":"`)

// TitleText decodes the view's title and text only, as Decode would but in
// one pass over them, without validating or decoding the rest (a fifth of
// Decode's cost on a 10 KB note, which encoding/json scans twice: a search
// decodes every view that holds its query). buf is scratch space, returned
// for reuse. A view not laid out as WriteView writes it, or with anything
// this fast path does not take (a lone surrogate, invalid UTF-8), is
// decoded by Decode.
func (r RawView) TitleText(buf []byte) (title, text string, _ []byte, err error) {
	buf, titleEnd, _, ok := r.unescapeTitleText(buf)
	if ok {
		s := string(buf)
		return s[:titleEnd], s[titleEnd:], buf, nil
	}
	v, err := decodeViewSlowly(r.JSON)
	return v.Title, v.Text, buf, err
}

// unescapeTitleText is TitleText's fast path: the title and text unescaped
// into buf (reused if large enough; it may be r.JSON[:0] itself), the
// title ending at titleEnd. rest is what follows the text, from the comma
// before the next field; ok is false where the fast path does not apply.
func (r RawView) unescapeTitleText(buf []byte) (_ []byte, titleEnd int, rest []byte, ok bool) {
	js := r.JSON
	if !bytes.HasPrefix(js, viewStart) {
		return buf, 0, nil, false
	}
	if cap(buf) < len(js) {
		buf = make([]byte, 0, len(js)) // unescaped, never longer
	}
	if buf, rest, ok = unquoteJSON(buf[:0], js[len(viewStart):]); !ok || !bytes.HasPrefix(rest, textKey) {
		return buf, 0, nil, false
	}
	titleEnd = len(buf)
	if buf, rest, ok = unquoteJSON(buf, rest[len(textKey):]); !ok || len(rest) == 0 || rest[0] != ',' {
		return buf, 0, nil, false
	}
	return buf, titleEnd, rest, true
}

// unquoteJSON appends the JSON string whose body starts s (after its
// opening quote) to dst, unescaped as encoding/json does, and returns what
// follows the closing quote. ok is false for anything it does not decode
// exactly as encoding/json would: a control character, invalid UTF-8, a
// lone surrogate, a bad escape or no closing quote.
func unquoteJSON(dst, s []byte) (_, rest []byte, ok bool) {
	for i := 0; i < len(s); {
		// Copy the run up to the next quote or backslash in one go.
		j := bytes.IndexAny(s[i:], `"\`)
		if j < 0 {
			return dst, nil, false
		}
		run := s[i : i+j]
		ascii := true
		for _, c := range run {
			if c < 0x20 {
				return dst, nil, false
			}
			ascii = ascii && c < utf8.RuneSelf
		}
		if !ascii && !utf8.Valid(run) {
			return dst, nil, false
		}
		dst = append(dst, run...)
		i += j
		if s[i] == '"' {
			return dst, s[i+1:], true
		}
		// An escape.
		if i+1 >= len(s) {
			return dst, nil, false
		}
		switch c := s[i+1]; c {
		case '"', '\\', '/':
			dst = append(dst, c)
			i += 2
		case 'b':
			dst, i = append(dst, '\b'), i+2
		case 'f':
			dst, i = append(dst, '\f'), i+2
		case 'n':
			dst, i = append(dst, '\n'), i+2
		case 'r':
			dst, i = append(dst, '\r'), i+2
		case 't':
			dst, i = append(dst, '\t'), i+2
		case 'u':
			r, ok := hex4(s[i+2:])
			if !ok {
				return dst, nil, false
			}
			i += 6
			if utf16.IsSurrogate(r) {
				r2, ok := rune(0), false
				if i+1 < len(s) && s[i] == '\\' && s[i+1] == 'u' {
					r2, ok = hex4(s[i+2:])
				}
				r = utf16.DecodeRune(r, r2)
				if !ok || r == utf8.RuneError {
					return dst, nil, false // a lone surrogate: Decode replaces it
				}
				i += 6
			}
			dst = utf8.AppendRune(dst, r)
		default:
			return dst, nil, false
		}
	}
	return dst, nil, false
}

func hex4(s []byte) (rune, bool) {
	if len(s) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range s[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
