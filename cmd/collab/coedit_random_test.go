package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	ma "github.com/multiformats/go-multiaddr"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/internal/testkit"
	"github.com/collab-editor/collab/notebook"
	"github.com/collab-editor/collab/tui"
)

var (
	coeditSeeds  = flag.Int("coedit.seeds", 2, "seeds of TestCoEditingRandomised, per mode")
	coeditRounds = flag.Int("coedit.rounds", 200, "keystrokes (and deliveries) per seed")
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

	// On the shared line (shared mode): where everyone types at its end.
	onShared bool
	shared   []rune // every character they typed there, in order
	visit    int    // characters typed there since they last came to it
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
// moments, each app hearing of the others' changes after random delays (so
// keystrokes are often made against a text the note no longer has, and the
// note rebases them). After quiescence every copy is equal, each line holds
// exactly what its typist typed (every character in order: no word split
// or moved), and every cursor is where its owner left it.
//
// In shared mode the peers also go to one shared line now and then and type
// at its end at once (the same place, so ties and interleaving), while a
// third kind of writer appends lines with `collab append` to one peer's
// notebook. There every copy is equal, the own lines are still exact, each
// peer's characters on the shared line are in the order typed, and the
// appended lines follow in order.
func TestCoEditingRandomised(t *testing.T) {
	if *coeditPeers < 2 || *coeditPeers > 5 {
		t.Fatalf("-coedit.peers %d: want 2 to 5", *coeditPeers)
	}
	for _, mode := range []string{"own", "shared"} {
		for seed := range uint64(*coeditSeeds) {
			t.Run(fmt.Sprint(mode, "/", seed), func(t *testing.T) {
				coEditRun(t, seed, *coeditPeers, *coeditRounds, mode == "shared")
			})
		}
	}
}

// lockedRand is a seeded source for the app's notice delays, which are
// drawn on the goroutines that merge changes.
type lockedRand struct {
	mu sync.Mutex
	r  *rand.Rand
}

func (l *lockedRand) delay() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.r.IntN(4) == 0 {
		return 0
	}
	return time.Duration(l.r.IntN(60)) * time.Millisecond
}

func coEditRun(t *testing.T, seed uint64, n, rounds int, shared bool) {
	r := rand.New(rand.NewPCG(seed, 42))
	delays := &lockedRand{r: rand.New(rand.NewPCG(seed, 7))}
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
	if shared {
		lines = append(lines, "shared:")
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
		// Every connection goes through a proxy that delays what it
		// carries by 0–15 ms: changes arrive late and in bursts.
		var addrs []ma.Multiaddr
		for j, q := range ps[:i] {
			for _, a := range q.rt.host.Addrs() {
				tcp, rest := ma.SplitLast(a) // …/tcp/N, /p2p/ID
				proxy := newDelayProxy(t, tcp, seed*16+uint64(i*5+j), 15*time.Millisecond)
				addrs = append(addrs, proxy.Encapsulate(rest))
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := ps[i].rt.engine.Join(ctx, id, addrs)
		cancel()
		if err != nil {
			t.Fatalf("%s joins: %v", ps[i].name, err)
		}
	}
	for i, p := range ps {
		app := tui.New(p.nb, tui.Options{Network: p.net, Open: &id, NoticeDelay: delays.delay})
		// Wide enough that no line wraps: "down" then moves by lines.
		p.app = testkit.NewDriver(t, app, 1000, 24)
		p.app.Until(20*time.Second, p.name+"'s note to load", func() bool { _, c := p.state(); return c >= 0 })
		t.Cleanup(func() {
			// With the others still connected, collab asks once; the
			// quit key again confirms.
			p.app.Keys("ctrl+q", "ctrl+q")
			p.app.Until(20*time.Second, p.name+" quits", func() bool { return p.app.Quit })
			p.net.close() // ends the command that waits for network events
		})
		p.goToLine(i)
	}

	// The third writer: `collab append` on p1's notebook, as from another
	// shell, a line at a time until the typing stops.
	var appended []string
	stopAppend, appendDone := make(chan struct{}), make(chan struct{})
	if shared {
		go func() {
			defer close(appendDone)
			for k := 1; ; k++ {
				select {
				case <-stopAppend:
					return
				case <-time.After(time.Duration(10+r2(seed, k)) * time.Millisecond):
				}
				line := fmt.Sprintf("z%d", k)
				var out, errOut bytes.Buffer
				if code := run([]string{"append", "--home", ps[1].nb.Dir(), id.String(), line}, &env{stdout: &out, stderr: &errOut, name: "cli"}); code != 0 {
					t.Errorf("collab append: exit %d: %s", code, errOut.String())
					return
				}
				appended = append(appended, line)
			}
		}()
	} else {
		close(appendDone)
	}
	stopAppending := func() {
		select {
		case <-stopAppend:
		default:
			close(stopAppend)
		}
		<-appendDone
	}
	t.Cleanup(stopAppending)

	for k := range rounds {
		p := ps[r.IntN(n)]
		if shared && r.IntN(12) == 0 { // to the shared line or back
			if p.onShared {
				p.goToLine(p.index(ps))
				p.onShared, p.cur, p.last = false, len(p.line), len(p.line)-1
			} else {
				p.goToLine(n)
				p.onShared, p.visit = true, 0
			}
			continue
		}
		a := r.IntN(20)
		if p.onShared {
			switch {
			case a < 9: // type at the shared place (no spaces: each alphabet is its own)
				ch := p.alpha[r.IntN(len(p.alpha)-2)]
				p.app.Keys("type:" + string(ch))
				p.shared = append(p.shared, ch)
				p.visit++
				continue
			case a < 11: // backspace over what they just typed there
				if p.visit > 0 {
					p.app.Keys("backspace")
					p.shared = p.shared[:len(p.shared)-1]
					p.visit--
				}
				continue
			case a < 13:
				continue // no moving about: the shared place is its end
			}
		}
		switch {
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
		case a < 16: // the app sees some of what arrived
			p.app.Step(r.IntN(4))
		default: // time passes: changes travel, notices come late
			time.Sleep(time.Duration(r.IntN(50)) * time.Millisecond)
		}
		if k%50 == 0 && !p.onShared {
			checkOwnLine(t, p, k)
		}
	}
	stopAppending()
	if shared {
		var counts []string
		for _, p := range ps {
			counts = append(counts, fmt.Sprintf("%s %d", p.name, len(p.shared)))
		}
		t.Logf("typed on the shared line: %s; appended %d lines", strings.Join(counts, ", "), len(appended))
	}

	// Quiescence: every app catches up, every copy equal.
	var want strings.Builder
	for _, p := range ps {
		want.WriteString(p.name + ":" + string(p.line) + "\n")
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		equal := true
		var first string
		for i, p := range ps {
			p.app.Settle(30 * time.Millisecond)
			text, _ := p.state()
			nt, _ := p.rt.engine.Open(id)
			doc, _ := nt.Text()
			if i == 0 {
				first = doc
			}
			if shared {
				equal = equal && text == first && doc == first
			} else {
				equal = equal && text == want.String() && doc == want.String()
			}
		}
		if equal && shared {
			equal = checkShared(t, ps, first, want.String(), appended, time.Now().After(deadline))
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
		if p.onShared {
			// Right after the last character they typed there, if any.
			if p.visit > 0 {
				if rs := []rune(text); cursor < 1 || rs[cursor-1] != p.shared[len(p.shared)-1] {
					t.Errorf("%s's cursor at %d, not after the %q they last typed on the shared line", p.name, cursor, p.shared[len(p.shared)-1])
				}
			}
			continue
		}
		lineStart := strings.Index(text, p.name+":") + len(p.name) + 1
		if wantCur := len([]rune(text[:lineStart])) + p.cur; cursor != wantCur {
			t.Errorf("%s's cursor at %d, want %d (where they left it in their line)", p.name, cursor, wantCur)
		}
	}
}

// goToLine puts the cursor at the end of line i (lines do not wrap).
func (p *typist) goToLine(i int) {
	p.app.Keys("ctrl+home")
	for range i {
		p.app.Keys("down")
	}
	p.app.Keys("end")
}

func (p *typist) index(ps []*typist) int {
	for i, q := range ps {
		if q == p {
			return i
		}
	}
	return -1
}

// r2 is a small deterministic jitter for the appender (its own goroutine
// must not share the test's source).
func r2(seed uint64, k int) int { return int((seed*31 + uint64(k)*17) % 20) }

// checkShared checks a converged text in shared mode: the own lines as
// typed, then the shared line holding each peer's characters in the order
// they typed them, then the appended lines in order. With final set it
// fails the test; otherwise it reports whether the text is complete yet
// (appends may still be arriving).
func checkShared(t *testing.T, ps []*typist, text, own string, appended []string, final bool) bool {
	t.Helper()
	fail := func(format string, args ...any) bool {
		if final {
			t.Errorf(format, args...)
		}
		return false
	}
	rest, ok := strings.CutPrefix(text, own)
	if !ok {
		return fail("the own lines are not as typed:\n%s\nwant first:\n%s", text, own)
	}
	sharedLine, tail, _ := strings.Cut(rest, "\n")
	body, ok := strings.CutPrefix(sharedLine, "shared:")
	if !ok {
		return fail("no shared line after the own lines:\n%s", text)
	}
	for _, p := range ps {
		var mine []rune
		for _, c := range body {
			if strings.ContainsRune(string(p.alpha), c) {
				mine = append(mine, c)
			}
		}
		if string(mine) != string(p.shared) {
			return fail("%s's characters on the shared line read %q, typed %q (line %q)", p.name, string(mine), string(p.shared), body)
		}
	}
	if want := strings.Join(appended, "\n"); strings.TrimSuffix(tail, "\n") != want {
		return fail("appended lines %q, want %q", tail, want)
	}
	return true
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
