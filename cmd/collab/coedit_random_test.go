package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	ma "github.com/multiformats/go-multiaddr"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/internal/testkit"
	"github.com/collab-editor/collab/notebook"
	"github.com/collab-editor/collab/tui"
)

var (
	coeditSeeds  = flag.Int("coedit.seeds", 3, "seeds of TestCoEditingRandomised")
	coeditRounds = flag.Int("coedit.rounds", 300, "keystrokes (and deliveries) per seed")
	coeditPeers  = flag.Int("coedit.peers", 3, "peers typing at once (3–5)")
)

// typist is one person in the randomised test: a real peer (host, engine)
// on loopback, the real terminal app on their notebook, and what they
// expect of their own line, which nobody else touches.
type typist struct {
	name  string
	nb    *notebook.Notebook
	rt    *peerRuntime
	net   *netAdapter
	app   *testkit.Driver
	alpha []rune // the characters this typist types (no one else does)
	line  []rune // their line after "name:", as they typed it
	cur   int    // their cursor within line
	last  int    // what they typed last (index into line, -1: none)
}

func (p *typist) state() (string, int) {
	text, cursor, ok := p.app.Model.(*tui.App).EditorState()
	if !ok {
		return "", -1
	}
	return text, cursor
}

// Issue 7: 3–5 real peers (engines on loopback, one process), each typing
// inserts and deletes at its own cursor in the real terminal app, at random
// moments, each app seeing the others' changes after random delays. After
// quiescence every copy is equal, each line holds exactly what its typist
// typed (every character in order: no word split or moved), and every
// cursor is where its owner left it.
func TestCoEditingRandomised(t *testing.T) {
	if *coeditPeers < 2 || *coeditPeers > 5 {
		t.Fatalf("-coedit.peers %d: want 2 to 5", *coeditPeers)
	}
	for seed := range uint64(*coeditSeeds) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { coEditRun(t, seed, *coeditPeers, *coeditRounds) })
	}
}

func coEditRun(t *testing.T, seed uint64, n, rounds int) {
	r := rand.New(rand.NewPCG(seed, 42))
	alphabets := []string{"abcdefghij", "ABCDEFGHIJ", "αβγδεζηθικ", "абвгдежзий", "アイウエオカキクケコ"}
	var logs []*lockedWriter
	ps := make([]*typist, n)
	for i := range ps {
		name := fmt.Sprintf("p%d", i)
		nb, err := notebook.Open(t.TempDir(), name)
		if err != nil {
			t.Fatal(err)
		}
		lb := &lockedWriter{buf: &bytes.Buffer{}}
		logs = append(logs, lb)
		logger := slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelInfo}))
		rt, err := startPeer(context.Background(), nb, peerFlags{listen: multiFlag{"/ip4/127.0.0.1/tcp/0"}, logLevel: "info"}, logger)
		if err != nil {
			t.Fatal(err)
		}
		p := &typist{name: name, nb: nb, rt: rt, alpha: []rune(alphabets[i] + "  "), last: -1}
		p.net = newNetAdapter(rt)
		ps[i] = p
		t.Cleanup(func() {
			p.net.close()
			if err := rt.stop(); err != nil {
				t.Errorf("%s: stop: %v", name, err)
			}
		})
	}
	t.Cleanup(func() {
		if t.Failed() {
			for i, l := range logs {
				t.Logf("p%d's log:\n%s", i, l.String())
			}
		}
	})
	// p0 makes the note, one line per typist; the others join it from
	// everyone before them, so the peers form a mesh.
	var lines []string
	for _, p := range ps {
		lines = append(lines, p.name+":")
	}
	n0, err := ps[0].rt.engine.Open(mustCreate(t, ps[0].nb, "Standup"))
	if err != nil {
		t.Fatal(err)
	}
	id := n0.ID
	if err := n0.Splice(0, 0, strings.Join(lines, "\n")+"\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := n0.Flush(); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < n; i++ {
		var addrs []ma.Multiaddr
		for _, q := range ps[:i] {
			addrs = append(addrs, q.rt.host.Addrs()...)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := ps[i].rt.engine.Join(ctx, id, addrs)
		cancel()
		if err != nil {
			t.Fatalf("%s joins: %v", ps[i].name, err)
		}
	}
	for i, p := range ps {
		app := tui.New(p.nb, tui.Options{Network: p.net, Open: &id})
		p.app = testkit.NewDriver(t, app, 80, 24)
		p.app.Until(20*time.Second, p.name+"'s note to load", func() bool { _, c := p.state(); return c >= 0 })
		t.Cleanup(func() {
			// With the others still connected, collab asks once; the
			// quit key again confirms.
			p.app.Keys("ctrl+q", "ctrl+q")
			p.app.Until(20*time.Second, p.name+" quits", func() bool { return p.app.Quit })
		})
		p.app.Keys("ctrl+home")
		for range i {
			p.app.Keys("down")
		}
		p.app.Keys("end")
	}

	for k := range rounds {
		p := ps[r.IntN(n)]
		switch a := r.IntN(20); {
		case a < 9: // type a character at the cursor
			ch := p.alpha[r.IntN(len(p.alpha))]
			p.app.Keys("type:" + string(ch))
			p.line = append(p.line[:p.cur], append([]rune{ch}, p.line[p.cur:]...)...)
			p.last = p.cur
			p.cur++
		case a < 11: // backspace: their own text only
			if p.cur == 0 {
				continue
			}
			p.app.Keys("backspace")
			p.line = append(p.line[:p.cur-1], p.line[p.cur:]...)
			p.cur--
			p.last = p.cur - 1
		case a < 13: // move within their line
			if r.IntN(2) == 0 && p.cur > 0 {
				p.app.Keys("left")
				p.cur--
			} else if p.cur < len(p.line) {
				p.app.Keys("right")
				p.cur++
			}
		case a < 19: // the app sees some of what arrived
			p.app.Step(r.IntN(4))
		default: // time passes
			time.Sleep(time.Duration(r.IntN(3000)) * time.Microsecond)
		}
		if k%50 == 0 {
			checkOwnLine(t, p, k)
		}
	}

	// Quiescence: every app catches up, every copy equal.
	var want strings.Builder
	for _, p := range ps {
		want.WriteString(p.name + ":" + string(p.line) + "\n")
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		equal := true
		for _, p := range ps {
			p.app.Settle(30 * time.Millisecond)
			text, _ := p.state()
			nt, _ := p.rt.engine.Open(id)
			doc, _ := nt.Text()
			equal = equal && text == want.String() && doc == want.String()
		}
		if equal {
			break
		}
		if time.Now().After(deadline) {
			for _, p := range ps {
				text, _ := p.state()
				t.Logf("%s shows:\n%s", p.name, text)
			}
			t.Fatalf("copies did not converge to what each typed:\n%s", want.String())
		}
	}
	for _, p := range ps {
		text, cursor := p.state()
		lineStart := strings.Index(text, p.name+":") + len(p.name) + 1
		if wantCur := len([]rune(text[:lineStart])) + p.cur; cursor != wantCur {
			t.Errorf("%s's cursor at %d, want %d (where they left it in their line)", p.name, cursor, wantCur)
		}
	}
}

// checkOwnLine: what a typist sees of their own line is what they typed,
// whatever has arrived from others.
func checkOwnLine(t *testing.T, p *typist, k int) {
	t.Helper()
	text, cursor := p.state()
	start := strings.Index(text, p.name+":")
	if start < 0 {
		t.Fatalf("round %d: %s's line is gone:\n%s", k, p.name, text)
	}
	start += len(p.name) + 1
	end := strings.IndexByte(text[start:], '\n')
	if got := text[start : start+end]; got != string(p.line) {
		t.Fatalf("round %d: %s sees their line as %q, typed %q", k, p.name, got, string(p.line))
	}
	if want := len([]rune(text[:start])) + p.cur; cursor != want {
		t.Fatalf("round %d: %s's cursor at %d, want %d", k, p.name, cursor, want)
	}
}

func mustCreate(t *testing.T, nb *notebook.Notebook, title string) crdt.DocumentID {
	t.Helper()
	n, err := nb.Create(title)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	return n.ID
}
