package display

import (
	"strings"
	"unicode"

	"github.com/charmbracelet/x/ansi"
)

// Line returns s as one line safe to print: escape sequences removed,
// control characters and bidirectional controls dropped, every run of
// white space (newlines too) one space, no space at either end, invalid
// UTF-8 replaced by U+FFFD.
func Line(s string) string {
	s = ansi.Strip(strings.ToValidUTF8(s, "\uFFFD"))
	s = strings.Map(func(r rune) rune {
		switch {
		case unicode.IsSpace(r):
			return ' '
		case unicode.IsControl(r), isBidiControl(r):
			return -1
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// Title is Line(s), or "(untitled)" when that leaves nothing.
func Title(s string) string {
	if s = Line(s); s == "" {
		return "(untitled)"
	}
	return s
}

// Name is how a person shows: Line(name), or ID(id) when they gave no
// name.
func Name(name, id string) string {
	if n := Line(name); n != "" {
		return n
	}
	return ID(id)
}

// idLen is how much of an ID ID keeps.
const idLen = 8

// ID shortens an ID for people: "…" and its last 8 characters. Peer IDs
// are told apart by their end: every Ed25519 libp2p peer ID starts
// "12D3KooW". IDs from peers are arbitrary strings, so it is a Line too.
func ID(id string) string {
	r := []rune(Line(id))
	if len(r) <= idLen {
		return string(r)
	}
	return "…" + string(r[len(r)-idLen:])
}

// isBidiControl reports the characters that change the direction of the
// text around them (Unicode's Bidi_Control property).
func isBidiControl(r rune) bool {
	return unicode.Is(unicode.Bidi_Control, r)
}

// List joins names as people write them: "ann", "ann and bob",
// "ann, bob and cem".
func List(names []string) string {
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// FirstRunes is the first n runes of s (all of s if shorter), cut without
// copying the rest: s may be megabytes from a peer. Invalid bytes count as
// one rune each, as ranging over s does.
func FirstRunes(s string, n int) string {
	count := 0
	for i := range s {
		if count == n {
			return s[:i]
		}
		count++
	}
	return s
}
