package engine

import (
	"unicode/utf8"

	"github.com/collab-editor/collab/internal/display"
)

// maxPeerText is how much of a string a peer chose (an error message, a
// senderId, a list of versions) goes into a log line or an error.
const maxPeerText = 200

// peerText makes a string that may quote a peer fit for a log line or an
// error a person reads: one line without escape sequences or control
// characters (display.Line), at most maxPeerText characters.
func peerText(s string) string {
	if len(s) > 4*maxPeerText {
		s = s[:4*maxPeerText] // display.Line need not see megabytes
	}
	s = display.Line(s)
	if utf8.RuneCountInString(s) <= maxPeerText {
		return s
	}
	return string([]rune(s)[:maxPeerText-1]) + "…"
}
