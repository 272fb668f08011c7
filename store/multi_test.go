package store

import (
	"errors"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// peer simulates one process: a NoteLog and the document built from it.
type peer struct {
	t     testing.TB
	l     *NoteLog
	d     *doc
	own   []string
	stale int // times this peer fell behind and reloaded
}

func (p *peer) load() {
	p.t.Helper()
	s, r, w, err := p.l.Load()
	if err != nil {
		p.t.Fatalf("%s: load: %v", p.d.name, err)
	}
	if len(w) != 0 {
		p.t.Errorf("%s: load warnings: %v", p.d.name, w)
	}
	p.d.load(s, r)
}

func (p *peer) append(rs ...string) error {
	others, err := p.l.Append(recs(rs...)...)
	if errors.Is(err, ErrStale) {
		p.stale++
		p.load()
		others, err = p.l.Append(recs(rs...)...)
	}
	if err != nil {
		return err
	}
	p.d.apply(strs(others)...)
	p.d.apply(rs...)
	p.own = append(p.own, rs...)
	return nil
}

func (p *peer) poll() error {
	got, err := p.l.Poll()
	if errors.Is(err, ErrStale) {
		p.stale++
		p.load()
		return nil
	}
	if err != nil {
		return err
	}
	p.d.apply(strs(got)...)
	return nil
}

func (p *peer) compact() error {
	save := func(unseen [][]byte) ([]byte, error) {
		p.d.apply(strs(unseen)...)
		return p.d.save(), nil
	}
	err := p.l.Compact(save)
	if errors.Is(err, ErrStale) {
		p.stale++
		p.load()
		err = p.l.Compact(save)
	}
	return err
}

// TestTwoLogsInterleaved drives two NoteLogs on one note (as two processes
// would) through random Append/Poll/Compact/reload sequences and checks that
// each sees every record exactly once.
func TestTwoLogsInterleaved(t *testing.T) {
	stale := 0
	defer func() { t.Logf("peers reloaded after ErrStale %d times", stale) }()
	for seed := int64(1); seed <= 12; seed++ {
		nb := newNotebook(t)
		first, err := nb.Create("shared")
		if err != nil {
			t.Fatal(err)
		}
		first.Close()
		rng := rand.New(rand.NewSource(seed))
		peers := make([]*peer, 2)
		for i := range peers {
			l, err := nb.OpenNote("shared")
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			peers[i] = &peer{t: t, l: l, d: newDoc(t, fmt.Sprintf("seed%d-peer%d", seed, i))}
			peers[i].load()
		}
		n := 0
		for step := 0; step < 300; step++ {
			p := peers[rng.Intn(2)]
			var err error
			switch op := rng.Intn(20); {
			case op < 10:
				var rs []string
				for k := rng.Intn(3) + 1; k > 0; k-- {
					rs = append(rs, fmt.Sprintf("%s-%d", p.d.name, n))
					n++
				}
				err = p.append(rs...)
			case op < 16:
				err = p.poll()
			case op < 19:
				err = p.compact()
			default:
				p.load()
			}
			if err != nil {
				t.Fatalf("seed %d step %d: %v", seed, step, err)
			}
		}
		for _, p := range peers {
			if err := p.poll(); err != nil {
				t.Fatal(err)
			}
		}
		stale += peers[0].stale + peers[1].stale
		a, b := string(peers[0].d.save()), string(peers[1].d.save())
		if a != b || len(peers[0].d.have) != n {
			t.Fatalf("seed %d: peers diverge or lost records: %d and %d records, %d written",
				seed, len(peers[0].d.have), len(peers[1].d.have), n)
		}
		fresh := &peer{t: t, l: must(nb.OpenNote("shared")), d: newDoc(t, "fresh")}
		fresh.load()
		fresh.l.Close()
		if string(fresh.d.save()) != a {
			t.Fatalf("seed %d: fresh load differs", seed)
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestConcurrentGoroutines hammers one NoteLog from several goroutines and a
// second NoteLog from another, under the race detector.
func TestConcurrentGoroutines(t *testing.T) {
	nb := newNotebook(t)
	a, _ := nb.Create("c")
	defer a.Close()
	b, _ := nb.OpenNote("c")
	defer b.Close()
	mustLoad(t, b)
	var mu sync.Mutex
	seen := map[string]int{}
	note := func(rs [][]byte) {
		mu.Lock()
		for _, r := range rs {
			seen[string(r)]++
		}
		mu.Unlock()
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				r := fmt.Sprintf("a%d-%d", g, i)
				others, err := a.Append([]byte(r))
				if err != nil {
					t.Error(err)
					return
				}
				note(others)
				note(recs(r))
				if i%10 == 0 {
					p, err := a.Poll()
					if err != nil {
						t.Error(err)
						return
					}
					note(p)
				}
			}
		}()
	}
	bseen := map[string]int{}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 100; i++ {
			r := fmt.Sprintf("b-%d", i)
			others, err := b.Append([]byte(r))
			if err != nil {
				t.Error(err)
				return
			}
			for _, o := range others {
				bseen[string(o)]++
			}
			bseen[r]++
			// Two compactions at most: a reader may lag that far and still
			// catch up record by record (further behind is ErrStale, which
			// callers handle by reloading; see the notebook package).
			if i%50 == 49 {
				if err := b.Compact(func(u [][]byte) ([]byte, error) {
					for _, o := range u {
						bseen[string(o)]++
					}
					return []byte("opaque"), nil
				}); err != nil {
					t.Error(err)
					return
				}
			}
		}
	}()
	wg.Wait()
	pa, err := a.Poll()
	if err != nil {
		t.Fatal(err)
	}
	note(pa)
	pb, err := b.Poll()
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range pb {
		bseen[string(o)]++
	}
	for name, m := range map[string]map[string]int{"a": seen, "b": bseen} {
		if len(m) != 300 {
			t.Errorf("%s saw %d distinct records, want 300", name, len(m))
		}
		for r, c := range m {
			if c != 1 {
				t.Errorf("%s saw %q %d times", name, r, c)
			}
		}
	}
}

const (
	childEnvDir = "COLLAB_STORE_TEST_CHILD_DIR"
	childEnvTag = "COLLAB_STORE_TEST_CHILD_TAG"
	perProcess  = 200
)

// appendWorker is what each process runs in TestTwoProcesses.
func appendWorker(t testing.TB, dir, tag string) *peer {
	nb, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	l, err := nb.OpenNote("shared")
	if err != nil {
		t.Fatal(err)
	}
	p := &peer{t: t, l: l, d: newDoc(t, tag)}
	p.load()
	// Start together: each announces itself and waits for the other.
	other := map[string]string{"parent": "child", "child": "parent"}[tag]
	if err := os.WriteFile(filepath.Join(dir, "ready-"+tag), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(time.Millisecond) {
		if _, err := os.Stat(filepath.Join(dir, "ready-"+other)); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s never started", tag, other)
		}
	}
	interleaved := 0
	for i := 0; i < perProcess; i++ {
		before := len(p.d.have)
		if err := p.append(fmt.Sprintf("%s-%03d", tag, i)); err != nil {
			t.Fatalf("%s: append %d: %v", tag, i, err)
		}
		var err error
		switch {
		case i%50 == 25:
			err = p.compact()
		case i%7 == 0:
			err = p.poll()
		}
		if err != nil {
			t.Fatalf("%s: step %d: %v", tag, i, err)
		}
		if len(p.d.have) > before+1 {
			interleaved++
		}
	}
	t.Logf("%s: received the other's records while appending in %d of %d steps (%d reloads)",
		tag, interleaved, perProcess, p.stale)
	return p
}

// TestHelperChildProcess is not a test: TestTwoProcesses runs it in a child
// process.
func TestHelperChildProcess(t *testing.T) {
	dir := os.Getenv(childEnvDir)
	if dir == "" {
		t.Skip("helper for TestTwoProcesses")
	}
	p := appendWorker(t, dir, os.Getenv(childEnvTag))
	p.l.Close()
}

func TestTwoProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	dir := filepath.Join(t.TempDir(), "home")
	nb, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	l, err := nb.Create("shared")
	if err != nil {
		t.Fatal(err)
	}
	l.Close()

	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperChildProcess$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), childEnvDir+"="+dir, childEnvTag+"=child")
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := appendWorker(t, dir, "parent")
	defer p.l.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("child: %v\n%s", err, out.String())
		}
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		t.Fatalf("child timed out\n%s", out.String())
	}
	// The child's -test.v output must show it actually ran.
	if !containsLine(out.String(), "--- PASS: TestHelperChildProcess") {
		t.Fatalf("child did not run the worker:\n%s", out.String())
	}
	t.Logf("child output:\n%s", out.String())
	if err := p.poll(); err != nil {
		t.Fatal(err)
	}
	check := func(name string, d *doc) {
		t.Helper()
		if len(d.have) != 2*perProcess {
			t.Errorf("%s has %d records, want %d", name, len(d.have), 2*perProcess)
		}
		for _, tag := range []string{"parent", "child"} {
			for i := 0; i < perProcess; i++ {
				if r := fmt.Sprintf("%s-%03d", tag, i); !d.have[r] {
					t.Errorf("%s lacks %s", name, r)
				}
			}
		}
	}
	check("parent", p.d)
	fresh := &peer{t: t, l: must(nb.OpenNote("shared")), d: newDoc(t, "fresh")}
	defer fresh.l.Close()
	fresh.load()
	check("fresh load", fresh.d)
}

type lockedBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.b = append(b.b, p...)
	return len(p), nil
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.b)
}

func containsLine(s, prefix string) bool {
	for len(s) > 0 {
		line := s
		if i := indexByte(s, '\n'); i >= 0 {
			line, s = s[:i], s[i+1:]
		} else {
			s = ""
		}
		if len(line) >= len(prefix) && line[:len(prefix)] == prefix {
			return true
		}
	}
	return false
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}
