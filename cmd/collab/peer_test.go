package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"strings"
	gosync "sync"
	"syscall"
	"testing"
	"time"

	"github.com/collab-editor/collab/internal/testkit"
)

// servePeer is a `collab serve` process on loopback.
type servePeer struct {
	t    testing.TB
	home string
	name string
	cmd  *exec.Cmd
	log  *lockedWriter
	done chan error
}

func startServe(t testing.TB, home, name string) *servePeer {
	t.Helper()
	return startServeOn(t, home, name, "/ip4/127.0.0.1/tcp/0")
}

// startServeOn is startServe listening on listen (a loopback address).
func startServeOn(t testing.TB, home, name, listen string) *servePeer {
	t.Helper()
	p := &servePeer{t: t, home: home, name: name, log: &lockedWriter{buf: &bytes.Buffer{}}, done: make(chan error, 1)}
	p.cmd = binCmd(t, home, "serve", "--listen", listen, "--mdns=false", "--log-level", "debug")
	p.cmd.Env = append(p.cmd.Env, "COLLAB_NAME="+name)
	p.cmd.Stderr = p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("%s's log:\n%s", name, p.log.String())
		}
	})
	// Ready once its control socket answers.
	waitFor(t, 20*time.Second, name+" to start", func() bool {
		_, err := callControl(context.Background(), home, controlRequest{Op: "id"}, nil)
		return err == nil
	})
	return p
}

// stop sends SIGTERM and waits for a clean exit.
func (p *servePeer) stop() {
	p.t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		p.done <- err
		if err != nil {
			p.t.Fatalf("%s exited with %v after SIGTERM\n%s", p.name, err, p.log.String())
		}
	case <-time.After(20 * time.Second):
		p.t.Fatalf("%s did not stop on SIGTERM", p.name)
	}
}

func (p *servePeer) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	err := <-p.done
	p.done <- err
}

// lockedWriter lets the test read a log the process is still writing.
type lockedWriter struct {
	mu  gosync.Mutex
	buf *bytes.Buffer
}

func (w *lockedWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(b)
}

func (w *lockedWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	testkit.WaitFor(t, timeout, what, cond)
}

func catOf(t testing.TB, home, note string) string {
	t.Helper()
	out, err := binCmd(t, home, "cat", note).Output()
	if err != nil {
		return ""
	}
	return string(out)
}

// TestServeInviteJoinAndLiveEdits: A serves a note and prints a ticket; B
// joins with it, then serves too; appends from other shells on either side
// reach the other; both stop cleanly on SIGTERM with the text on disk.
func TestServeInviteJoinAndLiveEdits(t *testing.T) {
	homeA, homeB := t.TempDir(), t.TempDir()
	url := strings.TrimSpace(binOK(t, homeA, "new", "Plan"))
	binOK(t, homeA, "append", "Plan", "from A")
	a := startServe(t, homeA, "ann")
	tk := strings.TrimSpace(binOK(t, homeA, "invite", "Plan"))
	if !strings.HasPrefix(tk, url+"#/ip4/127.0.0.1/tcp/") {
		t.Fatalf("ticket %q does not name the note and the serving peer", tk)
	}
	if got := strings.TrimSpace(binOK(t, homeB, "join", "--mdns=false", "--listen", "/ip4/127.0.0.1/tcp/0", tk)); got != url {
		t.Fatalf("join printed %q, want %s", got, url)
	}
	if got := catOf(t, homeB, "Plan"); got != "from A\n" {
		t.Fatalf("joined text = %q", got)
	}
	b := startServe(t, homeB, "bob")
	binOK(t, homeA, "append", "Plan", "A live")
	waitFor(t, 10*time.Second, "A's append at B", func() bool { return strings.Contains(catOf(t, homeB, "Plan"), "A live") })
	binOK(t, homeB, "append", "Plan", "B live")
	waitFor(t, 10*time.Second, "B's append at A", func() bool { return strings.Contains(catOf(t, homeA, "Plan"), "B live") })
	peers := binOK(t, homeA, "peers", "Plan")
	if !strings.Contains(peers, "bob") || !strings.Contains(peers, "connected") {
		t.Fatalf("collab peers at A: %q", peers)
	}
	a.stop()
	b.stop()
	want := catOf(t, homeA, "Plan")
	if got := catOf(t, homeB, "Plan"); got != want || strings.Count(got, "\n") != 3 {
		t.Fatalf("after stopping: A %q, B %q", want, got)
	}
}

// TestShareBecomesInvitation: a note offered by address is an invitation
// until accepted; a declined one leaves nothing.
func TestShareBecomesInvitation(t *testing.T) {
	homeA, homeB := t.TempDir(), t.TempDir()
	binOK(t, homeA, "new", "Offered")
	binOK(t, homeA, "append", "Offered", "gift")
	binOK(t, homeA, "new", "Declined")
	startServe(t, homeB, "bob")
	idB := strings.Fields(binOK(t, homeB, "id"))
	addrB := idB[1]
	binOK(t, homeA, "share", "--mdns=false", "--listen", "/ip4/127.0.0.1/tcp/0", "Offered", addrB)
	binOK(t, homeA, "share", "--mdns=false", "--listen", "/ip4/127.0.0.1/tcp/0", "Declined", addrB)
	var invites string
	waitFor(t, 10*time.Second, "two invitations", func() bool {
		invites = binOK(t, homeB, "invites")
		return strings.Count(invites, "\n") == 2
	})
	if ls := binOK(t, homeB, "ls"); ls != "" {
		t.Fatalf("an invitation became a note before it was accepted: %q", ls)
	}
	var offered, declined string
	for _, line := range strings.Split(strings.TrimSpace(invites), "\n") {
		f := strings.Fields(line)
		if strings.Contains(line, "Offered") {
			offered = f[0]
		} else {
			declined = f[0]
		}
	}
	binOK(t, homeB, "accept", offered)
	binOK(t, homeB, "decline", declined)
	if got := catOf(t, homeB, "Offered"); got != "gift\n" {
		t.Fatalf("accepted note text = %q", got)
	}
	if invites := binOK(t, homeB, "invites"); invites != "No invitations waiting.\n" {
		t.Fatalf("invitations left: %q", invites)
	}
	if ls := binOK(t, homeB, "ls"); strings.Contains(ls, "Declined") {
		t.Fatalf("declined note stored: %q", ls)
	}
}

// TestPeerOperationsSayTheSameBothWays: share and accept print what they
// did whether a running collab does them (through its control socket) or a
// short-lived peer does; decline and invites need no peer at all, so they
// work while another process holds the peer lock.
func TestPeerOperationsSayTheSameBothWays(t *testing.T) {
	homeA, homeB := t.TempDir(), t.TempDir()
	ids := map[string]string{}
	for _, title := range []string{"S1", "S2", "D1", "D2"} {
		ids[title] = strings.TrimPrefix(strings.TrimSpace(binOK(t, homeA, "new", title)), "automerge:")
		binOK(t, homeA, "append", title, "text of "+title)
	}
	b := startServe(t, homeB, "bob")
	addrB := strings.Fields(binOK(t, homeB, "id"))[1]
	share := func(title string) {
		t.Helper()
		got := strings.TrimSpace(binOK(t, homeA, "share", "--mdns=false", "--listen", "/ip4/127.0.0.1/tcp/0", title, addrB))
		if want := fmt.Sprintf("offered %s to %s", ids[title], addrB); got != want {
			t.Errorf("share %s printed %q, want %q", title, got, want)
		}
	}
	share("S1") // A has no peer running: a short-lived one
	share("D1")
	a := startServe(t, homeA, "ann")
	share("S2") // through A's running peer
	share("D2")
	waitFor(t, 10*time.Second, "four invitations at B", func() bool {
		return strings.Count(binOK(t, homeB, "invites"), "\n") == 4
	})

	accept := func(title string) {
		t.Helper()
		if got, want := strings.TrimSpace(binOK(t, homeB, "accept", ids[title])), "automerge:"+ids[title]; got != want {
			t.Errorf("accept %s printed %q, want %q", title, got, want)
		}
		if got := catOf(t, homeB, title); got != "text of "+title+"\n" {
			t.Errorf("accepted %s reads %q", title, got)
		}
	}
	decline := func(title string) {
		t.Helper()
		if got, want := strings.TrimSpace(binOK(t, homeB, "decline", ids[title])), "declined "+ids[title]; got != want {
			t.Errorf("decline %s printed %q, want %q", title, got, want)
		}
	}
	accept("S1") // through B's running peer
	decline("D1")
	b.stop()
	accept("S2") // B's peer is not running: a short-lived one
	// Another process holds B's peer lock but answers no control socket:
	// a command that tried to start a peer would fail.
	lock, err := lockPeer(homeB)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.release()
	if invites := binOK(t, homeB, "invites"); !strings.Contains(invites, ids["D2"]) || strings.Count(invites, "\n") != 1 {
		t.Fatalf("invites with the peer lock held: %q", invites)
	}
	decline("D2")
	if invites := binOK(t, homeB, "invites"); invites != "No invitations waiting.\n" {
		t.Fatalf("invitations left: %q", invites)
	}
	a.stop()
}

// TestPeerKilledMidSyncLosesNothing: while appends land on both sides, B's
// peer is killed with SIGKILL at random moments and restarted. Every append
// acknowledged on either side ends up on both, exactly once.
func TestPeerKilledMidSyncLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("kills peers repeatedly; skipped in -short mode")
	}
	homeA, homeB := t.TempDir(), t.TempDir()
	binOK(t, homeA, "new", "Kill")
	startServe(t, homeA, "ann")
	tk := strings.TrimSpace(binOK(t, homeA, "invite", "Kill"))
	binOK(t, homeB, "join", "--mdns=false", "--listen", "/ip4/127.0.0.1/tcp/0", tk)
	rng := rand.New(rand.NewPCG(7, uint64(time.Now().UnixNano())))
	var acked []string
	const rounds = 8
	for r := range rounds {
		b := startServe(t, homeB, "bob")
		for i := range 5 {
			side, home := "a", homeA
			if rng.IntN(2) == 0 {
				side, home = "b", homeB
			}
			tok := fmt.Sprintf("%s-%d-%d", side, r, i)
			binOK(t, home, "append", "Kill", tok)
			acked = append(acked, tok)
			time.Sleep(time.Duration(rng.IntN(40)) * time.Millisecond)
		}
		b.kill()
	}
	startServe(t, homeB, "bob")
	for _, home := range []string{homeA, homeB} {
		waitFor(t, 30*time.Second, "every acknowledged append on both sides", func() bool {
			text := catOf(t, home, "Kill")
			for _, tok := range acked {
				if strings.Count(text, tok+"\n") != 1 {
					return false
				}
			}
			return true
		})
	}
	if a, b := catOf(t, homeA, "Kill"), catOf(t, homeB, "Kill"); a != b {
		t.Fatalf("diverged:\nA %q\nB %q", a, b)
	}
}
