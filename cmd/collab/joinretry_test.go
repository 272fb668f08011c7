package main

import (
	"bytes"
	"errors"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/collab-editor/collab/crdt"
)

// joinFails runs `collab join` (with a peer of its own on loopback when
// none runs) and returns its stderr; it must exit with status code.
func joinFails(t *testing.T, home string, code int, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := binCmd(t, home, append([]string{"join", "--mdns=false", "--listen", "/ip4/127.0.0.1/tcp/0"}, args...)...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != code {
		t.Fatalf("collab join %v: %v (want exit status %d)\nstdout: %s\nstderr: %s", args, err, code, out.String(), errOut.String())
	}
	// A peer started for the command logs first; the message for people
	// is what follows "collab: ".
	msg := errOut.String()
	if i := strings.Index(msg, "collab: "); i >= 0 {
		msg = msg[i:]
	}
	return msg
}

// rawLibp2p are words of libp2p's that must never reach the user.
var rawLibp2p = []string{"failed to dial", "dial backoff", "all dials failed", "connection refused", "12D3KooW"}

func plainWords(t *testing.T, what, s string) {
	t.Helper()
	for _, raw := range rawLibp2p {
		if strings.Contains(s, raw) {
			t.Errorf("%s carries libp2p's words %q:\n%s", what, raw, s)
		}
	}
}

// TestJoinKeptPendingUntilInviterIsBack: with ann's collab down, bob's
// `collab join` says why in plain words and that the join is pending —
// retried when collab runs (no collab running at bob's), or in the
// background (collab serve running) — and `collab peers` lists it with its
// last error. When ann's collab comes back where the tickets say, bob's
// running collab completes both joins on its own and the text arrives; a
// cancelled join is not completed; a refusal and a malformed ticket are
// not kept pending.
func TestJoinKeptPendingUntilInviterIsBack(t *testing.T) {
	homeA, homeB := t.TempDir(), t.TempDir()
	var urls, tickets []string
	for _, title := range []string{"First", "Second", "Dropped"} {
		urls = append(urls, strings.TrimSpace(binOK(t, homeA, "new", title)))
		binOK(t, homeA, "append", title, "text of "+title)
	}
	ann := startServe(t, homeA, "ann")
	for _, title := range []string{"First", "Second", "Dropped"} {
		tickets = append(tickets, strings.TrimSpace(binOK(t, homeA, "invite", title)))
	}
	port := regexp.MustCompile(`/ip4/127\.0\.0\.1/tcp/(\d+)/`).FindStringSubmatch(tickets[0])
	if port == nil {
		t.Fatalf("no loopback TCP address in the ticket %q", tickets[0])
	}
	ann.stop()

	// No collab runs at bob's: the join is left for the collab that runs.
	msg := joinFails(t, homeB, 1, tickets[0])
	plainWords(t, "join's message", msg)
	for _, want := range []string{"couldn't reach the peer ", "is collab running there?",
		"The join is pending: it is tried again when collab runs here",
		"`collab join --cancel " + urls[0] + "` gives up"} {
		if !strings.Contains(msg, want) {
			t.Errorf("join with no collab running says\n%s\nwant %q", msg, want)
		}
	}
	peers := binOK(t, homeB, "peers")
	for _, want := range []string{"Pending joins", urls[0], "waiting for collab to run here (1 try", "is collab running there?"} {
		if !strings.Contains(peers, want) {
			t.Errorf("collab peers at bob's:\n%s\nwant %q", peers, want)
		}
	}
	if out, err := binCmd(t, homeB, "cat", urls[0]).CombinedOutput(); err == nil {
		t.Errorf("a pending join's note is readable: %s", out)
	}

	// With bob's collab running, it keeps trying in the background.
	startServe(t, homeB, "bob")
	msg = joinFails(t, homeB, 1, tickets[1])
	plainWords(t, "join's message", msg)
	if !strings.Contains(msg, "The join is pending: this collab keeps trying in the background (next try in ") {
		t.Errorf("join with collab running says\n%s", msg)
	}
	joinFails(t, homeB, 1, tickets[2])
	if got := strings.TrimSpace(binOK(t, homeB, "join", "--cancel", urls[2])); got != "cancelled the join of "+urls[2] {
		t.Errorf("join --cancel printed %q", got)
	}
	waitFor(t, 20*time.Second, "bob's collab to retry the join kept before it ran", func() bool {
		return strings.Contains(binOK(t, homeB, "peers"), "2 tries")
	})
	peers = binOK(t, homeB, "peers")
	plainWords(t, "collab peers", peers)
	if !strings.Contains(peers, urls[0]) || !strings.Contains(peers, urls[1]) || strings.Contains(peers, urls[2]) ||
		!strings.Contains(peers, "next try in ") {
		t.Errorf("collab peers with two joins pending and one cancelled:\n%s", peers)
	}

	// ann's collab is back where the tickets say: both joins complete.
	startServeOn(t, homeA, "ann", "/ip4/127.0.0.1/tcp/"+port[1])
	for i, title := range []string{"First", "Second"} {
		waitFor(t, 45*time.Second, title+" at bob's", func() bool {
			return catOf(t, homeB, urls[i]) == "text of "+title+"\n"
		})
	}
	waitFor(t, 10*time.Second, "no pending joins listed", func() bool {
		return !strings.Contains(binOK(t, homeB, "peers"), "Pending joins")
	})
	binOK(t, homeA, "append", "First", "live from ann")
	waitFor(t, 10*time.Second, "ann's append at bob's", func() bool {
		return strings.Contains(catOf(t, homeB, urls[0]), "live from ann")
	})
	if catOf(t, homeB, urls[2]) != "" {
		t.Error("the cancelled join's note arrived")
	}

	// ann answers that she lacks a note: refused, not kept pending.
	ticket, err := parseTicket(tickets[0])
	if err != nil {
		t.Fatal(err)
	}
	ticket.Doc = crdt.NewDocumentID()
	msg = joinFails(t, homeB, 1, ticket.String())
	if !strings.Contains(msg, "doesn't have this note") || strings.Contains(msg, "pending") {
		t.Errorf("join of a note ann lacks says\n%s", msg)
	}
	joinFails(t, homeB, 2, "automerge:nonsense#/ip4/127.0.0.1/tcp/1")
	if peers := binOK(t, homeB, "peers"); strings.Contains(peers, "Pending joins") {
		t.Errorf("a refused or malformed join was kept pending:\n%s", peers)
	}
}

// In a real terminal: bob's notes list shows a join `collab join` kept
// pending while ann's collab is down ("joining… (… unreachable: retrying
// in N s)"), and, once ann's collab is back where the ticket says, the
// note appears in the list on its own and the line goes.
func TestTUIShowsPendingJoinTmux(t *testing.T) {
	needTmux(t)
	homeA, homeB := t.TempDir(), t.TempDir()
	url := strings.TrimSpace(binOK(t, homeA, "new", "Plan"))
	binOK(t, homeA, "append", "Plan", "ann's text")
	ann := startServe(t, homeA, "ann")
	tk := strings.TrimSpace(binOK(t, homeA, "invite", "Plan"))
	port := regexp.MustCompile(`/ip4/127\.0\.0\.1/tcp/(\d+)/`).FindStringSubmatch(tk)
	if port == nil {
		t.Fatalf("no loopback TCP address in the ticket %q", tk)
	}
	ann.stop()

	bob := startTmuxAs(t, homeB, "bob", append([]string{"--home", homeB}, loopbackPeer...)...)
	bob.waitFor("No notes yet", "online")
	msg := joinFails(t, homeB, 1, tk) // asks bob's running collab
	if !strings.Contains(msg, "this collab keeps trying in the background") {
		t.Fatalf("collab join with bob's collab running says\n%s", msg)
	}
	bob.waitFor("joining… (", "unreachable: retrying in ")

	startServeOn(t, homeA, "ann", "/ip4/127.0.0.1/tcp/"+port[1])
	bob.waitFor(" Plan ")
	bob.waitGone("joining…")
	if got := catOf(t, homeB, url); got != "ann's text\n" {
		t.Errorf("the joined note reads %q", got)
	}
	bob.quitAnyway()
}

// In a real terminal: bob gives up a pending join from the notes list (↑
// selects its line, d, y); the running collab stops retrying it and
// `collab peers` no longer lists it. With ann's collab gone, bob opens
// nothing: the note never arrives.
func TestTUICancelsPendingJoinTmux(t *testing.T) {
	needTmux(t)
	homeA, homeB := t.TempDir(), t.TempDir()
	binOK(t, homeA, "new", "Plan")
	ann := startServe(t, homeA, "ann")
	tk := strings.TrimSpace(binOK(t, homeA, "invite", "Plan"))
	ann.stop()

	bob := startTmuxAs(t, homeB, "bob", append([]string{"--home", homeB}, loopbackPeer...)...)
	bob.waitFor("No notes yet", "online")
	joinFails(t, homeB, 1, tk)
	bob.waitFor("joining… (", "unreachable: retrying in ")
	bob.keys("Up")
	bob.waitFor("› joining… (", "d cancel this join")
	bob.keys("d")
	bob.waitFor("Cancel the join", "Stop trying to join the note")
	bob.keys("y")
	bob.waitFor("Cancelled the join from ")
	bob.waitGone("joining…")
	if peers := binOK(t, homeB, "peers"); strings.Contains(peers, "Pending joins") {
		t.Errorf("collab peers still lists the cancelled join:\n%s", peers)
	}
	bob.quitAnyway()
}
