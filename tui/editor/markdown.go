package editor

import (
	"slices"
	"strings"
	"unicode"

	"charm.land/lipgloss/v2"
)

// Markdown styling: with WithMarkdown, headings, emphasis, lists,
// checkboxes, code spans and fenced blocks, links and quotes are drawn in
// their own styles. Only the drawing changes, never the text: the syntax
// characters stay, dimmed. A line's styles are computed when the line is
// laid out and cached with its layout (an edit drops the layouts it
// touches); the only state crossing lines, whether a line is inside a code
// fence, is kept per line start and recomputed forward from the first line
// an edit may have changed (see buffer.fenceIn).

// mdMask is the set of Markdown elements a character belongs to.
type mdMask uint16

const (
	mdMarker   mdMask = 1 << iota // syntax: #, >, emphasis delimiters, backticks, [ ] ( )
	mdListMark                    // a list bullet or number, a checkbox
	mdHeading
	mdH1
	mdEm
	mdStrong
	mdStrike
	mdCode
	mdLink
	mdURL
	mdQuote
	mdDone // the text of a ticked checkbox item
)

// MarkdownStyles are the looks of Markdown elements. A character in several
// elements (bold text in a heading) gets the attributes of each; where two
// set the same one (a colour), the more specific wins: code, links, list
// markers, syntax, headings, then emphasis, quotes and ticked items.
type MarkdownStyles struct {
	Heading1, Heading  lipgloss.Style
	Marker, ListMarker lipgloss.Style
	Emphasis, Strong   lipgloss.Style
	Strike             lipgloss.Style
	Code, Link, URL    lipgloss.Style
	Quote, Done        lipgloss.Style
}

// DefaultMarkdownStyles use the terminal's own 16 colours, which follow its
// theme (light or dark), and attributes.
func DefaultMarkdownStyles() MarkdownStyles {
	s := lipgloss.NewStyle
	return MarkdownStyles{
		Heading1:   s().Bold(true).Underline(true).Foreground(lipgloss.Color("5")),
		Heading:    s().Bold(true).Foreground(lipgloss.Color("5")),
		Marker:     s().Faint(true),
		ListMarker: s().Bold(true).Foreground(lipgloss.Color("4")),
		Emphasis:   s().Italic(true),
		Strong:     s().Bold(true),
		Strike:     s().Strikethrough(true),
		Code:       s().Foreground(lipgloss.Color("2")),
		Link:       s().Underline(true).Foreground(lipgloss.Color("4")),
		URL:        s().Faint(true),
		Quote:      s().Italic(true).Foreground(lipgloss.Color("6")),
		Done:       s().Faint(true).Strikethrough(true),
	}
}

// NoColorMarkdownStyles tell elements apart by attributes alone (NO_COLOR).
func NoColorMarkdownStyles() MarkdownStyles {
	s := lipgloss.NewStyle
	return MarkdownStyles{
		Heading1:   s().Bold(true).Underline(true),
		Heading:    s().Bold(true),
		Marker:     s().Faint(true),
		ListMarker: s().Bold(true),
		Emphasis:   s().Italic(true),
		Strong:     s().Bold(true),
		Strike:     s().Strikethrough(true),
		Code:       s().Faint(true),
		Link:       s().Underline(true),
		URL:        s().Faint(true),
		Quote:      s().Italic(true),
		Done:       s().Faint(true).Strikethrough(true),
	}
}

// style combines the styles of the elements in mask, most specific first.
func (ms MarkdownStyles) style(mask mdMask) lipgloss.Style {
	out := lipgloss.NewStyle()
	for _, e := range []struct {
		bit mdMask
		st  lipgloss.Style
	}{
		{mdCode, ms.Code}, {mdLink, ms.Link}, {mdURL, ms.URL}, {mdListMark, ms.ListMarker},
		{mdMarker, ms.Marker}, {mdH1, ms.Heading1}, {mdHeading, ms.Heading}, {mdStrong, ms.Strong},
		{mdEm, ms.Emphasis}, {mdStrike, ms.Strike}, {mdDone, ms.Done}, {mdQuote, ms.Quote},
	} {
		if mask&e.bit != 0 {
			out = out.Inherit(e.st)
		}
	}
	return out
}

// WithMarkdown turns Markdown styling on (off by default: a one-line input
// is no document).
func WithMarkdown(on bool) Option { return func(m *Model) { m.markdown = on } }

// mdBase numbers the compiled Markdown styles apart from the base ones.
const mdBase = 1 << 20

// mdStyle returns the rowWriter id of mask's style, compiling it on first
// use.
func (m *Model) mdStyle(mask mdMask) int {
	if i, ok := m.mdIDs[mask]; ok {
		return i
	}
	if m.mdIDs == nil {
		m.mdIDs = map[mdMask]int{}
	}
	i := mdBase + len(m.mdPairs)
	m.mdPairs = append(m.mdPairs, sgrOf(m.styles.Markdown.style(mask)))
	m.mdIDs[mask] = i
	return i
}

// fence is the code fence a line start is inside of: its character and
// length; zero when outside any.
type fence struct {
	ch rune
	n  int
}

// fenceOf reports whether runes s form a fence line (three or more ` or ~
// after indentation) and which.
func fenceOf(s []rune) (f fence, info []rune, ok bool) {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	if i >= len(s) || (s[i] != '`' && s[i] != '~') {
		return fence{}, nil, false
	}
	ch, j := s[i], i
	for j < len(s) && s[j] == ch {
		j++
	}
	if j-i < 3 {
		return fence{}, nil, false
	}
	info = s[j:]
	if ch == '`' {
		for _, r := range info {
			if r == '`' {
				return fence{}, nil, false // an inline code span, not a fence
			}
		}
	}
	return fence{ch, j - i}, info, true
}

// nextFence is the fence state after a line that starts in state f.
func nextFence(f fence, s []rune) fence {
	g, info, ok := fenceOf(s)
	switch {
	case !ok:
		return f
	case f.n == 0:
		return g // opens
	case g.ch == f.ch && g.n >= f.n && isBlank(info):
		return fence{} // closes
	}
	return f
}

func isBlank(s []rune) bool {
	for _, r := range s {
		if !unicode.IsSpace(r) {
			return false
		}
	}
	return true
}

// mayFence is a cheap test for lines that can change fence states: any
// line holding three ` or ~ in a row.
func mayFence[T string | []byte](s T) bool {
	for i := 0; i+2 < len(s); i++ {
		if (s[i] == '`' || s[i] == '~') && s[i+1] == s[i] && s[i+2] == s[i] {
			return true
		}
	}
	return false
}

// fenceIn returns the fence state at the start of line li, reading for
// fences the lines before it that an edit left unread.
func (b *buffer) fenceIn(li int) fence {
	for ; b.fenceScanned < li; b.fenceScanned++ {
		if line := b.lineBytes(b.fenceScanned); mayFence(line) {
			before := b.fenceAfter(b.fenceScanned)
			if after := nextFence(before, []rune(string(line))); after != before {
				b.fences = append(b.fences, fenceMark{li: b.fenceScanned, after: after})
			}
		}
	}
	return b.fenceAfter(li)
}

// fenceAfter is the fence state the fence lines before line li leave.
func (b *buffer) fenceAfter(li int) fence {
	if i := b.firstFenceFrom(li); i > 0 {
		return b.fences[i-1].after
	}
	return fence{}
}

// mdMasks returns line li's Markdown masks, one per glyph of its layout.
func (m *Model) mdMasks(li int, lay *layout) []mdMask {
	f := m.buf.fenceIn(li)
	if lay.mdOK && lay.mdFence == f {
		return lay.md
	}
	runes := markdownRunes(m.buf.lineRunes(li), f)
	lay.md = lay.md[:0]
	for _, g := range lay.gs {
		var mask mdMask
		if runes != nil {
			mask = runes[g.off]
		}
		lay.md = append(lay.md, mask)
	}
	lay.mdOK, lay.mdFence = true, f
	return lay.md
}

// markdownRunes classifies one line's runes (nil: all plain). f is the
// fence state at the line's start.
func markdownRunes(s []rune, f fence) []mdMask {
	if len(s) == 0 {
		return nil
	}
	out := make([]mdMask, len(s))
	fill := func(from, to int, m mdMask) {
		for i := max(from, 0); i < min(to, len(s)); i++ {
			out[i] |= m
		}
	}
	if _, _, ok := fenceOf(s); ok || f.n > 0 {
		fill(0, len(s), mdCode)
		if ok {
			fill(0, len(s), mdMarker)
		}
		return out
	}
	i := skipSpace(s, 0)
	var line mdMask // applies to the rest of the line
	// Quotes, possibly nested: "> > text".
	for i < len(s) && s[i] == '>' {
		fill(i, i+1, mdMarker)
		line |= mdQuote
		i = skipSpace(s, i+1)
	}
	switch {
	case isRule(s[i:]):
		fill(i, len(s), mdMarker)
		return out
	case i < len(s) && s[i] == '#':
		j := i
		for j < len(s) && s[j] == '#' {
			j++
		}
		if j-i <= 6 && (j == len(s) || s[j] == ' ' || s[j] == '\t') {
			fill(i, j, mdMarker)
			line |= mdHeading
			if j-i == 1 {
				line |= mdH1
			}
			i = j
		}
	default:
		if j, ok := listMarker(s, i); ok {
			fill(i, j, mdListMark)
			i = skipSpace(s, j)
			if k, checked, ok := checkbox(s, i); ok {
				fill(i, k, mdListMark)
				if checked {
					line |= mdDone
				}
				i = k
			}
		}
	}
	fill(i, len(s), line)
	inline(s, i, out)
	return out
}

func skipSpace(s []rune, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

// isRule reports a thematic break: three or more of one of - * _ and
// spaces only.
func isRule(s []rune) bool {
	var ch rune
	n := 0
	for _, r := range s {
		switch {
		case r == ' ' || r == '\t':
		case (r == '-' || r == '*' || r == '_') && (ch == 0 || r == ch):
			ch = r
			n++
		default:
			return false
		}
	}
	return n >= 3
}

// listMarker matches "- ", "* ", "+ ", "1. " or "1) " (or the marker alone
// at the line's end) at i and returns the index after the marker.
func listMarker(s []rune, i int) (int, bool) {
	if i >= len(s) {
		return 0, false
	}
	end := func(j int) (int, bool) {
		if j == len(s) || s[j] == ' ' || s[j] == '\t' {
			return j, true
		}
		return 0, false
	}
	if s[i] == '-' || s[i] == '*' || s[i] == '+' {
		return end(i + 1)
	}
	j := i
	for j < len(s) && j-i < 9 && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	if j > i && j < len(s) && (s[j] == '.' || s[j] == ')') {
		return end(j + 1)
	}
	return 0, false
}

// checkbox matches "[ ]", "[x]" or "[X]" followed by a space or the end.
func checkbox(s []rune, i int) (end int, checked, ok bool) {
	if i+3 > len(s) || s[i] != '[' || s[i+2] != ']' || (i+3 < len(s) && s[i+3] != ' ' && s[i+3] != '\t') {
		return 0, false, false
	}
	switch s[i+1] {
	case ' ':
		return i + 3, false, true
	case 'x', 'X':
		return i + 3, true, true
	}
	return 0, false, false
}

// inline marks code spans, links and emphasis in s[from:].
func inline(s []rune, from int, out []mdMask) {
	taken := make([]bool, len(s)) // inside a code span or a link target
	mark := func(a, b int, m mdMask) {
		for i := a; i < b; i++ {
			out[i] |= m
		}
	}
	// Code spans: a run of n backticks up to the next run of exactly n.
	for i := from; i < len(s); {
		if s[i] != '`' {
			i++
			continue
		}
		n := runLen(s, i)
		closeAt := -1
		for j := i + n; j < len(s); {
			if s[j] == '`' {
				k := runLen(s, j)
				if k == n {
					closeAt = j
					break
				}
				j += k
				continue
			}
			j++
		}
		if closeAt < 0 {
			i += n
			continue
		}
		mark(i, closeAt+n, mdCode)
		mark(i, i+n, mdMarker)
		mark(closeAt, closeAt+n, mdMarker)
		for k := i; k < closeAt+n; k++ {
			taken[k] = true
		}
		i = closeAt + n
	}
	// Links [text](url) and images ![alt](src); bare http(s) URLs.
	for i := from; i < len(s); i++ {
		if taken[i] {
			continue
		}
		if s[i] == '[' {
			if t, u, end, ok := link(s, i, taken); ok {
				open := i
				if i > from && s[i-1] == '!' && !taken[i-1] {
					open = i - 1
				}
				mark(open, t, mdMarker)
				mark(t, u-2, mdLink)
				mark(u-2, u, mdMarker)
				mark(u, end-1, mdURL)
				mark(end-1, end, mdMarker)
				for k := u; k < end; k++ {
					taken[k] = true
				}
				i = end - 1
			}
			continue
		}
		if n := urlLen(s, i); n > 0 && (i == 0 || !isWordRune(s[i-1])) {
			mark(i, i+n, mdLink)
			for k := i; k < i+n; k++ {
				taken[k] = true
			}
			i += n - 1
		}
	}
	emphasis(s, from, taken, out)
}

func runLen(s []rune, i int) int {
	j := i
	for j < len(s) && s[j] == s[i] {
		j++
	}
	return j - i
}

// link matches [text](url) at i: t is where text starts, u where the url
// starts, end just after ")".
func link(s []rune, i int, taken []bool) (t, u, end int, ok bool) {
	j := i + 1
	for j < len(s) && s[j] != ']' && !taken[j] {
		j++
	}
	if j+1 >= len(s) || s[j] != ']' || s[j+1] != '(' {
		return 0, 0, 0, false
	}
	k := j + 2
	for k < len(s) && s[k] != ')' && s[k] != ' ' {
		k++
	}
	if k >= len(s) || s[k] != ')' {
		return 0, 0, 0, false
	}
	return i + 1, j + 2, k + 1, true
}

var urlSchemes = [][]rune{[]rune("https://"), []rune("http://")}

// urlLen is the length of an http(s) URL starting at i, or 0.
func urlLen(s []rune, i int) int {
	if s[i] != 'h' {
		return 0
	}
	for _, p := range urlSchemes {
		if i+len(p) >= len(s) || !slices.Equal(s[i:i+len(p)], p) {
			continue
		}
		j := i + len(p)
		for j < len(s) && !unicode.IsSpace(s[j]) && s[j] != '>' && s[j] != ')' {
			j++
		}
		// Trailing punctuation ends the sentence, not the URL.
		for j > i+len(p) && strings.ContainsRune(".,;:!?", s[j-1]) {
			j--
		}
		if j > i+len(p) {
			return j - i
		}
	}
	return 0
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// emphasis pairs runs of *, _ and ~ the way Markdown does in the common
// cases: a run that can close takes the nearest opener of its character;
// both runs of two or more make strong text (~~ strikes through), of one
// emphasis, of three both.
func emphasis(s []rune, from int, taken []bool, out []mdMask) {
	type run struct{ at, n int }
	var openers []run
	for i := from; i < len(s); {
		c := s[i]
		if taken[i] || (c != '*' && c != '_' && c != '~') {
			i++
			continue
		}
		n := runLen(s, i)
		var before, after rune = ' ', ' '
		if i > 0 {
			before = s[i-1]
		}
		if i+n < len(s) {
			after = s[i+n]
		}
		canOpen := !unicode.IsSpace(after)
		canClose := !unicode.IsSpace(before)
		if c == '_' && isWordRune(before) && isWordRune(after) {
			canOpen, canClose = false, false // snake_case_words
		}
		if c == '~' && n < 2 {
			canOpen, canClose = false, false
		}
		matched := false
		if canClose {
			for k := len(openers) - 1; k >= 0; k-- {
				o := openers[k]
				if s[o.at] != c {
					continue
				}
				var m mdMask
				switch {
				case c == '~':
					m = mdStrike
				case o.n >= 3 && n >= 3:
					m = mdStrong | mdEm
				case o.n >= 2 && n >= 2:
					m = mdStrong
				default:
					m = mdEm
				}
				for j := o.at; j < i+n; j++ {
					out[j] |= m
				}
				for j := o.at; j < o.at+o.n; j++ {
					out[j] |= mdMarker
				}
				for j := i; j < i+n; j++ {
					out[j] |= mdMarker
				}
				openers = openers[:k]
				matched = true
				break
			}
		}
		if !matched && canOpen {
			openers = append(openers, run{i, n})
		}
		i += n
	}
}
