package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/collab-editor/collab/internal/netns"
	"github.com/collab-editor/collab/notebook"
)

// TestLANDiscoveryByMDNS proves the seed's "no Internet, same LAN" case with
// real `collab` processes: two notebooks, each peer in a network namespace of
// its own joined by a bridge in a third, so nothing touches the host's real
// interfaces. B joins A's note once with a ticket; then both peers restart on
// new random ports, so every address either remembers for the other is
// stale. With --mdns=false an edit on A does not reach B; with mDNS on (the
// default) it does, and live edits flow both ways, with no address typed.
//
// Every collab command of the test runs inside a namespace the test made.
// Namespaces are named collab-lan-<pid>-…; ones left by killed runs are
// removed first.

const (
	lanNSPrefix   = "collab-lan-"
	lanNote       = "Field notes"
	lanFindWithin = 20 * time.Second // an edit must cross by mDNS within this
	lanQuietFor   = 5 * time.Second  // ... and must not cross without it
)

func TestLANDiscoveryByMDNS(t *testing.T) {
	netns.Require(t, lanNSPrefix)
	bin := collabBinary(t)
	ns := netns.New(t, lanNSPrefix, "", 3, nil).Nodes
	a := &lanNode{t: t, bin: bin, ns: ns[0], home: t.TempDir(), name: "ann", ip: "10.99.0.1"}
	b := &lanNode{t: t, bin: bin, ns: ns[1], home: t.TempDir(), name: "bob", ip: "10.99.0.2"}
	c := &lanNode{t: t, bin: bin, ns: ns[2], home: t.TempDir(), name: "cat", ip: "10.99.0.3"}
	begin := time.Now()

	// 1. A makes a note; B joins it once with a ticket, over the namespace LAN.
	url := strings.TrimSpace(a.ok("new", lanNote))
	a.ok("append", lanNote, "from A")
	sa := a.serve(false)
	tk := strings.TrimSpace(a.ok("invite", lanNote))
	if !strings.HasPrefix(tk, url+"#") || !strings.Contains(tk, "/ip4/"+a.ip+"/tcp/") {
		t.Fatalf("ticket %q does not name the note and A's LAN address", tk)
	}
	if got := strings.TrimSpace(b.ok("join", "--mdns=false", "--listen", "/ip4/0.0.0.0/tcp/0", tk)); got != url {
		t.Fatalf("join printed %q, want %s", got, url)
	}
	if got := b.cat(); got != "from A\n" {
		t.Fatalf("B's text after joining = %q", got)
	}
	sa.stop()
	staleA := b.knownAddrs(url, "A") // where B would look for A
	staleB := a.knownAddrs(url, "B") // where A would look for B
	t.Logf("joined by ticket; B remembers A at %v, A remembers B at %v", staleA, staleB)

	// 2. Without mDNS both peers only have the stale addresses: an edit on A
	// stays on A.
	sa = a.serveOnNewPort(false, staleA)
	sb := b.serveOnNewPort(false, staleB)
	a.ok("append", lanNote, "offline on A")
	deadline := time.Now().Add(lanQuietFor)
	for time.Now().Before(deadline) {
		if strings.Contains(b.cat(), "offline on A") {
			t.Fatalf("with --mdns=false on both sides and stale addresses, A's edit still reached B:\nA's log:\n%s\nB's log:\n%s", sa.log, sb.log)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if peers := b.ok("peers", lanNote); strings.Contains(peers, "connected,") {
		t.Fatalf("without mDNS B is connected to A: %q", peers)
	}
	sa.stop()
	sb.stop()

	// 3. With mDNS on (no flag: the default), the peers find each other on
	// the LAN and the edit made while they were apart reaches B. C, a
	// stranger on the same LAN sharing no note, is found too but must learn
	// nothing.
	sc := c.serve(true)
	sa = a.serveOnNewPort(true, staleA)
	var newA []string
	for _, x := range sa.addrs() {
		newA = append(newA, lanTransport(x))
	}
	start := time.Now()
	sb = b.serveOnNewPort(true, staleB)
	b.waitText(lanFindWithin, "A's offline edit at B, by mDNS", "offline on A")
	t.Logf("A's edit reached B %v after B started with mDNS", time.Since(start).Round(time.Millisecond))
	if !strings.Contains(sa.log.String()+sb.log.String(), "found a known peer on the LAN") {
		t.Errorf("neither peer logged finding the other on the LAN\nA's log:\n%s\nB's log:\n%s", sa.log, sb.log)
	}

	// Live edits both ways over the discovered connection.
	a.ok("append", lanNote, "live from A")
	b.waitText(lanFindWithin, "A's live edit at B", "live from A")
	b.ok("append", lanNote, "live from B")
	a.waitText(lanFindWithin, "B's live edit at A", "live from B")
	if peers := b.ok("peers", lanNote); !strings.Contains(peers, "ann") || !strings.Contains(peers, "connected, ") {
		t.Errorf("collab peers at B: %q", peers)
	}

	// 4. A comes back on yet another port while B keeps running: B's
	// addresses for A are all stale again, and mDNS re-finds the peer.
	sa.stop()
	staleA = append(staleA, newA...)
	a.ok("append", lanNote, "A while apart")
	start = time.Now()
	sa = a.serveOnNewPort(true, staleA)
	b.waitText(lanFindWithin, "A's edit at B after A came back on a new port", "A while apart")
	t.Logf("after A came back on a new port, its edit reached the running B in %v", time.Since(start).Round(time.Millisecond))
	lastA := sa.addrs()

	sa.stop()
	sb.stop()
	sc.stop()
	// C met A and B on the LAN (so the check below means something) but
	// has no note, no invitation, and never heard the note's ID.
	if n := strings.Count(sc.log.String(), "connected to peer found on the LAN"); n < 2 {
		t.Errorf("the stranger connected to %d peers found on the LAN, want A and B at least\n%s", n, sc.log)
	}
	noteID := url[strings.LastIndex(url, ":")+1:]
	if ls, inv := c.ok("ls"), c.ok("invites"); strings.Contains(ls, noteID) || strings.Contains(inv, noteID) {
		t.Errorf("a stranger on the LAN got notes %q or invitations %q", ls, inv)
	}
	if !strings.Contains(sa.log.String(), "note="+noteID) {
		t.Errorf("A's debug log never names the note %s: the stranger check below proves nothing", noteID)
	}
	if strings.Contains(sc.log.String(), noteID) {
		t.Errorf("the stranger's log mentions the note %s:\n%s", noteID, sc.log)
	}
	// B now remembers where it found A, for when mDNS is off or down.
	newA = nil
	for _, x := range lastA {
		newA = append(newA, lanTransport(x))
	}
	if now := b.knownAddrs(url, "A"); !slices.ContainsFunc(now, func(x string) bool { return slices.Contains(newA, lanTransport(x)) }) {
		t.Errorf("B remembers A at %v, not at the address mDNS found last (%v)", now, newA)
	}
	want := "from A\noffline on A\nlive from A\nlive from B\nA while apart\n"
	if ta, tb := a.cat(), b.cat(); ta != want || tb != want {
		t.Fatalf("after stopping:\nA %q\nB %q\nwant %q", ta, tb, want)
	}
	t.Logf("scenario done in %v", time.Since(begin).Round(time.Millisecond))
}

// lanNode is one notebook whose commands run inside its node namespace.
type lanNode struct {
	t    testing.TB
	bin  string
	ns   string
	home string
	name string
	ip   string
}

func (n *lanNode) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", n.ns, n.bin}, args...)...)
	cmd.Env = append(os.Environ(), "COLLAB_HOME="+n.home, "COLLAB_NAME="+n.name)
	cmd.WaitDelay = 5 * time.Second
	// If the test binary dies without its cleanups (killed, or -timeout),
	// its peers die with it; `ip netns exec` execs collab, keeping this.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd
}

// run runs a short collab command in the node's namespace (at most 30 s).
func (n *lanNode) run(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	cmd := n.command(ctx, args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("collab %v in %s: %v\n%s", args, n.ns, err, errOut.String())
	}
	return out.String(), nil
}

func (n *lanNode) ok(args ...string) string {
	n.t.Helper()
	out, err := n.run(args...)
	if err != nil {
		n.t.Fatal(err)
	}
	return out
}

func (n *lanNode) cat() string {
	out, err := n.run("cat", lanNote)
	if err != nil {
		return ""
	}
	return out
}

func (n *lanNode) waitText(timeout time.Duration, what, want string) {
	n.t.Helper()
	waitFor(n.t, timeout, what, func() bool { return strings.Contains(n.cat(), want) })
}

// knownAddrs lists the addresses this notebook remembers for the note's
// other peer (the only one), read from disk while no peer runs.
func (n *lanNode) knownAddrs(url, who string) []string {
	n.t.Helper()
	nb, err := notebook.Open(n.home, n.name)
	if err != nil {
		n.t.Fatal(err)
	}
	id, err := nb.Resolve(url)
	if err != nil {
		n.t.Fatal(err)
	}
	peers, err := nb.PeersOf(id)
	if err != nil {
		n.t.Fatal(err)
	}
	if len(peers) != 1 || len(peers[0].Addrs) == 0 {
		n.t.Fatalf("%s's known peers of the note: %+v, want %s (only) with addresses", n.name, peers, who)
	}
	return peers[0].Addrs
}

// lanServe is a `collab serve` process inside a node namespace.
type lanServe struct {
	n    *lanNode
	cmd  *exec.Cmd
	log  *lockedWriter
	done chan error
}

// serve starts `collab serve` on a random TCP port of every interface of
// the node's namespace, with mDNS on or off, and waits until it answers on
// its control socket (a file, so reachable from here).
func (n *lanNode) serve(mdns bool) *lanServe {
	n.t.Helper()
	args := []string{"serve", "--listen", "/ip4/0.0.0.0/tcp/0", "--log-level", "debug"}
	if !mdns {
		args = append(args, "--mdns=false")
	}
	return n.serveWith(args...)
}

// serveWith starts `collab ARGS…` (a serve) in the node's namespace and
// waits until it answers on its control socket.
func (n *lanNode) serveWith(args ...string) *lanServe {
	n.t.Helper()
	s := &lanServe{n: n, log: &lockedWriter{buf: &bytes.Buffer{}}, done: make(chan error, 1)}
	s.cmd = n.command(context.Background(), args...)
	s.cmd.Stderr = s.log
	if err := s.cmd.Start(); err != nil {
		n.t.Fatal(err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	n.t.Cleanup(func() {
		s.cmd.Process.Kill()
		err := <-s.done
		s.done <- err
		if n.t.Failed() {
			n.t.Logf("%s's serve (%s) log:\n%s", n.name, strings.Join(args[1:], " "), s.log)
		}
	})
	waitFor(n.t, 20*time.Second, n.name+"'s serve to start", func() bool {
		select {
		case err := <-s.done:
			s.done <- err
			n.t.Fatalf("%s's serve exited at start: %v\n%s", n.name, err, s.log)
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, err := callControl(ctx, n.home, controlRequest{Op: "id"}, nil)
		return err == nil
	})
	return s
}

// addrs are the running peer's addresses on the namespace LAN.
func (s *lanServe) addrs() []string {
	s.n.t.Helper()
	var lan []string
	for _, line := range strings.Split(s.n.ok("id"), "\n") {
		if strings.HasPrefix(line, "/ip4/"+s.n.ip+"/") {
			lan = append(lan, line)
		}
	}
	if len(lan) == 0 {
		s.n.t.Fatalf("%s's serve has no address on the namespace LAN", s.n.name)
	}
	return lan
}

// notAt reports whether the running peer listens on none of the addresses
// the other side remembers (the kernel could give it an old port back).
func (s *lanServe) notAt(stale []string) bool {
	s.n.t.Helper()
	for _, a := range s.addrs() {
		if slices.ContainsFunc(stale, func(old string) bool { return lanTransport(old) == lanTransport(a) }) {
			return false
		}
	}
	return true
}

// lanTransport is a multiaddr string without its /p2p/<id> part.
func lanTransport(a string) string {
	before, _, _ := strings.Cut(a, "/p2p/")
	return before
}

// serveOnNewPort starts serve until it listens on none of the stale
// addresses (a reused port is unlikely, but would make the test lie).
func (n *lanNode) serveOnNewPort(mdns bool, stale []string) *lanServe {
	n.t.Helper()
	for range 3 {
		s := n.serve(mdns)
		if s.notAt(stale) {
			return s
		}
		n.t.Logf("%s's serve got an old port back; restarting it", n.name)
		s.stop()
	}
	n.t.Fatalf("%s's serve got an old port back three times", n.name)
	return nil
}

// stop sends SIGTERM and waits (at most 20 s) for a clean exit.
func (s *lanServe) stop() {
	s.n.t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		s.done <- err
		if err != nil {
			s.n.t.Fatalf("%s's serve exited with %v after SIGTERM\n%s", s.n.name, err, s.log)
		}
	case <-time.After(20 * time.Second):
		s.n.t.Fatalf("%s's serve did not stop on SIGTERM\n%s", s.n.name, s.log)
	}
}
