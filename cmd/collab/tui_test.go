package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// tmuxSession drives the real binary in a tmux pane, the way a person would,
// on a tmux server of its own.
type tmuxSession struct {
	t    *testing.T
	sock string
	name string
}

func needTmux(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("tmux is required for the end-to-end test under CI (.ci/run installs it)")
		}
		t.Skip("tmux is not installed: skipping the end-to-end terminal test")
	}
}

// loopbackPeer keeps the peer a test's collab runs on loopback, with no
// multicast: tests talk to nothing outside this machine.
var loopbackPeer = []string{"--listen", "/ip4/127.0.0.1/tcp/0", "--mdns=false"}

func startTmux(t *testing.T, home string, args ...string) *tmuxSession {
	t.Helper()
	return startTmuxAs(t, home, "tester", append(args, loopbackPeer...)...)
}

// startTmuxAs runs collab as user (COLLAB_NAME) in a 100×30 pane of a tmux
// server of its own; the session is named after the user.
func startTmuxAs(t *testing.T, home, user string, args ...string) *tmuxSession {
	t.Helper()
	needTmux(t)
	s := &tmuxSession{t: t, sock: filepath.Join(t.TempDir(), "tmux.sock"), name: "e2e"}
	if user != "tester" {
		s.name = user
	}
	cmdline := []string{"env", "COLLAB_HOME=" + home, "COLLAB_NAME=" + user, "TERM=xterm-256color", "LANG=C.UTF-8", collabBinary(t)}
	cmdline = append(cmdline, args...)
	for i, a := range cmdline {
		cmdline[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	// The shell reports collab's exit status and keeps the pane open.
	shell := strings.Join(cmdline, " ") + `; echo "[collab exited $?]"; sleep 600`
	s.run("-f", "/dev/null", "new-session", "-d", "-x", "100", "-y", "30", "-s", s.name, shell)
	t.Cleanup(func() {
		// A failed test shows what the pane showed last.
		if t.Failed() {
			if out, err := exec.Command("tmux", "-S", s.sock, "capture-pane", "-p", "-t", s.name).Output(); err == nil {
				t.Logf("%s's screen:\n%s", user, out)
			}
		}
		exec.Command("tmux", "-S", s.sock, "kill-server").Run()
	})
	return s
}

func (s *tmuxSession) run(args ...string) string {
	s.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-S", s.sock}, args...)...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("tmux %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func (s *tmuxSession) screen() string { return s.run("capture-pane", "-p", "-t", s.name) }

// waitFor polls the pane until it shows every string.
func (s *tmuxSession) waitFor(what ...string) {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		scr := s.screen()
		ok := true
		for _, w := range what {
			ok = ok && strings.Contains(scr, w)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("the screen never showed %q:\n%s", what, scr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *tmuxSession) keys(keys ...string) {
	s.run(append([]string{"send-keys", "-t", s.name}, keys...)...)
}
func (s *tmuxSession) typ(text string) { s.run("send-keys", "-t", s.name, "-l", text) }

func (s *tmuxSession) cursor() string {
	return strings.TrimSpace(s.run("display", "-p", "-t", s.name, "#{cursor_x},#{cursor_y}"))
}

// quitAnyway presses q and confirms if collab asks (someone may still be
// connected), then waits for a clean exit.
func (s *tmuxSession) quitAnyway() {
	s.t.Helper()
	s.keys("q")
	deadline := time.Now().Add(30 * time.Second)
	for {
		scr := s.screen()
		if strings.Contains(scr, "Quit collab?") {
			s.keys("y")
			break
		}
		if strings.Contains(scr, "[collab exited ") || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.waitExit()
}

func (s *tmuxSession) waitExit() {
	s.t.Helper()
	s.waitFor("[collab exited ")
	if scr := s.screen(); !strings.Contains(scr, "[collab exited 0]") {
		s.t.Fatalf("collab failed:\n%s", scr)
	}
}

// End to end in a real terminal: create a note from the list, type into it,
// close it, quit; `collab cat` prints what was typed.
func TestTUIEndToEndTmux(t *testing.T) {
	home := t.TempDir()
	s := startTmux(t, home)
	s.waitFor("No notes yet", "n new")
	s.keys("n")
	s.waitFor("New note", "Title:")
	s.typ("Shopping")
	s.waitFor("Title:", "Shopping")
	s.keys("Enter")
	s.waitFor(" Shopping ", "offline", "^Q close")
	s.typ("eggs")
	s.waitFor("eggs")
	if c := s.cursor(); c != "4,1" {
		t.Errorf("cursor at %s, want 4,1 (after \"eggs\" on the first text row)", c)
	}
	s.keys("Enter")
	s.typ("milk 🥛 and 你好")
	s.waitFor("eggs", "milk 🥛 and 你好")
	s.waitFor("saved")
	s.keys("C-q")
	s.waitFor("1 note", "Shopping", "just now")
	s.keys("q")
	s.waitExit()

	var out, errOut bytes.Buffer
	cmd := binCmd(t, home, "cat", "Shopping")
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("collab cat: %v\n%s", err, errOut.String())
	}
	if got := out.String(); got != "eggs\nmilk 🥛 and 你好" {
		t.Fatalf("collab cat printed %q", got)
	}
}

// `collab edit NOTE` opens the note directly; ctrl+q quits.
func TestTUIEditTmux(t *testing.T) {
	home := t.TempDir()
	binOK(t, home, "new", "Diary")
	binOK(t, home, "append", "Diary", "day one")
	s := startTmux(t, home, "edit", "Diary")
	s.waitFor(" Diary ", "day one", "saved")
	s.keys("C-End")
	s.typ("day two")
	s.waitFor("day one\nday two")
	if c := s.cursor(); c != "7,2" {
		t.Errorf("cursor at %s, want 7,2", c)
	}
	s.keys("C-q")
	s.waitExit()
	if got := binOK(t, home, "cat", "Diary"); got != "day one\nday two" {
		t.Fatalf("collab cat printed %q", got)
	}
}

// Without a terminal, `collab` keeps printing the list (for scripts) and
// `collab edit` says it needs one.
func TestTUINotOnATerminal(t *testing.T) {
	home := t.TempDir()
	binOK(t, home, "new", "Plain")
	if out := binOK(t, home); !strings.Contains(out, "Plain") {
		t.Fatalf("collab without a terminal printed %q", out)
	}
	var errOut bytes.Buffer
	cmd := binCmd(t, home, "edit", "Plain")
	cmd.Stderr = &errOut
	if err := cmd.Run(); err == nil || !strings.Contains(errOut.String(), "needs a terminal") {
		t.Fatalf("collab edit without a terminal: %v, %q", err, errOut.String())
	}
}

// screenColor is the pane with its colours and attributes (SGR sequences).
func (s *tmuxSession) screenColor() string {
	return s.run("capture-pane", "-p", "-e", "-t", s.name)
}

// waitGone polls the pane until it no longer shows text.
func (s *tmuxSession) waitGone(text string) {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		scr := s.screen()
		if !strings.Contains(scr, text) {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("the screen still shows %q:\n%s", text, scr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitMatch polls the pane until re matches it and returns the match.
func (s *tmuxSession) waitMatch(re *regexp.Regexp) []string {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		scr := s.screen()
		if m := re.FindStringSubmatch(scr); m != nil {
			return m
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("the screen never matched %s:\n%s", re, scr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitColor polls the coloured pane until re matches it.
func (s *tmuxSession) waitColor(re *regexp.Regexp) {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		scr := s.screenColor()
		if re.MatchString(scr) {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("the coloured screen never matched %s:\n%q", re, scr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// paste pastes text into the pane the way a terminal does (bracketed paste
// when the app asked for it).
func (s *tmuxSession) paste(text string) {
	s.t.Helper()
	cmd := exec.Command("tmux", "-S", s.sock, "load-buffer", "-b", "e2e-paste", "-")
	cmd.Stdin = strings.NewReader(text)
	if out, err := cmd.CombinedOutput(); err != nil {
		s.t.Fatalf("tmux load-buffer: %v\n%s", err, out)
	}
	s.run("paste-buffer", "-p", "-d", "-b", "e2e-paste", "-t", s.name)
}

// dialogLines returns the text inside the box drawn on the screen (between
// the │ borders), trimmed.
func dialogLines(screen string) []string {
	var out []string
	for _, l := range strings.Split(screen, "\n") {
		i, j := strings.Index(l, "│"), strings.LastIndex(l, "│")
		if i < 0 || j <= i {
			continue
		}
		out = append(out, strings.TrimSpace(l[i+len("│"):j]))
	}
	return out
}

// ticketOnScreen reads the ticket the invite dialog shows, joining the
// pieces the box wraps it into.
func ticketOnScreen(screen string) string {
	var b strings.Builder
	for _, l := range dialogLines(screen) {
		switch {
		case b.Len() == 0 && strings.HasPrefix(l, "automerge:"):
			b.WriteString(l)
		case b.Len() > 0 && l == "":
			return b.String()
		case b.Len() > 0:
			b.WriteString(l)
		}
	}
	return b.String()
}

// peerLabel matches, on a coloured screen, a row whose text is then a
// peer's cursor drawn with a background colour (a cell, or the cell after
// the line's end) and the peer's name drawn with a background colour after
// it: "ann wrote this▮ ann".
func peerLabel(text, name string) *regexp.Regexp {
	sgr := `(?:\x1b\[[0-9;:]*m)*`
	bg := sgr + `\x1b\[(?:[0-9:]*;)*48[;:][0-9;:]*m` + sgr
	return regexp.MustCompile(`(?m)^` + sgr + regexp.QuoteMeta(text) + bg + ` ` + sgr + ` ` + bg + regexp.QuoteMeta(name) + sgr + ` *$`)
}

// The end-to-end test of issue 4: two real collab processes, each running
// its notebook's peer on loopback in a tmux pane of its own. ann creates a
// note and invites (ctrl+s); bob joins from the ticket (j, paste); text
// typed on either side appears on the other; each sees the other's name in
// the status bar and their cursor and name in the text; after both quit,
// the text is on disk on both sides.
func TestTUITwoPeersTmux(t *testing.T) {
	needTmux(t)
	homeA, homeB := t.TempDir(), t.TempDir()
	t.Cleanup(func() {
		if t.Failed() {
			for _, h := range []string{homeA, homeB} {
				if b, err := os.ReadFile(filepath.Join(h, tuiLogName)); err == nil {
					t.Logf("%s:\n%s", filepath.Join(h, tuiLogName), b)
				}
			}
		}
	})
	peerArgs := append([]string{"--log-level", "debug"}, loopbackPeer...)
	ann := startTmuxAs(t, homeA, "ann", append([]string{"--home", homeA}, peerArgs...)...)
	bob := startTmuxAs(t, homeB, "bob", append([]string{"--home", homeB}, peerArgs...)...)
	start := time.Now()

	// ann: a new note from the list, and a line of text.
	ann.waitFor("No notes yet", "online")
	ann.keys("n")
	ann.waitFor("New note", "Title:")
	ann.typ("Plan")
	ann.waitFor("Plan")
	ann.keys("Enter")
	ann.waitFor(" Plan ", "saved", "^Q close")
	ann.typ("ann wrote this")
	ann.waitFor("ann wrote this")

	// ann: the invite dialog shows the ticket, the same one her running
	// process gives `collab invite` over its control socket.
	ann.keys("C-s")
	ann.waitFor("Invite someone to “Plan”", "automerge:", "esc close")
	shown := ticketOnScreen(ann.screen())
	tk := strings.TrimSpace(binOK(t, homeA, "invite", "Plan"))
	if !strings.Contains(tk, "#/ip4/127.0.0.1/tcp/") {
		t.Fatalf("collab invite printed %q: not a loopback ticket", tk)
	}
	if shown != tk {
		t.Fatalf("the invite dialog shows the ticket %q, collab invite prints %q", shown, tk)
	}
	ann.keys("Escape")
	ann.waitGone("Invite someone")
	ann.waitFor(" Plan ", "ann wrote this", "^Q close")

	// bob: j on the list, paste the ticket, enter: the note opens with
	// ann's text.
	bob.waitFor("No notes yet", "online")
	bob.keys("j")
	bob.waitFor("Join a shared note", "Ticket:")
	bob.paste(tk)
	bob.waitFor("Ticket:", tk[len(tk)-20:])
	bob.keys("Enter")
	bob.waitFor(" Plan ", "ann wrote this", "^Q close")
	joined := time.Now()

	// Each sees the other: online in the status bar, and the other's
	// cursor (a coloured cell) with their name after it on its row.
	// The status bar says how each is reached: directly (loopback is the
	// LAN).
	bob.waitFor("● ann direct", "in sync")
	ann.waitFor("● bob direct", "in sync")
	bob.waitColor(peerLabel("ann wrote this", "ann"))
	bob.waitMatch(regexp.MustCompile(`(?m)^ann wrote this  ann *$`))

	// bob types a line of his own under ann's; it reaches ann, with bob's
	// cursor and name at its end.
	bob.keys("C-End", "Enter")
	bob.typ("bob adds a line")
	bob.waitFor("ann wrote this  ann\nbob adds a line")
	ann.waitFor("ann wrote this\nbob adds a line")
	ann.waitColor(peerLabel("bob adds a line", "bob"))
	if c := bob.cursor(); c != "15,2" {
		t.Errorf("bob's cursor at %s, want 15,2 (after his line)", c)
	}

	// ann, still at the end of her line, adds to it: it reaches bob, whose
	// cursor stays where he was.
	if c := ann.cursor(); c != "14,1" {
		t.Errorf("ann's cursor at %s, want 14,1 (bob's edit below must not move it)", c)
	}
	ann.typ(", then more")
	ann.waitFor("ann wrote this, then more\nbob adds a line")
	bob.waitFor("ann wrote this, then more  ann\nbob adds a line")
	bob.waitColor(peerLabel("ann wrote this, then more", "ann"))
	if c := bob.cursor(); c != "15,2" {
		t.Errorf("ann's edit moved bob's cursor to %s, want 15,2", c)
	}

	// Both at once, on their own lines: both screens end with both.
	ann.typ(" (ann again)")
	bob.typ(" (bob again)")
	for _, s := range []*tmuxSession{ann, bob} {
		s.waitFor("ann wrote this, then more (ann again)", "bob adds a line (bob again)", "saved")
	}
	t.Logf("join to last edit seen on both sides: %v", time.Since(joined).Round(time.Millisecond))

	// Both quit: ctrl+q back to the list (the other still online on the
	// note), then q.
	ann.keys("C-q")
	ann.waitMatch(regexp.MustCompile(`(?m)^ Plan +bob +just now`))
	bob.keys("C-q")
	bob.waitMatch(regexp.MustCompile(`(?m)^ Plan +ann +just now`))
	// ann quits while bob is connected: collab asks once.
	ann.keys("q")
	ann.waitFor("Quit collab?", "bob is connected")
	ann.keys("y")
	ann.waitExit()
	// ann's collab is gone: bob's status bar says why she cannot be
	// reached, and ctrl+o says it in full.
	bob.keys("Enter")
	bob.waitFor(" Plan ", "✗ couldn't reach ann on this machine (port ")
	bob.keys("C-o")
	bob.waitFor("People on this note", "✗ ann: can't be reached: couldn't reach ann on")
	bob.keys("Escape")
	bob.waitGone("People on this note")
	bob.keys("C-q")
	bob.waitMatch(regexp.MustCompile(`(?m)^ Plan +`))
	bob.quitAnyway()

	want := "ann wrote this, then more (ann again)\nbob adds a line (bob again)"
	if a := binOK(t, homeA, "cat", "Plan"); a != want {
		t.Errorf("collab cat at ann: %q, want %q", a, want)
	}
	if b := binOK(t, homeB, "cat", "Plan"); b != want {
		t.Errorf("collab cat at bob: %q, want %q", b, want)
	}
	t.Logf("two peers end to end in %v", time.Since(start).Round(time.Millisecond))
}

// Issue 12 end to end: on the real binary, ctrl+f on the notes list
// searches every note; enter opens the note at the match; in the note,
// find and replace-all changes every occurrence at once, one ctrl+z takes
// it all back and ctrl+y redoes it; `collab cat` shows the result.
func TestTUISearchAndReplaceAllTmux(t *testing.T) {
	home := t.TempDir()
	binOK(t, home, "new", "Groceries")
	binOK(t, home, "append", "Groceries", "eggs and milk")
	binOK(t, home, "new", "Trip to Lisbon")
	binOK(t, home, "append", "Trip to Lisbon", "# Trip\n- take the tram to Belém\n- tram 28 early\n- the Tram museum")
	s := startTmux(t, home)
	s.waitFor("2 notes", "Trip to Lisbon", "Groceries")
	s.keys("C-f")
	s.waitFor("Search all notes", "Search:")
	s.typ("tram")
	s.waitFor("3 matches in 1 note", "2  - take the tram to Belém", "4  - the Tram museum")
	s.keys("Down", "Down", "Enter") // the second matching line
	s.waitFor(" Trip to Lisbon ", "tram 28 early", "saved")
	if c := s.cursor(); c != "6,3" {
		t.Errorf("cursor at %s, want 6,3 (after the match on the note's third line)", c)
	}
	s.keys("C-f") // the selected match is the query
	s.waitFor("Find: tram", "2/3")
	s.keys("Tab")
	s.waitFor("Replace:")
	s.typ("bus")
	s.keys("M-Enter")
	s.waitFor("replaced 3", "- take the bus to Belém", "- bus 28 early", "- the bus museum")
	s.keys("Escape")
	s.waitFor("^Q close") // the find bar closed (an Escape sent with the next key reads as alt+key)
	s.keys("C-z")
	s.waitFor("- take the tram to Belém", "- tram 28 early", "- the Tram museum")
	s.keys("C-y")
	s.waitFor("- take the bus to Belém", "saved")
	s.keys("C-q")
	s.waitFor("2 notes")
	s.keys("q")
	s.waitExit()
	if got := binOK(t, home, "cat", "Trip to Lisbon"); got != "# Trip\n- take the bus to Belém\n- bus 28 early\n- the bus museum\n" {
		t.Fatalf("collab cat printed %q", got)
	}
}
