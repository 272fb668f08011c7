package tui

import "hash/fnv"

// peerPalette holds colours that read well as a cursor cell and as a
// selection background on dark and light terminals alike.
var peerPalette = []string{
	"#ff5f87", // pink
	"#5fafff", // blue
	"#87d75f", // green
	"#ffaf5f", // orange
	"#af87ff", // violet
	"#5fd7d7", // teal
	"#ffd75f", // yellow
	"#d7875f", // brown
}

// ColorFor picks a person's colour from their peer ID: the same on every
// screen and across restarts, and different people mostly differ.
func ColorFor(peerID string) string {
	h := fnv.New32a()
	h.Write([]byte(peerID))
	return peerPalette[h.Sum32()%uint32(len(peerPalette))]
}
