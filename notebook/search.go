package notebook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/store"
)

// SearchResult is a note whose title or text contains the query.
type SearchResult struct {
	Summary
	TitleMatch bool `json:"title_match"`
	// Matches counts the occurrences in the text (not the title).
	Matches int `json:"matches"`
	// Lines are the lines holding a match, in order (at most the
	// SearchOptions' MaxLines).
	Lines []LineMatch `json:"lines"`
}

// LineMatch is one line of a note's text holding the query.
type LineMatch struct {
	Line int    `json:"line"` // 1-based
	Text string `json:"text"` // the whole line, without its newline
	// Offset is the rune offset in the note of the line's first match, where
	// an editor opens the note; Column is the same within the line. Length
	// is the match's length in runes.
	Offset int `json:"offset"`
	Column int `json:"column"`
	Length int `json:"length"`
}

// SearchOptions bound what Search returns.
type SearchOptions struct {
	// MaxLines caps the matching lines kept per note (0: all).
	MaxLines int
	// MaxNotes caps the notes returned (0: all), most recently changed
	// first.
	MaxNotes int
}

// Search finds the notes whose title or text contains query, most recently
// changed first, with their matching lines. Matching is literal and
// smart-case, like find in the editor: a query with no upper-case letter
// ignores case. It reads the notes' view caches only; a cache that is not
// current (another process stored changes since it was written) is rebuilt
// by loading that note, as List does. An empty query matches nothing.
func (nb *Notebook) Search(query string, opts SearchOptions) ([]SearchResult, error) {
	if query == "" {
		return nil, nil
	}
	m := newMatcher(query)
	ids, err := nb.store.NoteIDs()
	if err != nil {
		return nil, err
	}
	// Reading and scanning the views dominates; the notes are independent,
	// so a few workers share them, each with its own scratch buffer.
	results := make([]*SearchResult, len(ids))
	errs := make([]error, len(ids))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), 8, max(len(ids), 1)) {
		wg.Go(func() {
			var sc scratch
			for i := range next {
				results[i], errs[i] = nb.searchNote(ids[i], m, opts.MaxLines, &sc)
			}
		})
	}
	for i := range ids {
		next <- i
	}
	close(next)
	wg.Wait()
	var out []SearchResult
	for i, r := range results {
		if errs[i] != nil {
			return nil, errs[i]
		}
		if r != nil {
			out = append(out, *r)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Modified.After(out[j].Modified) })
	if opts.MaxNotes > 0 && len(out) > opts.MaxNotes {
		out = out[:opts.MaxNotes]
	}
	return out, nil
}

// matcher finds a literal query, ignoring case when the query has no
// upper-case letter. Case is folded rune by rune with unicode.ToLower,
// which keeps rune offsets (the editor's unit) the same in the folded text.
type matcher struct {
	q     []byte // the query, lower-cased when fold
	raw   []byte // q as JSON escapes it inside a string, for containsRaw
	runes int
	fold  bool
	ascii bool // raw is all ASCII
}

func newMatcher(query string) matcher {
	fold := !strings.ContainsFunc(query, unicode.IsUpper)
	q := []byte(query)
	if fold {
		q, _ = lowerInto(nil, q)
	}
	// encoding/json escapes rune by rune, so JSON of a text holds the
	// escaped query wherever the text holds the query; and no escape
	// sequence changes under lower-casing, so folding commutes with it.
	esc, _ := json.Marshal(string(q))
	raw := esc[1 : len(esc)-1]
	ascii := !slices.ContainsFunc(raw, func(c byte) bool { return c >= utf8.RuneSelf })
	return matcher{q: q, raw: raw, runes: utf8.RuneCount(q), fold: fold, ascii: ascii}
}

// containsRaw reports whether a view's stored JSON may hold the query: it
// never misses a note whose title or text does (it may name one that does
// not, e.g. a query inside an escape sequence or a head's hash).
func (m matcher) containsRaw(js []byte, sc *scratch) bool {
	switch {
	case !m.fold:
		return bytes.Contains(js, m.raw)
	case m.ascii && !bytes.Contains(js, dottedCapitalI) && !bytes.Contains(js, kelvinSign):
		return indexFoldASCII(js, m.raw) >= 0
	}
	sc.fold, _ = lowerInto(sc.fold[:0], js)
	return bytes.Contains(sc.fold, m.raw)
}

// The only runes outside ASCII that unicode.ToLower maps into it: a text
// holding one can match an ASCII query where its bytes do not.
var dottedCapitalI, kelvinSign = []byte("\u0130"), []byte("\u212a")

// indexFoldASCII is the first index of q in s ignoring ASCII case; q is
// lower-case ASCII. The first byte is found by IndexByte in both cases
// (vectorised), so a 10 KB view is scanned in a few microseconds, about ten
// times faster than lower-casing it first.
func indexFoldASCII(s, q []byte) int {
	if len(q) == 0 {
		return 0
	}
	lo, up := q[0], q[0]
	if 'a' <= lo && lo <= 'z' {
		up = lo - ('a' - 'A')
	}
	nextLo, nextUp := -2, -2 // -2: not searched yet
	for from := 0; from+len(q) <= len(s); {
		if nextLo != -1 && nextLo < from {
			if nextLo = bytes.IndexByte(s[from:], lo); nextLo >= 0 {
				nextLo += from
			}
		}
		if up != lo && nextUp != -1 && nextUp < from {
			if nextUp = bytes.IndexByte(s[from:], up); nextUp >= 0 {
				nextUp += from
			}
		}
		i := nextLo
		if up != lo && nextUp >= 0 && (i < 0 || nextUp < i) {
			i = nextUp
		}
		if i < 0 || i+len(q) > len(s) {
			return -1
		}
		if equalFoldASCII(s[i+1:i+len(q)], q[1:]) {
			return i
		}
		from = i + 1
	}
	return -1
}

func equalFoldASCII(s, lower []byte) bool {
	for j, c := range s {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[j] {
			return false
		}
	}
	return true
}

// Contains reports whether s holds the query.
func (m matcher) contains(s string, buf []byte) (bool, []byte) {
	if !m.fold {
		return strings.Contains(s, string(m.q)), buf
	}
	buf, _ = lowerInto(buf[:0], []byte(s))
	return bytes.Contains(buf, m.q), buf
}

// search returns the note's result, or nil when neither its title nor its
// text holds the query. buf is scratch space, returned for reuse.
func (m matcher) search(sum Summary, text string, maxLines int, buf []byte) (*SearchResult, []byte) {
	var titleMatch bool
	titleMatch, buf = m.contains(sum.Title, buf)
	hay := []byte(text) // no copy is kept: read-only below
	sameBytes := true
	if m.fold {
		buf, sameBytes = lowerInto(buf[:0], hay)
		hay = buf
	}
	first := bytes.Index(hay, m.q)
	if first < 0 && !titleMatch {
		return nil, buf
	}
	res := &SearchResult{Summary: sum, TitleMatch: titleMatch}
	if first < 0 {
		return res, buf
	}
	var orig []rune // the text by runes, only when folding changed byte lengths
	if !sameBytes {
		orig = []rune(text)
	}
	// Walk the matches, keeping line number and rune offset of the scan
	// position current incrementally.
	line, lineStart, runeAt, scanned := 1, 0, 0, 0
	lastLine := -1
	for at := first; at >= 0; {
		nl := bytes.Count(hay[scanned:at], []byte{'\n'})
		if nl > 0 {
			line += nl
			lineStart = scanned + bytes.LastIndexByte(hay[scanned:at], '\n') + 1
		}
		runeAt += utf8.RuneCount(hay[scanned:at])
		scanned = at
		res.Matches++
		if line != lastLine && (maxLines <= 0 || len(res.Lines) < maxLines) {
			lastLine = line
			end := bytes.IndexByte(hay[lineStart:], '\n')
			if end < 0 {
				end = len(hay) - lineStart
			}
			col := utf8.RuneCount(hay[lineStart:at])
			lm := LineMatch{Line: line, Offset: runeAt, Column: col, Length: m.runes}
			if orig == nil {
				lm.Text = text[lineStart : lineStart+end]
			} else {
				startRune := runeAt - col
				lm.Text = string(orig[startRune : startRune+utf8.RuneCount(hay[lineStart:lineStart+end])])
			}
			res.Lines = append(res.Lines, lm)
		}
		next := bytes.Index(hay[at+len(m.q):], m.q)
		if next < 0 {
			break
		}
		at += len(m.q) + next
	}
	return res, buf
}

// lowerInto appends s lower-cased rune by rune to dst (ASCII on a fast
// path) and reports whether every rune kept its encoded length, so byte
// offsets in the result are byte offsets in s. Invalid UTF-8 is kept as is.
func lowerInto(dst, s []byte) ([]byte, bool) {
	same := true
	base := len(dst)
	dst = append(dst, s...)
	for i := base; i < len(dst); {
		c := dst[i]
		if c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				dst[i] = c + ('a' - 'A')
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(dst[i:])
		l := unicode.ToLower(r)
		if l == r || r == utf8.RuneError {
			i += n
			continue
		}
		if utf8.RuneLen(l) == n {
			utf8.EncodeRune(dst[i:], l)
			i += n
			continue
		}
		// The lower case has another length (e.g. U+0130 İ → i): rebuild
		// the rest with the slow path.
		same = false
		rest := append([]byte(nil), dst[i:]...)
		dst = dst[:i]
		for len(rest) > 0 {
			r, n := utf8.DecodeRune(rest)
			if r == utf8.RuneError && n <= 1 {
				dst = append(dst, rest[0])
			} else {
				dst = utf8.AppendRune(dst, unicode.ToLower(r))
			}
			rest = rest[n:]
		}
		return dst, same
	}
	return dst, same
}

var errNotCurrent = errors.New("view not current")

// scratch is a search worker's reusable buffers.
type scratch struct{ file, fold, text []byte }

// searchNote searches one note. A current view is first scanned as stored
// (JSON): only a view whose raw bytes hold the query, escaped as JSON
// escapes it, can match, and only those are decoded.
func (nb *Notebook) searchNote(idString string, m matcher, maxLines int, sc *scratch) (*SearchResult, error) {
	id, err := crdt.ParseDocumentID(idString)
	if err != nil {
		return nil, nil // not a note directory of ours
	}
	raw, current, err := nb.store.ReadRawView(idString, sc.file)
	var sum Summary
	var text string
	if err == nil && current {
		sc.file = raw.Buffer()
		if !m.containsRaw(raw.JSON, sc) {
			return nil, nil
		}
		var title string
		if title, text, sc.text, err = raw.TitleText(sc.text); err == nil {
			sum = summary(id, store.View{Title: title, Text: text}, nb.store.NoteModified(idString))
		}
	} else {
		err = errNotCurrent
	}
	if err != nil {
		// No usable view: rebuild it by loading the note, as List does.
		sum, text, _, err = nb.summariseView(id)
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil // trashed meanwhile
	}
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	res, fold := m.search(sum, text, maxLines, sc.fold)
	sc.fold = fold
	return res, nil
}
