package crdt

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// killWorker ends a note's worker from outside, as the OOM killer would.
func killWorker(t *testing.T, n *Note) {
	t.Helper()
	n.mu.Lock()
	w := n.proc.w
	n.mu.Unlock()
	if w == nil {
		t.Fatal("note has no worker")
	}
	if err := syscall.Kill(w.pid(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-w.exited
}

func TestTypingSurvivesWorkerDeath(t *testing.T) {
	n := mustNew(t, "t", "ann")
	defer n.Close()
	n.Splice(0, 0, "hello")
	if _, err := n.Commit(); err != nil {
		t.Fatal(err)
	}
	// Typing the worker has seen (sent with a request) and typing it has
	// not: both must survive.
	n.Splice(5, 0, " wor")
	if _, err := n.Heads(); err != nil { // sends the splice, commits it
		t.Fatal(err)
	}
	n.Splice(9, 0, "ld")
	n.SetTitle("renamed")
	n.HasChange(ChangeHash{}) // sends the edits, does not commit
	n.Splice(11, 0, "!")
	killWorker(t, n)
	if got := mustText(t, n); got != "hello world!" {
		t.Fatalf("after a worker death the text is %q", got)
	}
	if n.Title() != "renamed" {
		t.Fatalf("title %q", n.Title())
	}
	edits, _, _ := n.Pending()
	if edits != 3 {
		t.Fatalf("%d edits pending after restart, want 3 (ld, title, !)", edits)
	}
	cs, err := n.Commit()
	if err != nil || len(cs) != 2 {
		t.Fatalf("commit after restart: %d changes, %v", len(cs), err)
	}
	// What was committed before the death is still history, and a copy
	// made from the changes converges.
	killWorker(t, n)
	copyOf, _, err := Load(mustSave(t, n), nil, "bob")
	if err != nil {
		t.Fatal(err)
	}
	defer copyOf.Close()
	if got := mustText(t, copyOf); got != "hello world!" || copyOf.Title() != "renamed" {
		t.Fatalf("copy: %q %q", got, copyOf.Title())
	}
	h, _ := n.History()
	if len(h) != 4 { // create, hello, " wor", "ld"+title+"!"
		t.Fatalf("history has %d changes, want 4", len(h))
	}
}

func TestSyncStatesSurviveWorkerDeath(t *testing.T) {
	a := mustNew(t, "t", "ann")
	defer a.Close()
	a.Splice(0, 0, "from a")
	b, _, _ := Load(nil, nil, "bob")
	defer b.Close()
	syncPair(t, a, b, func(round int, _ []byte) {
		if round == 1 {
			killWorker(t, a)
			killWorker(t, b)
		}
	})
	if got := mustText(t, b); got != "from a" {
		t.Fatalf("b = %q after syncing across restarts", got)
	}
}

func TestWorkersEndWithTheirNote(t *testing.T) {
	var notes []*Note
	var workers []*worker
	for range 3 {
		n := mustNew(t, "t", "a")
		notes, workers = append(notes, n), append(workers, n.proc.w)
	}
	for _, n := range notes {
		n.Close()
	}
	for i, w := range workers {
		select {
		case <-w.exited:
		default:
			t.Fatalf("worker %d still runs after Close", i)
		}
	}
	if _, err := notes[0].Heads(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Heads after Close: %v", err)
	}
	// A note nobody closes ends its worker once it is garbage.
	w := func() *worker {
		n := mustNew(t, "forgotten", "a")
		n.Splice(0, 0, "x")
		return n.proc.w
	}()
	deadline := time.After(10 * time.Second)
	for {
		runtimeGC()
		select {
		case <-w.exited:
			return
		case <-deadline:
			t.Fatal("the worker of a garbage note still runs")
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func TestScratchDocumentsAreBounded(t *testing.T) {
	var held []*Note
	for range cap(scratchSlots) {
		n, err := NewScratch(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := NewScratch(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("scratch beyond the bound: %v", err)
	}
	held[0].Close()
	held[0].Close() // twice frees one slot only
	n, err := NewScratch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	if _, err := NewScratch(ctx2); err == nil {
		t.Fatal("closing one scratch document twice freed two slots")
	}
	n.Close()
	for _, h := range held[1:] {
		h.Close()
	}
}

// A document too big for the worker's memory limit ends the worker, not
// this process, and is rejected.
func TestMemoryLimitRejectsHugeDocument(t *testing.T) {
	big := mustNew(t, "big", "a")
	defer big.Close()
	line := strings.Repeat("all work and no play makes jack a dull boy ", 20) + "\n"
	for range 100 {
		big.Splice(big.Len(), 0, line)
	}
	data := mustSave(t, big)
	n := newNote("x", Limits{Memory: 4 << 20, Call: time.Minute, Load: time.Minute})
	n.snapshot = data
	n.mu.Lock()
	err := n.rebuildLocked()
	n.mu.Unlock()
	n.Close()
	var d *DeathError
	if !errors.Is(err, ErrRejected) || !errors.As(err, &d) {
		t.Fatalf("a %d-byte document in 4 MiB: %v", len(data), err)
	}
	t.Logf("%d-byte document: %v", len(data), err)
}

func TestDeadlineRejectsSlowInput(t *testing.T) {
	src := mustNew(t, "t", "a")
	defer src.Close()
	src.Splice(0, 0, strings.Repeat("slow to apply ", 5000))
	cs := commitBytes(t, src)
	n := newNote("x", Limits{Call: time.Microsecond, Load: time.Minute})
	defer n.Close()
	n.snapshot = mustSave(t, mustNew(t, "t", "b"))
	err := n.Apply(cs)
	if !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "no answer in time") {
		t.Fatalf("apply past its deadline: %v", err)
	}
}

func TestPanicTextIsSanitised(t *testing.T) {
	got := sanitizePanic("thread 'x' panicked at\n\t'\x1b]0;pwned\x07\x1b[2J\u202eevil'\x00\xff")
	if strings.ContainsAny(got, "\x1b\x07\x00\n\t\u202e") || !strings.HasPrefix(got, "thread 'x' panicked at '") {
		t.Fatalf("sanitised: %q", got)
	}
	b := &boundedBuffer{max: 10}
	b.Write([]byte("0123456789abcdef"))
	if b.String() != "0123456789" {
		t.Fatalf("bounded buffer kept %q", b.String())
	}
}

// A verified snapshot becomes the base a restart rebuilds from.
func TestSnapshotBecomesTheBase(t *testing.T) {
	n := mustNew(t, "t", "a")
	defer n.Close()
	n.Splice(0, 0, "before the snapshot")
	data, err := n.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	n.mu.Lock()
	kept := len(n.changes)
	n.mu.Unlock()
	if kept != 0 || len(data) == 0 {
		t.Fatalf("after Snapshot %d changes kept", kept)
	}
	n.Splice(0, 0, "after, ")
	killWorker(t, n)
	if got := mustText(t, n); got != "after, before the snapshot" {
		t.Fatalf("rebuilt from the snapshot: %q", got)
	}
	if err := verifySnapshot([]byte("not a document"), nil, nil, NoteLimits); !errors.Is(err, ErrBadSnapshot) {
		t.Fatalf("verifying garbage: %v", err)
	}
}

// The regression inputs: every input under testdata/aborts made the core
// abort once. Through the real path each comes back as ErrRejected with
// the note unchanged (Go's validation refuses most before any core sees
// them); sent straight to the worker, each kills it and still comes back
// as ErrRejected, with the core's panic text, the note unchanged: the two
// defences hold each on its own. The note works afterwards.
func TestAbortingInputsAreRejected(t *testing.T) {
	f := newFixture(t)
	defer f.note.Close()
	total, byValidation := 0, 0
	for _, target := range targets {
		names, inputs := readInputs(t, filepath.Join("testdata", "aborts", target))
		for i, in := range inputs {
			total++
			err := f.run(target, in)
			var d *DeathError
			if !errors.Is(err, ErrRejected) {
				t.Errorf("%s/%s: %v, want a rejection", target, names[i], err)
				continue
			}
			if !errors.As(err, &d) {
				byValidation++
			}
			if err := f.unchanged(); err != nil {
				t.Errorf("%s/%s: %v", target, names[i], err)
			}
			err = f.runAs(target, in, false)
			if !errors.Is(err, ErrRejected) || !errors.As(err, &d) {
				t.Errorf("%s/%s unchecked: %v, want the worker's death as a rejection", target, names[i], err)
				continue
			}
			// The core's last words: a panic, or an allocation past the
			// worker's memory limit.
			if !strings.Contains(d.Panic, "panicked") && !strings.Contains(d.Panic, "memory allocation") {
				t.Errorf("%s/%s: no panic text in %v", target, names[i], err)
			}
			if err := f.unchanged(); err != nil {
				t.Errorf("%s/%s unchecked: %v", target, names[i], err)
			}
		}
	}
	t.Logf("%d aborting inputs: %d refused by validation before the core, every one contained by the worker", total, byValidation)
	if total == 0 {
		t.Fatal("no regression inputs under testdata/aborts")
	}
	// Later operations work: splice, commit, sync to a fresh copy.
	if err := f.note.Splice(0, 0, "still editable "); err != nil {
		t.Fatal(err)
	}
	if _, err := f.note.Commit(); err != nil {
		t.Fatal(err)
	}
	peer, _, _ := Load(nil, nil, "peer")
	defer peer.Close()
	syncPair(t, f.note, peer, nil)
	if got, want := mustText(t, peer), "still editable "+f.text; got != want {
		t.Fatalf("peer got %q, want %q", got, want)
	}
}

// syncPair runs sync rounds between a and b until both are quiet; each, if
// not nil, sees every round and the message a sent in it (nil: none).
func syncPair(t testing.TB, a, b *Note, each func(round int, aToB []byte)) {
	t.Helper()
	sa, sb := a.NewSyncState(), b.NewSyncState()
	for round := range 20 {
		m1, ok1, err := a.GenerateSyncMessage(sa)
		if err != nil {
			t.Fatal(err)
		}
		if each != nil {
			each(round, m1)
		}
		if ok1 {
			if _, err := b.ReceiveSyncMessage(sb, m1); err != nil {
				t.Fatal(err)
			}
		}
		m2, ok2, err := b.GenerateSyncMessage(sb)
		if err != nil {
			t.Fatal(err)
		}
		if ok2 {
			if _, err := a.ReceiveSyncMessage(sa, m2); err != nil {
				t.Fatal(err)
			}
		}
		if !ok1 && !ok2 {
			return
		}
	}
	t.Fatal("sync did not settle in 20 rounds")
}

// A log holding a record the core aborts on opens, with a warning, and
// every other record applied.
func TestLoadSetsAsideAbortingRecords(t *testing.T) {
	_, bad := readInputs(t, filepath.Join("testdata", "aborts", "apply"))
	if len(bad) == 0 {
		t.Fatal("no aborting change under testdata/aborts/apply")
	}
	base := baseDocument(t)
	writer, _, err := Load(base, nil, "writer")
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close()
	writer.Splice(0, 0, "first ")
	first := commitBytes(t, writer)
	writer.Splice(0, 0, "second ")
	second := commitBytes(t, writer)
	want := mustText(t, writer)

	records := [][]byte{first, bad[0], second}
	if len(bad) > 1 {
		records = append(records, bad[1])
	}
	n, warnings, err := Load(base, records, "reader")
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	var rejected []*Rejected
	for _, w := range warnings {
		var r *Rejected
		if errors.As(w, &r) {
			rejected = append(rejected, r)
		}
	}
	if len(rejected) != len(records)-2 {
		t.Fatalf("warnings %v: want %d records set aside", warnings, len(records)-2)
	}
	for _, r := range rejected {
		if !errors.Is(r, ErrRejected) || r.Death == nil || string(r.Bytes) == string(first) || string(r.Bytes) == string(second) {
			t.Fatalf("set aside the wrong record: %v", r)
		}
	}
	if got := mustText(t, n); got != want {
		t.Fatalf("text %q, want %q", got, want)
	}
	n.Splice(0, 0, "and typing works ")
	if _, err := n.Commit(); err != nil {
		t.Fatal(err)
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	// No test may leave a worker behind.
	deadline := time.Now().Add(10 * time.Second)
	for liveWorkers.Load() > 0 && time.Now().Before(deadline) {
		runtimeGC()
		time.Sleep(20 * time.Millisecond)
	}
	if n := liveWorkers.Load(); n > 0 && code == 0 {
		os.Stderr.WriteString("workers outlived the tests\n")
		code = 1
	}
	os.Exit(code)
}

func runtimeGC() { runtime.GC() }

// BenchmarkIdleWorkerMemory reports what an idle worker holding a small
// note costs: resident and proportional set size (shared pages of the
// executable counted once across workers).
func BenchmarkIdleWorkerMemory(b *testing.B) {
	var rss, pss float64
	for b.Loop() {
		n, err := New("idle", "bench")
		if err != nil {
			b.Fatal(err)
		}
		n.Splice(0, 0, "a small note")
		n.Commit()
		r, p, err := workerMemory(n.proc.w.pid())
		if err != nil {
			b.Skipf("no /proc: %v", err)
		}
		rss, pss = rss+r, pss+p
		n.Close()
	}
	b.ReportMetric(rss/float64(b.N)/(1<<20), "rss-MiB")
	b.ReportMetric(pss/float64(b.N)/(1<<20), "pss-MiB")
}

func workerMemory(pid int) (rss, pss float64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "Rss:":
			rss = kb * 1024
		case "Pss:":
			pss = kb * 1024
		}
	}
	return rss, pss, nil
}

// A change accepted earlier that makes a later, trusted operation abort is
// found by bisection and set aside; the operation then succeeds and the
// user's typing is kept. No input found so far is accepted by Apply's
// read-back and aborts later (see BENCHMARKS.md), so the poisonous change
// is put among the accepted ones directly, as if the read-back had passed
// it: everything after that is the real path (real aborting bytes, real
// worker deaths, real bisection).
func TestTrustedOperationBisectsPoisonAway(t *testing.T) {
	_, bad := readInputs(t, filepath.Join("testdata", "aborts", "apply"))
	if len(bad) == 0 {
		t.Fatal("no aborting change under testdata/aborts/apply")
	}
	f := newFixture(t)
	n := f.note
	defer n.Close()
	var honest []string
	for i := range 6 {
		if i == 3 {
			n.mu.Lock()
			n.changes = append(n.changes, bad[0])
			n.mu.Unlock()
			continue
		}
		s := fmt.Sprintf("edit %d ", i)
		n.Splice(0, 0, s)
		if _, err := n.Commit(); err != nil {
			t.Fatal(err)
		}
		honest = append([]string{s}, honest...)
	}
	n.Splice(0, 0, "typing ")
	killWorker(t, n) // whatever ends it next, the rebuild meets the poison
	if _, err := n.Heads(); err != nil {
		t.Fatalf("heads after the poison: %v", err)
	}
	text, _ := n.Text()
	if want := "typing " + strings.Join(honest, "") + f.text; text != want {
		t.Fatalf("text %q, want %q", text, want)
	}
	set := n.SetAside()
	if len(set) != 1 || string(set[0].Bytes) != string(bad[0]) || !errors.Is(set[0], ErrRejected) ||
		!strings.Contains(set[0].Death.Panic, "panicked") {
		t.Fatalf("set aside %v, want the poisonous change with the core's panic", set)
	}
	if again := n.SetAside(); len(again) != 0 {
		t.Fatalf("SetAside reported twice: %v", again)
	}
	if _, err := n.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Snapshot(); err != nil {
		t.Fatalf("snapshot without the poison: %v", err)
	}
}

// An idle note hibernates: its worker ends, its text and heads stay, and the
// next request wakes it with nothing lost; a note with open edits refuses.
func TestHibernateEndsTheWorkerAndWakesOnUse(t *testing.T) {
	a := mustNew(t, "t", "ann")
	defer a.Close()
	a.Splice(0, 0, "typed before")
	if a.Hibernate() {
		t.Fatal("a note with an open edit hibernated")
	}
	if _, err := a.Commit(); err != nil {
		t.Fatal(err)
	}
	heads := a.LastHeads()
	if !a.Hibernate() || a.Awake() {
		t.Fatal("an idle note did not hibernate")
	}
	if got := mustText(t, a); got != "typed before" || !slices.Equal(a.LastHeads(), heads) {
		t.Fatalf("hibernating lost the text or heads: %q", got)
	}
	if got, ok := a.CommittedHeads(); !ok || !slices.Equal(got, heads) || a.Awake() {
		t.Fatalf("committed heads %v, %v (awake %v), want %v without waking", got, ok, a.Awake(), heads)
	}
	a.Splice(len("typed before"), 0, ", typed after")
	b, _, _ := Load(nil, nil, "bob")
	defer b.Close()
	syncPair(t, a, b, func(round int, _ []byte) {
		if round == 1 {
			a.Hibernate()
			b.Hibernate()
		}
	})
	for _, n := range []*Note{a, b} {
		if got := mustText(t, n); got != "typed before, typed after" {
			t.Fatalf("after hibernating mid-sync the text is %q", got)
		}
		// Known without a request, and what a request reads.
		committed, ok := n.CommittedHeads()
		read, err := n.Heads()
		if err != nil || !ok || !SameHeads(committed, read) {
			t.Fatalf("committed heads %v (%v), the worker's %v (%v)", committed, ok, read, err)
		}
	}
	if !a.Awake() {
		t.Fatal("use did not wake the note")
	}
}

// A note opened from what is known of it answers without a worker, and
// loads its document on first use; a stale known text is corrected then.
func TestLoadKnownStartsNoWorkerUntilUsed(t *testing.T) {
	a := mustNew(t, "known", "ann")
	defer a.Close()
	a.Splice(0, 0, "what the view says")
	if _, err := a.Commit(); err != nil {
		t.Fatal(err)
	}
	saved, err := a.Save()
	if err != nil {
		t.Fatal(err)
	}
	b := LoadKnown(saved, nil, "ann", Known{Title: "known", Text: "what the view says", Heads: a.LastHeads()})
	defer b.Close()
	if b.Awake() || mustText(t, b) != "what the view says" || b.Title() != "known" || !b.HasBody() {
		t.Fatalf("awake %v, text %q, title %q", b.Awake(), mustText(t, b), b.Title())
	}
	b.Splice(0, 0, "still ")
	if _, err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := mustText(t, b); got != "still what the view says" || !b.Awake() {
		t.Fatalf("after an edit: %q (awake %v)", got, b.Awake())
	}

	stale := LoadKnown(saved, nil, "ann", Known{Title: "known", Text: "an older text", Heads: a.LastHeads()})
	defer stale.Close()
	if _, err := stale.Heads(); err != nil {
		t.Fatal(err)
	}
	if got := mustText(t, stale); got != "what the view says" {
		t.Fatalf("a stale known text survived loading: %q", got)
	}
}

// Snapshot holds requests back only while it saves: changes applied while
// its verification runs stay in the note's rebuild recipe after the new
// base, so a worker that ends (hibernation) comes back with all of them.
// Seeded runs interleave the two differently.
func TestChangesDuringSnapshotSurviveARebuild(t *testing.T) {
	for seed := range uint64(4) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 7))
			a := mustNew(t, "t", "ann")
			defer a.Close()
			b, _, err := Load(nil, [][]byte{commitBytes(t, a)}, "bob")
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			// A history long enough that verifying takes a while.
			for i := range 200 {
				a.Splice(a.Len(), 0, fmt.Sprintf("a%03d ", i))
				if err := b.Apply(commitBytes(t, a)); err != nil {
					t.Fatal(err)
				}
			}
			want := mustText(t, a)
			done := make(chan error, 1)
			snapRng := rand.New(rand.NewPCG(seed, 8))
			go func() {
				for range 3 {
					if _, err := b.Snapshot(); err != nil {
						done <- err
						return
					}
					time.Sleep(time.Duration(snapRng.IntN(3)) * time.Millisecond)
				}
				done <- nil
			}()
			for i := range 60 {
				a.Splice(a.Len(), 0, fmt.Sprintf("b%02d ", i))
				if err := b.Apply(commitBytes(t, a)); err != nil {
					t.Fatal(err)
				}
				want = mustText(t, a)
				time.Sleep(time.Duration(rng.IntN(4)) * time.Millisecond)
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if !b.Hibernate() {
				t.Fatal("no hibernation")
			}
			if err := b.Wake(); err != nil {
				t.Fatal(err)
			}
			// Read what the worker rebuilt out of the recipe holds, not
			// Go's copy of the text.
			data, err := b.Save()
			if err != nil {
				t.Fatal(err)
			}
			c, _, err := Load(data, nil, "cem")
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if got := mustText(t, c); got != want {
				t.Fatalf("after a rebuild: %d bytes, want %d", len(got), len(want))
			}
		})
	}
}

// An idle note keeps its text packed (a string, not runes): it reads the
// same through every accessor, multi-byte runes included, and an edit or a
// merge after hibernating works on the unpacked text.
func TestPackedTextReadsTheSame(t *testing.T) {
	const text = "héllo wörld 😀 — ünïcode\nsecond line"
	a := mustNew(t, "t", "ann")
	defer a.Close()
	a.Splice(0, 0, text)
	if _, err := a.Commit(); err != nil {
		t.Fatal(err)
	}
	runes := []rune(text)
	check := func(when string) {
		t.Helper()
		if got := mustText(t, a); got != string(runes) {
			t.Fatalf("%s: text %q", when, got)
		}
		if a.Len() != len(runes) {
			t.Fatalf("%s: len %d, want %d", when, a.Len(), len(runes))
		}
		for _, w := range [][2]int{{0, 3}, {4, 14}, {12, 13}, {len(runes) - 4, len(runes) + 5}, {-2, 1}, {9, 2}} {
			got, total := a.TextWindow(w[0], w[1])
			s, e := max(0, min(w[0], len(runes))), max(0, min(w[1], len(runes)))
			e = max(e, s)
			if string(got) != string(runes[s:e]) || total != len(runes) {
				t.Fatalf("%s: window %v = %q (%d), want %q", when, w, string(got), total, string(runes[s:e]))
			}
		}
		if got, _, err := a.ReadText(); err != nil || got != string(runes) {
			t.Fatalf("%s: ReadText %q %v", when, got, err)
		}
	}
	check("awake")
	if !a.Hibernate() {
		t.Fatal("no hibernation")
	}
	a.mu.Lock()
	packed := a.text.isPacked && a.text.buf == nil
	a.mu.Unlock()
	if !packed {
		t.Fatal("a hibernated note keeps its text as runes")
	}
	check("packed")
	// An edit after the 😀 (a rune of 4 bytes) lands by runes.
	a.Splice(13, 0, "!")
	runes = append(runes[:13], append([]rune("!"), runes[13:]...)...)
	if _, err := a.Commit(); err != nil {
		t.Fatal(err)
	}
	check("edited")
	saved, err := a.Save()
	if err != nil {
		t.Fatal(err)
	}
	b := LoadKnown(saved, nil, "bob", Known{Title: "t", Text: string(runes), Heads: a.LastHeads()})
	defer b.Close()
	b.Splice(b.Len(), 0, " end")
	if _, err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := mustText(t, b); got != string(runes)+" end" {
		t.Fatalf("an edit on a known (packed) note: %q", got)
	}
}

// A stored history that outgrows the worker's memory (each allocation
// small, the whole too large: a long history, not a crafted length) fails
// to load as ErrTooLong, and none of its changes is set aside: no one of
// them is to blame, and hiding one would hide what the user wrote.
func TestAHistoryTooLongForTheWorkerIsNotSetAside(t *testing.T) {
	long := mustNew(t, "long", "a")
	defer long.Close()
	var records [][]byte
	for i := range 400 {
		long.Splice(long.Len(), 0, strings.Repeat("x", 50)+"\n")
		cs, err := long.Commit()
		if err != nil {
			t.Fatal(err)
		}
		if i >= 200 {
			for _, c := range cs {
				records = append(records, c.Bytes)
			}
		}
	}
	data := mustSave(t, long)
	n := newNote("x", Limits{Memory: 12 << 20, Call: time.Minute, Load: time.Minute})
	n.snapshot, n.changes = data, records
	n.mu.Lock()
	err := n.rebuildLocked()
	n.mu.Unlock()
	n.Close()
	var d *DeathError
	if !errors.Is(err, ErrTooLong) || errors.Is(err, ErrRejected) || !errors.As(err, &d) || !d.Outgrown {
		t.Fatalf("a long history in 12 MiB: %v", err)
	}
	if len(n.setAside) > 0 || len(n.changes) != len(records) {
		t.Fatalf("%d changes set aside, %d of %d kept", len(n.setAside), len(n.changes), len(records))
	}
}

func TestGrewPast(t *testing.T) {
	for _, c := range []struct {
		last string
		want bool
	}{
		{"memory allocation of 548651664 bytes failed\n", true},
		{"memory allocation of 3355443200 bytes failed\n", false},
		{"thread 'main' panicked at 'index out of bounds'", false},
		{"memory allocation of lots bytes failed", false},
	} {
		if got := grewPast(c.last, 2<<30); got != c.want {
			t.Errorf("grewPast(%q) = %v, want %v", c.last, got, c.want)
		}
	}
}
