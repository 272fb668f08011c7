package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Issue 7: three real collab processes in tmux, each typing words at the
// end of its own line at the same moment. Every line ends holding exactly
// its typist's words, in order, on every peer (before, words landed in
// other people's lines and were split by other keystrokes).
func TestTUIThreeTypistsTmux(t *testing.T) {
	needTmux(t)
	names := []string{"ann", "bob", "cem"}
	homes := map[string]string{}
	panes := map[string]*tmuxSession{}
	peerArgs := append([]string{"--log-level", "debug"}, loopbackPeer...)
	for _, n := range names {
		homes[n] = t.TempDir()
		panes[n] = startTmuxAs(t, homes[n], n, append([]string{"--home", homes[n]}, peerArgs...)...)
	}
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for _, n := range names { // each pane's screen is logged by startTmuxAs
			if b, err := os.ReadFile(filepath.Join(homes[n], tuiLogName)); err == nil {
				t.Logf("%s's log:\n%s", n, b)
			}
		}
	})
	ann := panes["ann"]
	ann.waitFor("No notes yet", "online")
	ann.keys("n")
	ann.waitFor("New note", "Title:")
	ann.typ("Standup")
	ann.keys("Enter")
	ann.waitFor(" Standup ", "saved", "^Q close")
	ann.typ("ann:")
	ann.keys("Enter")
	ann.typ("bob:")
	ann.keys("Enter")
	ann.typ("cem:")
	ann.waitFor("ann:\nbob:\ncem:")
	tk := strings.TrimSpace(binOK(t, homes["ann"], "invite", "Standup"))
	for _, n := range names[1:] {
		p := panes[n]
		p.waitFor("No notes yet", "online")
		p.keys("j")
		p.waitFor("Join a shared note", "Ticket:")
		p.paste(tk)
		p.waitFor("Ticket:", tk[len(tk)-20:])
		p.keys("Enter")
		p.waitFor(" Standup ", "ann:", "cem:", "^Q close")
	}
	for _, n := range names {
		panes[n].waitFor("in sync")
	}
	// Each to the end of its own line.
	for i, n := range names {
		p := panes[n]
		p.keys("C-Home")
		for range i {
			p.keys("Down")
		}
		p.keys("End")
	}
	time.Sleep(300 * time.Millisecond)

	// Keystroke by keystroke, the three at once: each round of keys lands
	// in every process within a frame of the others', so every screen gets
	// changes from above and below its cursor together.
	const words = 15
	for w := range words {
		for k := range 4 {
			for _, n := range names {
				word := fmt.Sprintf(" %c%02d", n[0], w)
				panes[n].typ(word[k : k+1])
			}
			time.Sleep(15 * time.Millisecond)
		}
	}
	var want []string
	for _, n := range names {
		line := n + ":"
		for w := range words {
			line += fmt.Sprintf(" %c%02d", n[0], w)
		}
		want = append(want, line)
	}
	for _, n := range names {
		panes[n].waitFor(append(want[:len(want):len(want)], "saved")...)
	}
	for _, n := range names {
		panes[n].keys("C-q")
		panes[n].waitFor("Standup")
		panes[n].quitAnyway()
	}
	for _, n := range names {
		if got := binOK(t, homes[n], "cat", "Standup"); got != strings.Join(want, "\n") {
			t.Errorf("collab cat at %s:\n%s\nwant:\n%s", n, got, strings.Join(want, "\n"))
		}
	}
}
