package engine

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/internal/testkit"
	"github.com/collab-editor/collab/notebook"
	"github.com/collab-editor/collab/p2p"
	"github.com/collab-editor/collab/sync/wire"
)

// logBuf collects log lines of one peer; tests read them and, with -v,
// see them.
type logBuf struct {
	tb   testing.TB
	name string
	done atomic.Bool
	mu   sync.Mutex
	buf  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.buf.Write(p)
	l.mu.Unlock()
	if testing.Verbose() && !l.done.Load() {
		l.tb.Logf("[%s] %s", l.name, strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

// tail is the last n lines logged.
func (l *logBuf) tail(n int) string {
	lines := strings.Split(strings.TrimRight(l.String(), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func loopbackOnly(a ma.Multiaddr) bool {
	ip, err := manet.ToIP(a)
	return err == nil && ip.IsLoopback()
}

// testPeer is one collab peer on loopback: host, notebook, engine.
type testPeer struct {
	tb   testing.TB
	name string
	dir  string
	key  crypto.PrivKey
	cfg  func(*Config)
	logs *logBuf
	// sent, if set before start, sees every frame the engine writes.
	sent func(to peer.ID, m wire.Message, size int)
	// dialOK, if set, is asked before every dial the host makes (after
	// the loopback check): a test cuts a peer off the network with it.
	dialOK atomic.Pointer[func(ma.Multiaddr) bool]
	// dialing, if set before start, sees every address the host is about
	// to dial (what the connection gater is asked about).
	dialing func(ma.Multiaddr)
	// listen, if set before start, is the address to listen on (a fixed
	// port, to come back where a ticket says); default a free port.
	listen string
	// hostCfg, if set before start, adjusts the host's configuration
	// (relays, reachability).
	hostCfg func(*p2p.Config)

	host   *p2p.Host
	nb     *notebook.Notebook
	eng    *Engine
	cancel context.CancelFunc
	done   chan error
}

func newKey(tb testing.TB) crypto.PrivKey {
	k, _, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// newPeer starts a peer with a fresh notebook; it is stopped at cleanup.
func newPeer(tb testing.TB, name string, cfg ...func(*Config)) *testPeer {
	tb.Helper()
	p := &testPeer{tb: tb, name: name, dir: tb.TempDir(), key: newKey(tb)}
	p.logs = &logBuf{tb: tb, name: name}
	if len(cfg) > 0 {
		p.cfg = cfg[0]
	}
	p.start()
	tb.Cleanup(func() {
		p.stop()
		p.logs.done.Store(true)
		// A failure under CI load is seldom reproduced by hand: keep the
		// peer's last lines with it (with -v they were shown already).
		if tb.Failed() && !testing.Verbose() {
			tb.Logf("[%s] last log lines:\n%s", name, p.logs.tail(40))
		}
	})
	return p
}

func (p *testPeer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(p.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// start (re)starts host and engine on the peer's notebook and identity.
func (p *testPeer) start() {
	tb := p.tb
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// As in cmd/collab: the host trusts the engine's known peers.
	var known atomic.Pointer[Engine]
	listen := "/ip4/127.0.0.1/tcp/0"
	if p.listen != "" {
		listen = p.listen
	}
	hcfg := p2p.Config{
		Identity:    p.key,
		ListenAddrs: []string{listen},
		MDNS:        false,
		DialFilter: func(a ma.Multiaddr) bool {
			if p.dialing != nil {
				p.dialing(a)
			}
			ok := p.dialOK.Load()
			return loopbackOnly(a) && (ok == nil || (*ok)(a))
		},
		Logger: p.logger().With("layer", "p2p"),
		Trusted: func(id peer.ID) bool {
			e := known.Load()
			return e != nil && e.IsKnownPeer(id)
		},
	}
	if p.hostCfg != nil {
		p.hostCfg(&hcfg)
	}
	h, err := p2p.New(ctx, hcfg)
	if err != nil {
		tb.Fatalf("%s: host: %v", p.name, err)
	}
	nb, err := notebook.Open(p.dir, p.name)
	if err != nil {
		tb.Fatal(err)
	}
	cfg := Config{Host: h, Notebook: nb, Name: p.name, Color: "#112233", Logger: p.logger()}
	if p.cfg != nil {
		p.cfg(&cfg)
	}
	eng, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	eng.testSent = p.sent
	known.Store(eng)
	p.host, p.nb, p.eng = h, nb, eng
	rctx, rcancel := context.WithCancel(context.Background())
	p.cancel = rcancel
	p.done = make(chan error, 1)
	go func() { p.done <- eng.Run(rctx) }()
	select {
	case <-eng.Ready():
	case err := <-p.done:
		p.done <- err // for stop
		tb.Fatalf("%s: Run returned at once: %v", p.name, err)
	case <-time.After(5 * time.Second):
		tb.Fatalf("%s: engine not running after 5 s", p.name)
	}
}

// stop stops the engine (bounded) and the host; safe to call twice.
func (p *testPeer) stop() {
	if p.cancel == nil {
		return
	}
	p.cancel()
	select {
	case err := <-p.done:
		if err != nil {
			p.tb.Errorf("%s: Run: %v", p.name, err)
		}
	case <-time.After(30 * time.Second):
		p.tb.Errorf("%s: Run did not return within 30 s", p.name)
	}
	p.host.Close()
	p.cancel = nil
}

// addr is the peer's dialable address with /p2p/.
func (p *testPeer) addr() ma.Multiaddr {
	addrs := p.host.LibP2P().Addrs()
	if len(addrs) == 0 {
		p.tb.Fatal("no listen address")
	}
	a, err := ma.NewMultiaddr(fmt.Sprintf("%s/p2p/%s", addrs[0], p.host.ID()))
	if err != nil {
		p.tb.Fatal(err)
	}
	return a
}

// create makes a note with text and returns its ID.
func (p *testPeer) create(title, text string) crdt.DocumentID {
	p.tb.Helper()
	n, err := p.nb.Create(title)
	if err != nil {
		p.tb.Fatal(err)
	}
	id := n.ID
	if err := n.Close(); err != nil {
		p.tb.Fatal(err)
	}
	if text != "" {
		p.edit(id, 0, 0, text)
	}
	return id
}

func (p *testPeer) note(id crdt.DocumentID) *notebook.Note {
	p.tb.Helper()
	n, err := p.eng.Open(id)
	if err != nil {
		p.tb.Fatalf("%s: open %s: %v", p.name, id, err)
	}
	return n
}

// edit splices the note and flushes (durable, pushed).
func (p *testPeer) edit(id crdt.DocumentID, pos, del int, ins string) {
	p.tb.Helper()
	n := p.note(id)
	if err := n.Splice(pos, del, ins); err != nil {
		p.tb.Fatalf("%s: splice: %v", p.name, err)
	}
	if _, err := n.Flush(); err != nil {
		p.tb.Fatalf("%s: flush: %v", p.name, err)
	}
}

func (p *testPeer) text(id crdt.DocumentID) string {
	p.tb.Helper()
	s, err := p.note(id).Text()
	if err != nil {
		p.tb.Fatal(err)
	}
	return s
}

func (p *testPeer) join(id crdt.DocumentID, from ...*testPeer) error {
	var addrs []ma.Multiaddr
	for _, f := range from {
		addrs = append(addrs, f.addr())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return p.eng.Join(ctx, id, addrs)
}

func (p *testPeer) connectedTo(q *testPeer) bool {
	p.eng.mu.Lock()
	defer p.eng.mu.Unlock()
	c := p.eng.conns[q.host.ID()]
	return c != nil && !c.isClosed()
}

func waitFor(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	testkit.WaitFor(tb, timeout, what, cond)
}

// waitText waits until every peer's copy of id reads want.
func waitText(tb testing.TB, id crdt.DocumentID, want string, peers ...*testPeer) {
	tb.Helper()
	waitFor(tb, 20*time.Second, fmt.Sprintf("text %q everywhere", want), func() bool {
		for _, p := range peers {
			if p.text(id) != want {
				return false
			}
		}
		return true
	})
}

// waitSame waits until every peer's copy of id reads the same, and returns it.
func waitSame(tb testing.TB, id crdt.DocumentID, peers ...*testPeer) string {
	tb.Helper()
	var text string
	waitFor(tb, 20*time.Second, "texts to converge", func() bool {
		text = peers[0].text(id)
		for _, p := range peers[1:] {
			if p.text(id) != text {
				return false
			}
		}
		return true
	})
	return text
}

// rawPeer speaks the wire protocol by hand over its own libp2p host, to
// misbehave on purpose.
type rawPeer struct {
	tb   testing.TB
	host *p2p.Host
	s    network.Stream
	fr   *wire.FrameReader
	fw   *wire.FrameWriter
	id   string
}

func dialRaw(tb testing.TB, to *testPeer) *rawPeer {
	tb.Helper()
	r, err := tryDialRaw(tb, to, newKey(tb))
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// tryDialRaw is dialRaw as the identity key; a failure to connect or to
// open the stream is returned.
func tryDialRaw(tb testing.TB, to *testPeer, key crypto.PrivKey) (*rawPeer, error) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	h, err := p2p.New(ctx, p2p.Config{Identity: key, ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"}, DialFilter: loopbackOnly})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { h.Close() })
	if _, err := h.Connect(ctx, to.addr()); err != nil {
		return nil, err
	}
	s, err := h.LibP2P().NewStream(ctx, to.host.ID(), wire.ProtocolID)
	if err != nil {
		return nil, err
	}
	return &rawPeer{tb: tb, host: h, s: s, fr: wire.NewFrameReader(s), fw: wire.NewFrameWriter(s), id: h.ID().String()}, nil
}

// handshake sends a proper join, listing the collab extensions exts, and
// reads the peer reply.
func (r *rawPeer) handshake(to *testPeer, exts ...string) {
	r.tb.Helper()
	r.send(&wire.Join{SenderID: r.id, SupportedProtocolVersions: []string{"1"}, PeerMetadata: wire.PeerMetadata{Extensions: exts}})
	m, err := r.read(5 * time.Second)
	if err != nil {
		r.tb.Fatalf("handshake: %v", err)
	}
	if p, ok := m.(*wire.Peer); !ok || p.SenderID != to.eng.self {
		r.tb.Fatalf("handshake reply %#v", m)
	}
}

// firstSyncMessage is the first sync message of a peer that has nothing
// of a note: what asks for it.
func firstSyncMessage(tb testing.TB) []byte {
	tb.Helper()
	empty, _, err := crdt.Load(nil, nil, "")
	if err != nil {
		tb.Fatal(err)
	}
	defer empty.Close()
	first, _, err := empty.GenerateSyncMessage(empty.NewSyncState())
	if err != nil {
		tb.Fatal(err)
	}
	return first
}

func (r *rawPeer) send(m wire.Message) {
	r.tb.Helper()
	if err := r.fw.WriteMessage(m); err != nil {
		r.tb.Fatalf("send %s: %v", m.Type(), err)
	}
}

func (r *rawPeer) read(timeout time.Duration) (wire.Message, error) {
	r.s.SetReadDeadline(time.Now().Add(timeout))
	return r.fr.ReadMessage()
}

// waitClosed reads until the stream ends; it fails if it stays open.
func (r *rawPeer) waitClosed(timeout time.Duration) {
	r.tb.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		_, err := r.read(time.Until(deadline))
		if err == nil {
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			break
		}
		return // closed or reset
	}
	r.tb.Fatalf("stream still open after %v", timeout)
}
