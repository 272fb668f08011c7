package interop

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// replyTimeout bounds how long a command may go unanswered beyond its own
// timeout before the helper gives up on the Node process.
const replyTimeout = 15 * time.Second

// nodeInterop returns this directory (where repo-peer.mjs lives), or skips the
// test when Node or the npm packages are missing. Under CI (CI non-empty) a
// missing prerequisite fails the test instead: .ci/run installs them.
func nodeInterop(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	missing := ""
	if _, err := exec.LookPath("node"); err != nil {
		missing = "node is not installed"
	} else {
		for _, pkg := range []string{"@automerge/automerge-repo", "libp2p", "@chainsafe/libp2p-noise", "@chainsafe/libp2p-yamux", "@libp2p/tcp", "it-length-prefixed"} {
			if _, err := os.Stat(filepath.Join(dir, "node_modules", filepath.FromSlash(pkg), "package.json")); err != nil {
				missing = fmt.Sprintf("interop/node_modules lacks %s: run 'npm ci' in interop/", pkg)
				break
			}
		}
	}
	if missing != "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("interop test cannot run under CI: %s", missing)
		}
		t.Skip(missing)
	}
	return dir
}

// nodeEvent is one line repo-peer.mjs prints. Which fields are set depends on
// Event (see README.md).
type nodeEvent struct {
	Event      string   `json:"event"`
	ID         int      `json:"id,omitempty"`
	Cmd        string   `json:"cmd,omitempty"`
	Error      string   `json:"error,omitempty"`
	PeerID     string   `json:"peerId,omitempty"`     // libp2p peer ID
	RepoPeerID string   `json:"repoPeerId,omitempty"` // automerge-repo senderId
	Addrs      []string `json:"addrs,omitempty"`
	URL        string   `json:"url,omitempty"`
	Title      string   `json:"title,omitempty"`
	Text       string   `json:"text,omitempty"`
	Ms         int64    `json:"ms,omitempty"` // how long a find took
}

// nodePeer is a running repo-peer.mjs: a JavaScript automerge-repo Repo on a
// js-libp2p host listening on 127.0.0.1. Its methods fail the test on errors,
// so call them from the test's goroutine.
type nodePeer struct {
	t          *testing.T
	PeerID     string   // libp2p peer ID
	RepoPeerID string   // the senderId the JS repo uses on the wire
	Addrs      []string // dialable, with /p2p/<PeerID>

	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr *lockedBuffer
	lines  chan nodeEvent // the ready line and replies; closed at exit
	nextID int

	mu            sync.Mutex
	notifications []nodeEvent // lines without an id (peer-connected, ...)
	closed        bool
}

// startNodePeer starts repo-peer.mjs with args (e.g. "--announce=none"),
// waits for it to be ready and stops it when the test ends. Its stderr is
// logged if the test fails (set COLLAB_INTEROP_TRACE=1 to log every message).
func startNodePeer(t *testing.T, args ...string) *nodePeer {
	t.Helper()
	dir := nodeInterop(t)
	p := &nodePeer{
		t:      t,
		stderr: &lockedBuffer{},
		lines:  make(chan nodeEvent, 64),
	}
	p.cmd = exec.Command("node", append([]string{filepath.Join(dir, "repo-peer.mjs")}, args...)...)
	p.cmd.Dir = dir
	p.cmd.Stderr = p.stderr
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start repo-peer.mjs: %v", err)
	}
	go p.read(stdout)
	t.Cleanup(func() {
		p.Close()
		if t.Failed() {
			t.Logf("repo-peer.mjs stderr:\n%s", p.stderr.String())
		}
	})

	select {
	case ev, ok := <-p.lines:
		if !ok || ev.Event != "ready" {
			t.Fatalf("repo-peer.mjs did not start (first line %+v)\nstderr:\n%s", ev, p.stderr.String())
		}
		p.PeerID, p.RepoPeerID, p.Addrs = ev.PeerID, ev.RepoPeerID, ev.Addrs
	case <-time.After(30 * time.Second):
		t.Fatalf("repo-peer.mjs not ready after 30 s\nstderr:\n%s", p.stderr.String())
	}
	return p
}

// read turns stdout lines into events: the ready line and replies go to
// p.lines, notifications are kept.
func (p *nodePeer) read(stdout io.Reader) {
	defer close(p.lines)
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), 256<<20) // texts can be long
	for sc.Scan() {
		var ev nodeEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			fmt.Fprintf(p.stderr, "[go helper] unparsable stdout line %q: %v\n", sc.Text(), err)
			continue
		}
		if ev.ID == 0 && ev.Event != "ready" && ev.Event != "bye" {
			p.mu.Lock()
			p.notifications = append(p.notifications, ev)
			p.mu.Unlock()
			continue
		}
		p.lines <- ev
	}
}

// Do sends one command (the keys of cmd, e.g. {"cmd":"text","url":...}) and
// returns its reply, waiting at most wait + replyTimeout. An "error" reply
// fails the test.
func (p *nodePeer) Do(cmd map[string]any, wait time.Duration) nodeEvent {
	p.t.Helper()
	ev := p.Try(cmd, wait)
	if ev.Event == "error" {
		p.t.Fatalf("repo-peer.mjs %v: %s", cmd, ev.Error)
	}
	return ev
}

// Try is Do, but returns an "error" reply (Event "error", Error the
// message) instead of failing the test.
func (p *nodePeer) Try(cmd map[string]any, wait time.Duration) nodeEvent {
	p.t.Helper()
	p.nextID++
	id := p.nextID
	msg := map[string]any{"id": id}
	for k, v := range cmd {
		msg[k] = v
	}
	line, err := json.Marshal(msg)
	if err != nil {
		p.t.Fatal(err)
	}
	if _, err := p.stdin.Write(append(line, '\n')); err != nil {
		p.t.Fatalf("repo-peer.mjs %s: write command: %v", cmd["cmd"], err)
	}
	deadline := time.After(wait + replyTimeout)
	for {
		select {
		case ev, ok := <-p.lines:
			if !ok {
				p.t.Fatalf("repo-peer.mjs exited before answering %s\nstderr:\n%s", line, p.stderr.String())
			}
			if ev.ID != id {
				continue // a late reply to an earlier command
			}
			return ev
		case <-deadline:
			p.t.Fatalf("repo-peer.mjs did not answer %s within %v", line, wait+replyTimeout)
		}
	}
}

// Dial connects to a libp2p peer at addr (loopback, with /p2p/<id>) and does
// the automerge-repo handshake; it returns the senderId the peer answered
// with in its peer message.
func (p *nodePeer) Dial(addr string) (repoPeerID string) {
	p.t.Helper()
	ev := p.Do(map[string]any{"cmd": "dial", "addr": addr}, 10*time.Second)
	if ev.Event != "dialed" {
		p.t.Fatalf("dial %s: %+v", addr, ev)
	}
	return ev.RepoPeerID
}

// Find asks the JS repo for a document (repo.find) and returns the outcome:
// Event "found" (with Title and Text), "unavailable" or "timeout"; Ms is how
// long it took.
func (p *nodePeer) Find(url string, timeout time.Duration) nodeEvent {
	p.t.Helper()
	return p.Do(map[string]any{"cmd": "find", "url": url, "timeoutMs": timeout.Milliseconds()}, timeout)
}

// Create makes a new document {title, text} in the JS repo (text as
// Automerge Text) and returns its URL. The repo announces it to connected
// peers (an unsolicited sync) unless started with --announce=none.
func (p *nodePeer) Create(title, text string) (url string) {
	p.t.Helper()
	ev := p.Do(map[string]any{"cmd": "create", "title": title, "text": text}, 5*time.Second)
	if ev.Event != "created" || ev.URL == "" {
		p.t.Fatalf("create: %+v", ev)
	}
	return ev.URL
}

// Splice deletes del and inserts text at pos in the document's text, both
// counted in Unicode code points as in collab, and returns the new text.
func (p *nodePeer) Splice(url string, pos, del int, text string) string {
	p.t.Helper()
	ev := p.Do(map[string]any{"cmd": "splice", "url": url, "pos": pos, "del": del, "text": text}, 5*time.Second)
	return ev.Text
}

// Text returns the document's current text.
func (p *nodePeer) Text(url string) string {
	p.t.Helper()
	return p.Do(map[string]any{"cmd": "text", "url": url}, 5*time.Second).Text
}

// WaitText waits until the document's text contains want and returns the
// text, or returns the text at the deadline with ok=false.
func (p *nodePeer) WaitText(url, want string, timeout time.Duration) (text string, ok bool) {
	p.t.Helper()
	ev := p.Do(map[string]any{"cmd": "wait", "url": url, "contains": want, "timeoutMs": timeout.Milliseconds()}, timeout)
	return ev.Text, ev.Event == "text"
}

// Notifications returns the unsolicited lines seen so far (peer-connected,
// peer-disconnected).
func (p *nodePeer) Notifications() []nodeEvent {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]nodeEvent(nil), p.notifications...)
}

// Close asks the peer to quit and waits for it (killing it after 5 s). It is
// safe to call more than once; startNodePeer's cleanup calls it.
func (p *nodePeer) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	p.mu.Unlock()

	_, _ = p.stdin.Write([]byte(`{"cmd":"quit"}` + "\n"))
	_ = p.stdin.Close()
	done := make(chan error, 1)
	go func() {
		for range p.lines { // drain so the reader can finish
		}
		done <- p.cmd.Wait()
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
}

// lockedBuffer collects a process's stderr.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.TrimRight(b.buf.String(), "\n")
}
