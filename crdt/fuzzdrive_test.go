package crdt

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/automerge/automerge-go"

	"github.com/collab-editor/collab/crdt/amformat"
)

// TestFuzzCore is the throughput fuzzer of every untrusted entry point
// (apply, sync, load, merge, syncstate). One execution is one mutated
// input taken the way production takes it: the Go validation gate here, in
// the test process (the notebook-holding process of production); and, if
// the gate lets it through, the calls the worker makes for that entry point
// (core.handle, the worker's own code, read-backs included) in a child
// process running the real core, on a fresh copy of the base document,
// then, if the core took it, the operations a note runs next (save, a
// sync message) and the parent's own model fed what was taken.
// Inputs travel to the child in batches; a child that dies is respawned
// and the run goes on with the next input.
//
//	COLLAB_FUZZ_EXECS=10000000 COLLAB_FUZZ_SEED=1 COLLAB_FUZZ_TARGETS=apply,sync \
//	    go test -run '^TestFuzzCore$' -timeout 3h ./crdt
//
// Unset, it runs a few thousand executions per target (the harness tested
// in CI). COLLAB_FUZZ_REPORT=file appends one line of counts per target.
// Aborting inputs that reproduce through the real Note path are kept under
// testdata/aborts/<target>/ (at most fuzzKeepPerSite per panic site), where
// TestAbortingInputsAreRejected replays them; inputs the core took but a
// later operation aborted on under testdata/poison/<target>/.
func TestFuzzCore(t *testing.T) {
	execs := 3000
	if s := os.Getenv("COLLAB_FUZZ_EXECS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			t.Fatalf("COLLAB_FUZZ_EXECS=%q: want a positive count", s)
		}
		execs = n
	}
	seed := uint64(1)
	if s := os.Getenv("COLLAB_FUZZ_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("COLLAB_FUZZ_SEED=%q: %v", s, err)
		}
		seed = n
	}
	// A time budget per target stops a run short of its count, which the
	// report then says.
	var budget time.Duration
	if s := os.Getenv("COLLAB_FUZZ_BUDGET"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("COLLAB_FUZZ_BUDGET=%q: %v", s, err)
		}
		budget = d
	}
	want := targets
	if s := os.Getenv("COLLAB_FUZZ_TARGETS"); s != "" {
		want = strings.Split(s, ",")
	}
	base := baseDocument(t)
	corpus := fuzzCorpus(t)
	for _, target := range want {
		t.Run(target, func(t *testing.T) {
			pool := corpus[target]
			if len(pool) == 0 {
				t.Fatalf("no seeds for %q", target)
			}
			start := time.Now()
			st := runFuzz(t, target, seed, execs, budget, base, pool, corpus.all())
			elapsed := time.Since(start)
			line := fmt.Sprintf("%s seed=%d: %s in %v (%.0f execs/s; sweep %d of %d)", target, seed, st, elapsed.Round(time.Second),
				float64(st.execs)/elapsed.Seconds(), st.swept, sweepSize(pool))
			if st.execs < execs {
				line += fmt.Sprintf("; stopped by the %v budget before %d", budget, execs)
			}
			t.Log(line)
			if path := os.Getenv("COLLAB_FUZZ_REPORT"); path != "" {
				appendLine(t, path, line)
			}
			if st.parentPanics > 0 {
				t.Errorf("%s: %d inputs made the gate or the model panic in the notebook-holding process (kept under testdata/parent-panics/%s)",
					target, st.parentPanics, target)
			}
			if st.notReproduced > 0 {
				t.Errorf("%s: %d aborting inputs did not come back as rejections through the Note path", target, st.notReproduced)
			}
			if st.execs > execs || budget == 0 && st.execs != execs || st.rejected+st.reachedCore != st.execs {
				t.Errorf("%s: counts do not add up: %s", target, st)
			}
		})
	}
}

// fuzzKeepPerSite bounds the inputs kept per panic site, so the regression
// suite stays fast.
const fuzzKeepPerSite = 5

// fuzzBatch is how many gate-passing inputs go to the child at once.
const fuzzBatch = 256

// fuzzInputTimeout is how long the child may take over one input before
// it is ended as hung (the worker's Call limit, as production would).
var fuzzInputTimeout = NoteLimits.Call

type fuzzStats struct {
	execs, rejected, reachedCore int
	coreRefused, accepted        int // of reachedCore, the core said no / took it
	childAborts, postAborts      int // deaths on the input / on a later operation
	hangs                        int
	parentPanics                 int
	kept, notReproduced          int
	swept                        int // of execs, systematic sweep inputs
	sites                        map[string]int
	gateReasons                  map[string]int // why the gate rejected
}

func (s *fuzzStats) String() string {
	var sites []string
	for k, v := range s.sites {
		sites = append(sites, fmt.Sprintf("%s×%d", k, v))
	}
	sort.Strings(sites)
	var reasons []string
	for k, v := range s.gateReasons {
		reasons = append(reasons, fmt.Sprintf("%s×%d", k, v))
	}
	sort.Strings(reasons)
	return fmt.Sprintf("%d execs, %d gate-rejected [%s], %d reached the core (%d refused by it, %d taken), "+
		"%d child aborts on the input + %d on a later operation + %d hangs at sites [%s], %d parent panics, %d kept",
		s.execs, s.rejected, strings.Join(reasons, " "), s.reachedCore, s.coreRefused, s.accepted,
		s.childAborts, s.postAborts, s.hangs, strings.Join(sites, " "), s.parentPanics, s.kept)
}

func appendLine(t *testing.T, path, line string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fmt.Fprintf(f, "%s %s\n", time.Now().UTC().Format(time.RFC3339), line)
}

// fuzzGate is what production runs in the notebook-holding process on the
// bytes of target before any worker sees them (see Apply, Merge,
// ReceiveSyncMessage, LoadSyncState, Load): an error is a rejection.
// gate holds the base as production's note would (its model answers the
// sequence-number check; nothing is applied to it).
func fuzzGate(target string, in []byte, gate *Note) error {
	switch target {
	case "apply":
		if len(in) == 0 {
			return errEmptyInput
		}
		cs, err := checkedChanges(in)
		if err == nil {
			err = gate.checkSeqs(cs)
		}
		return err
	case "merge":
		return validateChanges(in)
	case "sync":
		m, err := checkedSyncMessage(in)
		if err == nil {
			err = gate.checkSeqs(m.Changes)
		}
		return err
	case "syncstate":
		// With the worker up (the note open) the bytes go to the core as
		// they are; plainSyncState is what decides when it is not.
		plainSyncState(in)
		return nil
	case "load":
		// Load builds the parent's model from the snapshot, then hands the
		// snapshot to a worker whatever the model made of it.
		buildModel(in, nil)
		return nil
	}
	panic("unknown target " + target)
}

var errEmptyInput = errors.New("empty input: nothing to apply")

func gateReason(err error) string {
	for _, r := range []struct {
		name string
		err  error
	}{
		{"checksum", amformat.ErrChecksum}, {"malformed", amformat.ErrMalformed},
		{"too-large", amformat.ErrTooLarge}, {"unsupported", amformat.ErrUnsupported},
		{"missing-deps", amformat.ErrMissingDeps}, {"duplicate-seq", amformat.ErrDuplicateSeq},
		{"conflict", amformat.ErrConflict}, {"empty", errEmptyInput}, {"seq-gap", ErrSeqGap},
	} {
		if errors.Is(err, r.err) {
			return r.name
		}
	}
	return "other"
}

// fuzzAbsorb is what the parent does with what the core took: feed its
// model the same changes (Note.merged), on a fresh model of the base.
func fuzzAbsorb(target string, base, in []byte, changes [][]byte) {
	switch target {
	case "apply":
		if m := buildModel(base, nil); m != nil {
			m.applyBytes(in)
		}
	case "sync", "merge":
		if m := buildModel(base, nil); m != nil {
			for _, c := range changes {
				if _, err := m.applyBytes(c); err != nil {
					break
				}
			}
		}
	}
}

// guarded runs fn, turning a Go panic into an error carrying its stack.
func guarded(fn func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
		}
	}()
	fn()
	return nil
}

func runFuzz(t *testing.T, target string, seed uint64, execs int, budget time.Duration, base []byte, pool, all [][]byte) *fuzzStats {
	// The inputs are small and short-lived: collect less often.
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	var stopAt time.Time
	if budget > 0 {
		stopAt = time.Now().Add(budget)
	}
	st := &fuzzStats{sites: map[string]int{}, gateReasons: map[string]int{}}
	mut := newMutator(seed, target, pool, all)
	t.Logf("%s: seed %d, %d seeds in the pool (%d bytes in all)", target, seed, len(pool), poolBytes(pool))
	gate, _, err := Load(base, nil, "gate")
	if err != nil {
		t.Fatal(err)
	}
	defer gate.Close()
	child, err := startFuzzChild(base)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { child.stop() }()
	keptPerSite := existingKeptPerSite(t, target) // by keptSite

	// The child works through one batch (inflight) while the next is made
	// and gated here.
	var inflight [][]byte
	collect := func() {
		for len(inflight) > 0 {
			results, death := child.receive(len(inflight))
			for i, r := range results {
				st.reachedCore++
				if !r.accepted {
					st.coreRefused++
					continue
				}
				st.accepted++
				in := inflight[i]
				if err := guarded(func() { fuzzAbsorb(target, base, in, r.changes) }); err != nil {
					st.parentPanics++
					t.Logf("%s: the model panicked in the parent: %v", target, err)
					saveInput(t, filepath.Join("testdata", "parent-panics", target), in)
				}
			}
			if death == nil {
				inflight = nil
				return
			}
			// inflight[len(results)] killed the child (or its later
			// operations did, if death.post).
			in := inflight[len(results)]
			st.reachedCore++
			site := death.site()
			st.sites[site]++
			switch {
			case death.hung:
				st.hangs++
			case death.post:
				st.postAborts++
				st.accepted++
			default:
				st.childAborts++
			}
			if keptPerSite[keptSite(site)] < fuzzKeepPerSite {
				if fuzzKeep(t, target, in, site, death) {
					keptPerSite[keptSite(site)]++
					st.kept++
				} else {
					st.notReproduced++
				}
			}
			inflight = inflight[len(results)+1:]
			if child, err = startFuzzChild(base); err != nil {
				t.Fatal(err)
			}
			child.send(target, inflight)
		}
	}
	pending := make([][]byte, 0, fuzzBatch)
	flush := func() {
		collect()
		inflight, pending = pending, make([][]byte, 0, fuzzBatch)
		child.send(target, inflight)
	}
	for i := range execs {
		if !stopAt.IsZero() && i%1024 == 0 && time.Now().After(stopAt) {
			break
		}
		in := mut.next()
		st.execs++
		var gateErr error
		if err := guarded(func() { gateErr = fuzzGate(target, in, gate) }); err != nil {
			st.parentPanics++
			st.rejected++ // production would have died here; counted, kept, failed
			t.Logf("%s: the gate panicked: %v", target, err)
			saveInput(t, filepath.Join("testdata", "parent-panics", target), in)
			continue
		}
		if gateErr != nil {
			st.rejected++
			st.gateReasons[gateReason(gateErr)]++
			continue
		}
		pending = append(pending, in)
		if len(pending) == fuzzBatch {
			flush()
		}
	}
	flush()
	collect()
	st.swept = mut.sweep.count
	return st
}

func poolBytes(pool [][]byte) int {
	n := 0
	for _, b := range pool {
		n += len(b)
	}
	return n
}

// fuzzKeep keeps an aborting input as a regression input once it is seen
// to come back as a rejection through the real Note path (an abort on the
// input), or to be set aside by the note that took it (an abort on a later
// operation). It reports whether the input was kept.
func fuzzKeep(t *testing.T, target string, in []byte, site string, d *fuzzDeath) bool {
	t.Helper()
	name := keptName(site, in)
	if d.hung {
		// Production ends a worker that takes longer than its limit: the
		// same outcome as an abort, but too slow to replay in the suite.
		saveNamed(t, filepath.Join("testdata", "hangs", target), name, in)
		return true
	}
	if d.post {
		saveNamed(t, filepath.Join("testdata", "poison", target), name, in)
		return true
	}
	if !abortsOnBase(t, target, in) {
		t.Logf("%s: input aborting at %s did not reproduce through the Note path: %x", target, site, in)
		saveNamed(t, filepath.Join("testdata", "unreproduced", target), name, in)
		return false
	}
	saveNamed(t, filepath.Join("testdata", "aborts", target), name, in)
	return true
}

// keptName names a kept input by its panic site and a hash of its bytes,
// so the kept inputs per site can be counted from the names.
func keptName(site string, in []byte) string {
	return keptSite(site) + "-" + inputHash(in)
}

// keptSite is site as a file name may hold it.
func keptSite(site string) string {
	var safe strings.Builder
	for _, r := range site {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' {
			safe.WriteRune(r)
		} else {
			safe.WriteByte('_')
		}
	}
	return safe.String()
}

func saveNamed(t *testing.T, dir, name string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// existingKeptPerSite counts the inputs already kept per site (from their
// names) so repeated runs do not grow the suite past the cap.
func existingKeptPerSite(t *testing.T, target string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, dir := range []string{"aborts", "poison", "hangs"} {
		names, _ := readInputs(t, filepath.Join("testdata", dir, target))
		for _, n := range names {
			if i := strings.LastIndex(n, "-"); i > 0 {
				out[n[:i]]++
			}
		}
	}
	return out
}

// The child: the test binary re-executed with fuzzChildEnv set. It reads
// the base document, then batches of inputs, and runs each through the
// worker's own request handling on a fresh copy of the base.

const fuzzChildEnv = "COLLAB_FUZZ_CHILD"

func init() {
	if os.Getenv(fuzzChildEnv) == "" {
		return
	}
	os.Exit(serveFuzzChild())
}

// fuzzActor is the actor the child's documents write as (a note's is
// random; a fixed one keeps runs reproducible).
const fuzzActor = "f00df00df00df00df00df00df00df00d"

const (
	fuzzTook    = 'T' // the core took the input; changes follow
	fuzzRefused = 'R' // the core returned an error
	fuzzLater   = 'L' // the operations after a taken input ran
)

func serveFuzzChild() int {
	if err := limitMemory(NoteLimits.Memory); err != nil {
		fmt.Fprintf(os.Stderr, "fuzz child: %v\n", err)
		return 2
	}
	in := bufio.NewReaderSize(os.Stdin, 1<<20)
	out := bufio.NewWriterSize(os.Stdout, 1<<16)
	baseBytes, err := readBlob(in)
	if err != nil {
		return 0
	}
	base, err := loadFuzzBase(baseBytes)
	if err != nil {
		fmt.Fprintf(os.Stderr, "fuzz child: %v\n", err)
		return 2
	}
	for {
		target, inputs, err := readBatch(in)
		if err != nil {
			return 0 // EOF: the parent is done
		}
		for _, input := range inputs {
			resp, c := fuzzCoreOp(target, base, input)
			took := resp.Err == nil && (target != "load" || resp.Body != bodyForeign)
			if !took {
				out.WriteByte(fuzzRefused)
				if out.Flush() != nil {
					return 0
				}
				continue
			}
			out.WriteByte(fuzzTook)
			writeUint32(out, uint32(len(resp.Changes)))
			for _, ch := range resp.Changes {
				writeBlob(out, ch.Bytes)
			}
			if out.Flush() != nil {
				return 0
			}
			// What a note does next with a document that took the input:
			// save it (a snapshot) and answer the peer (for sync and
			// syncstate, with the state the input left).
			c.handle(&request{Op: opSave})
			c.handle(&request{Op: opGenerateSync, State: 1})
			out.WriteByte(fuzzLater)
			if out.Flush() != nil {
				return 0
			}
		}
	}
}

// fuzzCoreOp runs one input through the worker's request handling as the
// Note would send it (sync states are id 1), on a fresh copy of the base
// (a fork of it, loaded once: the same document as loading it again, at a
// seventh of the cost; loading is what the load target tests).
func fuzzCoreOp(target string, base *automerge.Doc, input []byte) (*response, *core) {
	c := &core{states: map[uint64]*automerge.SyncState{}}
	if target == "load" {
		return c.handle(&request{Op: opInit, Actor: fuzzActor, Snapshot: input, Probe: true}), c
	}
	doc, err := base.Fork()
	if err == nil {
		err = doc.SetActorID(fuzzActor)
	}
	if err != nil {
		panic(fmt.Sprintf("fuzz child: copy the base: %v", err))
	}
	c.doc = doc
	req := &request{Data: input, State: 1}
	switch target {
	case "apply":
		req.Op = opApply
	case "sync":
		req.Op = opReceiveSync
	case "merge":
		req.Op = opMerge
	case "syncstate":
		req.Op = opLoadSyncState
	default:
		panic("unknown target " + target)
	}
	return c.handle(req), c
}

// loadFuzzBase loads the base as the worker does a note's snapshot.
func loadFuzzBase(base []byte) (*automerge.Doc, error) {
	c := &core{}
	if resp := c.handle(&request{Op: opInit, Actor: fuzzActor, Snapshot: base, Probe: true}); resp.Err != nil {
		return nil, fmt.Errorf("load the base: %s", resp.Err.Message)
	}
	return c.doc, nil
}

func readUint32(r *bufio.Reader) (uint32, error) {
	var b [4]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b[:]), nil
}

func writeUint32(w *bufio.Writer, v uint32) {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], v)
	w.Write(b[:])
}

func readBlob(r *bufio.Reader) ([]byte, error) {
	n, err := readUint32(r)
	if err != nil {
		return nil, err
	}
	b := make([]byte, n)
	_, err = io.ReadFull(r, b)
	return b, err
}

func writeBlob(w *bufio.Writer, b []byte) {
	writeUint32(w, uint32(len(b)))
	w.Write(b)
}

func readBatch(r *bufio.Reader) (string, [][]byte, error) {
	tb, err := readBlob(r)
	if err != nil {
		return "", nil, err
	}
	n, err := readUint32(r)
	if err != nil {
		return "", nil, err
	}
	inputs := make([][]byte, n)
	for i := range inputs {
		if inputs[i], err = readBlob(r); err != nil {
			return "", nil, err
		}
	}
	return string(tb), inputs, nil
}

// fuzzChild is the parent's handle on one child process.
type fuzzChild struct {
	cmd    *exec.Cmd
	reqW   *os.File
	respR  *os.File
	in     *bufio.Reader
	out    *bufio.Writer
	stderr *boundedBuffer
	done   chan struct{} // closed once reaped and stderr drained
	status string
}

type fuzzResult struct {
	accepted bool
	changes  [][]byte
}

// fuzzDeath is how a child ended during an input.
type fuzzDeath struct {
	post   bool // after the core took the input, in a later operation
	hung   bool // ended after fuzzInputTimeout
	status string
	panic  string
}

func (d *fuzzDeath) site() string {
	if d.hung {
		return "timeout"
	}
	if d.panic == "" {
		return "no-panic-text(" + d.status + ")"
	}
	if strings.Contains(d.panic, "memory allocation") {
		return "memory-limit"
	}
	return panicSite(d.panic)
}

func startFuzzChild(base []byte) (*fuzzChild, error) {
	reqR, reqW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("start fuzz child: %w", err)
	}
	respR, respW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("start fuzz child: %w", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("start fuzz child: %w", err)
	}
	env := append(os.Environ(), fuzzChildEnv+"=1", "GOMAXPROCS=1", "GOGC=400", "GOTRACEBACK=none", "RUST_BACKTRACE=0")
	cmd := &exec.Cmd{
		Path:        "/proc/self/exe",
		Args:        []string{"collab-fuzz-child"},
		Env:         env,
		Stdin:       reqR,
		Stdout:      respW,
		Stderr:      errW,
		SysProcAttr: workerSysProcAttr(),
	}
	err = cmd.Start()
	reqR.Close()
	respW.Close()
	errW.Close()
	if err != nil {
		return nil, fmt.Errorf("start fuzz child: %w", err)
	}
	c := &fuzzChild{
		cmd: cmd, reqW: reqW, respR: respR,
		in:     bufio.NewReaderSize(respR, 1<<16),
		out:    bufio.NewWriterSize(reqW, 1<<20),
		stderr: &boundedBuffer{max: maxPanicText},
		done:   make(chan struct{}),
	}
	go c.reap(errR) // ends when the process does
	writeBlob(c.out, base)
	if err := c.out.Flush(); err != nil {
		c.kill()
		return nil, fmt.Errorf("start fuzz child: %w", err)
	}
	return c, nil
}

func (c *fuzzChild) reap(errR *os.File) {
	io.Copy(c.stderr, errR)
	errR.Close()
	if err := c.cmd.Wait(); err != nil {
		c.status = err.Error()
	} else {
		c.status = "exited"
	}
	close(c.done)
}

func (c *fuzzChild) kill() {
	c.cmd.Process.Kill()
	<-c.done
	c.reqW.Close()
	c.respR.Close()
}

func (c *fuzzChild) stop() {
	c.reqW.Close()
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		c.cmd.Process.Kill()
		<-c.done
	}
	c.respR.Close()
}

// send sends one batch; the child reads it whole before it starts. A child
// that has died shows in receive.
func (c *fuzzChild) send(target string, inputs [][]byte) {
	if len(inputs) == 0 {
		return
	}
	writeBlob(c.out, []byte(target))
	writeUint32(c.out, uint32(len(inputs)))
	for _, in := range inputs {
		writeBlob(c.out, in)
	}
	c.out.Flush()
}

// receive reads the results of the n inputs sent. If the child dies,
// results are those of the inputs before the one it died on, and death
// says how; the child is then gone (kill has run).
func (c *fuzzChild) receive(n int) (results []fuzzResult, death *fuzzDeath) {
	for range n {
		c.respR.SetReadDeadline(time.Now().Add(fuzzInputTimeout))
		tag, err := c.in.ReadByte()
		if err != nil {
			return results, c.died(false, err)
		}
		if tag == fuzzRefused {
			results = append(results, fuzzResult{})
			continue
		}
		if tag != fuzzTook {
			return results, c.died(false, fmt.Errorf("bad tag %q", tag))
		}
		r := fuzzResult{accepted: true}
		n, err := readUint32(c.in)
		for i := 0; err == nil && i < int(n); i++ {
			var b []byte
			b, err = readBlob(c.in)
			r.changes = append(r.changes, b)
		}
		if err == nil {
			c.respR.SetReadDeadline(time.Now().Add(fuzzInputTimeout))
			tag, err = c.in.ReadByte()
			if err == nil && tag != fuzzLater {
				err = fmt.Errorf("bad tag %q", tag)
			}
		}
		if err != nil {
			return results, c.died(true, err)
		}
		results = append(results, r)
	}
	return results, nil
}

func (c *fuzzChild) died(post bool, cause error) *fuzzDeath {
	d := &fuzzDeath{post: post, hung: errors.Is(cause, os.ErrDeadlineExceeded)}
	c.kill()
	d.status = c.status
	d.panic = c.stderr.Sanitized()
	return d
}

// fuzzCorpusSet is the seeds per target.
type fuzzCorpusSet map[string][][]byte

func (s fuzzCorpusSet) all() [][]byte {
	var out [][]byte
	for _, target := range targets {
		out = append(out, s[target]...)
	}
	return out
}

// BenchmarkFuzzChildOp is what the child spends on one input per target,
// the seeds themselves as inputs (none aborts).
func BenchmarkFuzzChildOp(b *testing.B) {
	base, err := loadFuzzBase(baseDocument(b))
	if err != nil {
		b.Fatal(err)
	}
	all := seeds(b)
	for _, target := range targets {
		b.Run(target, func(b *testing.B) {
			pool := all[target]
			i := 0
			for b.Loop() {
				fuzzCoreOp(target, base, pool[i%len(pool)])
				i++
			}
		})
	}
}
