package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/internal/netns"
	"github.com/collab-editor/collab/notebook"
)

// The keystroke agent is this test binary run as a peer inside a network
// namespace (BenchmarkNATKeystrokeBinary): a test process cannot hold
// peers in several namespaces, and `collab serve` offers no way to type.
// It runs the peer runtime `collab serve` and `collab edit` run
// (startPeer and the control socket, so collab commands in its namespace
// reach it) and types the way the terminal app does: Engine.Open, then
// notebook.Note.Edit at the revision shown, the commit policy and the
// engine's fast path doing the rest. Arrivals of peers' changes are
// reported with the wall-clock time of the note's update (every agent is
// on this machine: one clock).
//
// Lines on stdin: "open NOTE" (answers "opened LEN"), "type" (one
// character at the end; answers "typed UNIXNANO", taken just before the
// edit). Unprompted lines on stdout: "arrived UNIXNANO LEN" for every
// change a peer's sync stored. EOF stops the peer.

// keysAgentEnv, set for agent children only, holds the addresses to
// listen on (comma-separated).
const keysAgentEnv = "COLLAB_KEYS_AGENT"

func runKeysAgent(listen string) int {
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "keys agent:", err)
		return 1
	}
	e := &env{stdout: io.Discard, stderr: os.Stderr}
	nb, err := e.openNotebook()
	if err != nil {
		return fail(err)
	}
	logger, err := newLogger(os.Stderr, "warn")
	if err != nil {
		return fail(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opts := peerFlags{listen: strings.Split(listen, ","), logLevel: "warn"}
	rt, err := startPeer(ctx, nb, opts, logger)
	if err != nil {
		return fail(err)
	}
	ctlErr := make(chan error, 1)
	go func() { ctlErr <- serveControl(ctx, nb.Dir(), controlHandlerFor(rt)) }()
	defer func() {
		cancel()
		<-ctlErr
		rt.stop()
	}()

	lines := make(chan string, 1024)
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		for l := range lines {
			fmt.Println(l)
		}
	}()
	defer func() { close(lines); <-writerDone }()

	var note *notebook.Note
	var rev crdt.Rev
	var length int
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		cmd, arg, _ := strings.Cut(in.Text(), " ")
		switch cmd {
		case "open":
			id, err := nb.Resolve(arg)
			if err == nil {
				note, err = rt.engine.Open(id)
			}
			var text string
			if err == nil {
				text, rev, err = note.ReadText()
			}
			if err != nil {
				return fail(err)
			}
			length = len([]rune(text))
			n := note
			unsubscribe := n.Subscribe(func(u notebook.Update) {
				if u.Origin == notebook.FromPeer {
					lines <- fmt.Sprintf("arrived %d %d", time.Now().UnixNano(), n.Len())
				}
			})
			defer unsubscribe()
			lines <- fmt.Sprintf("opened %d", length)
		case "type":
			if note == nil {
				return fail(fmt.Errorf("type before open"))
			}
			at := time.Now().UnixNano()
			res, err := note.Edit(rev, []crdt.Splice{{Pos: length, Insert: "x"}})
			if err != nil {
				return fail(err)
			}
			rev = res.Rev
			length++
			lines <- fmt.Sprintf("typed %d", at)
		default:
			return fail(fmt.Errorf("unknown request %q", in.Text()))
		}
	}
	return 0
}

// keysAgent is a running keystroke agent, driven by a benchmark.
type keysAgent struct {
	t       testing.TB
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	replies chan string // typed…, opened…
	arrived chan keysArrival
	log     *lockedWriter
	done    chan error
}

type keysArrival struct {
	at     time.Time
	length int
}

// startKeysAgent starts an agent for n's notebook in n's namespace,
// listening on listen, and waits until its control socket answers.
func startKeysAgent(t testing.TB, n *lanNode, listen ...string) *keysAgent {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	a := &keysAgent{t: t, replies: make(chan string, 16), arrived: make(chan keysArrival, 1024),
		log: &lockedWriter{buf: &bytes.Buffer{}}, done: make(chan error, 1)}
	a.cmd = exec.Command("ip", "netns", "exec", n.ns, exe)
	a.cmd.Env = append(os.Environ(), "COLLAB_HOME="+n.home, "COLLAB_NAME="+n.name, keysAgentEnv+"="+strings.Join(listen, ","))
	a.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	a.cmd.Stderr = a.log
	a.cmd.WaitDelay = 5 * time.Second
	if a.stdin, err = a.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := a.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) == 3 && f[0] == "arrived" {
				ns, _ := strconv.ParseInt(f[1], 10, 64)
				l, _ := strconv.Atoi(f[2])
				select {
				case a.arrived <- keysArrival{at: time.Unix(0, ns), length: l}:
				default: // nobody is measuring: drop
				}
				continue
			}
			a.replies <- sc.Text()
		}
	}()
	go func() {
		<-readerDone
		a.done <- a.cmd.Wait()
	}()
	t.Cleanup(func() {
		a.stdin.Close()
		select {
		case <-a.done:
		case <-time.After(20 * time.Second):
			a.cmd.Process.Kill()
			<-a.done
		}
		if t.Failed() {
			t.Logf("%s's keystroke agent log:\n%s", n.name, a.log)
		}
	})
	waitFor(t, 20*time.Second, n.name+"'s keystroke agent to start", func() bool {
		select {
		case err := <-a.done:
			a.done <- err
			t.Fatalf("%s's keystroke agent exited at start: %v\n%s", n.name, err, a.log)
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, err := callControl(ctx, n.home, controlRequest{Op: "id"}, nil)
		return err == nil
	})
	return a
}

// request sends one line and returns the agent's answer.
func (a *keysAgent) request(line string) string {
	a.t.Helper()
	if _, err := io.WriteString(a.stdin, line+"\n"); err != nil {
		a.t.Fatalf("keystroke agent: %v\n%s", err, a.log)
	}
	select {
	case r := <-a.replies:
		return r
	case err := <-a.done:
		a.done <- err
		a.t.Fatalf("keystroke agent exited (%v) on %q:\n%s", err, line, a.log)
	case <-time.After(30 * time.Second):
		a.t.Fatalf("keystroke agent: no answer to %q in 30 s\n%s", line, a.log)
	}
	return ""
}

// open opens the note in the agent's peer, as the editor does; it
// returns the text's length.
func (a *keysAgent) open(note string) int {
	a.t.Helper()
	r := a.request("open " + note)
	n, err := strconv.Atoi(strings.TrimPrefix(r, "opened "))
	if err != nil {
		a.t.Fatalf("keystroke agent: open answered %q", r)
	}
	return n
}

// typeKey types one character and returns when it was typed.
func (a *keysAgent) typeKey() time.Time {
	a.t.Helper()
	r := a.request("type")
	ns, err := strconv.ParseInt(strings.TrimPrefix(r, "typed "), 10, 64)
	if err != nil {
		a.t.Fatalf("keystroke agent: type answered %q", r)
	}
	return time.Unix(0, ns)
}

// waitLength waits for an arrival that makes the text length long.
func (a *keysAgent) waitLength(length int, within time.Duration) time.Time {
	a.t.Helper()
	deadline := time.After(within)
	for {
		select {
		case got := <-a.arrived:
			if got.length >= length {
				return got.at
			}
		case <-deadline:
			a.t.Fatalf("no change making the text %d long arrived within %v\n%s", length, within, a.log)
		}
	}
}

// BenchmarkNATKeystrokeBinary measures keystroke → remote: ann types one
// character into a note open in her peer (as the terminal app does:
// Note.Edit, the live commit policy, the engine's fast path), and the time
// until bob's peer, which has the note open too, stored it. Three paths:
// loopback (both peers in one namespace on 127.0.0.1), direct (ann and bob
// behind port-preserving NATs: hole-punched) and relayed (both behind
// symmetric NATs: through rita's `collab serve --relay`). The namespaces'
// links add no latency (no netem): what the paths add over loopback is
// collab's and libp2p's own. One keystroke per iteration, 20 ms apart,
// each waited for; p50-ms and p99-ms over the iterations.
//
//	go test ./cmd/collab -run '^$' -bench BenchmarkNATKeystrokeBinary -benchtime 300x
func BenchmarkNATKeystrokeBinary(b *testing.B) {
	var lo, pa, pb, sa, sb *netns.Host
	w := newNATBinWorld(b, "k", func(in *netns.Internet) {
		lo = in.PublicHost("lo")
		pa = in.NewHome(netns.NATPortPreserving, 1).Hosts[0]
		pb = in.NewHome(netns.NATPortPreserving, 1).Hosts[0]
		sa = in.NewHome(netns.NATSymmetric, 1).Hosts[0]
		sb = in.NewHome(netns.NATSymmetric, 1).Hosts[0]
	})
	type pair struct {
		ann, bob         *keysAgent
		length           int
		bobNode          *lanNode
		url, annID, want string
	}
	// Every pair is set up here, once: b.Run calls a sub-benchmark more
	// than once, and its cleanups run after each call.
	setUp := func(path string) *pair {
		var ann, bob *lanNode
		var annAgent, bobAgent *keysAgent
		switch path {
		case "loopback":
			ann, bob = w.node(b, "ann", lo), w.node(b, "bob", lo)
			annAgent = startKeysAgent(b, ann, "/ip4/127.0.0.1/tcp/0")
			bobAgent = startKeysAgent(b, bob, "/ip4/127.0.0.1/tcp/0")
		default:
			ha, hb := pa, pb
			if path == "relayed" {
				ha, hb = sa, sb
			}
			ann, bob = w.node(b, "ann", ha), w.node(b, "bob", hb)
			listen := func(h *netns.Host) []string {
				ip := h.Addr.String()
				return []string{"/ip4/" + ip + "/tcp/4747", "/ip4/" + ip + "/udp/4747/quic-v1"}
			}
			annAgent = startKeysAgent(b, ann, listen(ha)...)
			bobAgent = startKeysAgent(b, bob, listen(hb)...)
			for _, n := range []*lanNode{ann, bob} {
				w.meet(b, n)
				n.waitCircuit()
			}
		}
		url := sharePair(b, ann, bob, "Keystrokes")
		annID := ann.peerID()
		want := map[string]string{"loopback": "direct (", "direct": "direct (", "relayed": "relayed via " + relayUser}[path]
		waitFor(b, natDirectWithin, "bob's path to ann: "+want, func() bool { return strings.Contains(bob.peerLine(url, annID), want) })
		if path == "direct" {
			// Settled: the relayed connection the join went through is
			// closed a few seconds after the upgrade, taking the sync
			// stream with it if still there; measure after that.
			waitFor(b, natSyncWithin, "rita relaying no connection and bob directly connected to ann", func() bool {
				out, err := w.relay.run("relay")
				line := bob.peerLine(url, annID)
				return err == nil && !strings.Contains(out, "relayed connection") && strings.Contains(line, "connected, ") && strings.Contains(line, want)
			})
		}
		b.Logf("%s: bob sees %s", path, strings.Join(strings.Fields(bob.peerLine(url, annID)), " "))
		p := &pair{ann: annAgent, bob: bobAgent, bobNode: bob, url: url, annID: annID, want: want}
		p.length = annAgent.open(url)
		if n := bobAgent.open(url); n != p.length {
			b.Fatalf("ann's text is %d long, bob's %d", p.length, n)
		}
		return p
	}
	paths := []string{"loopback", "direct", "relayed"}
	pairs := map[string]*pair{}
	for _, path := range paths {
		pairs[path] = setUp(path)
	}
	for _, path := range paths {
		b.Run(path, func(b *testing.B) {
			b.StopTimer()
			p := pairs[path]
			p.ann.t, p.bob.t, p.bobNode.t = b, b, b
			lat := make([]time.Duration, 0, b.N)
			for range b.N {
				typed := p.ann.typeKey()
				p.length++
				lat = append(lat, p.bob.waitLength(p.length, 10*time.Second).Sub(typed))
				time.Sleep(20 * time.Millisecond)
			}
			if line := p.bobNode.peerLine(p.url, p.annID); !strings.Contains(line, p.want) {
				b.Fatalf("the path changed while measuring %s: bob sees %q", path, line)
			}
			b.ReportMetric(pct(lat, 0.50), "p50-ms")
			b.ReportMetric(pct(lat, 0.99), "p99-ms")
			b.ReportMetric(0, "ns/op")
		})
	}
}
