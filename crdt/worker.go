package crdt

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/collab-editor/collab/internal/display"
)

// Limits bound what one worker may cost. A worker that exceeds one dies,
// and its death is handled like a panic of the core.
type Limits struct {
	// Memory is the address space a worker may map beyond its size at start.
	Memory int64
	// Call bounds one ordinary request; Load bounds building a document
	// (loading a snapshot and records) and merging one.
	Call, Load time.Duration
}

var (
	// NoteLimits apply to the worker of an open note: generous, since a
	// long history legitimately takes hundreds of megabytes and seconds to
	// load (FINDINGS.md), yet a 4 MB hostile document (2.6 GB in the core)
	// is refused rather than taking the session's memory.
	NoteLimits = Limits{Memory: 2 << 30, Call: 30 * time.Second, Load: 2 * time.Minute}
	// ScratchLimits apply to scratch documents (an invitation's bytes, an
	// offer), which hold nothing of the user's.
	ScratchLimits = Limits{Memory: 1 << 30, Call: 15 * time.Second, Load: 30 * time.Second}
)

// ErrTooLong: the note's stored history needs more memory to load in the
// core than a worker may use (a million keystrokes need over 2 GiB in the
// 2023 core). Nothing is set aside; cutting the history
// (notebook.StartEpoch, done in Go for a note not loaded) makes it fit.
var ErrTooLong = errors.New("the note's history is too long to load for editing")

// ErrWorkerDied wraps every report of a worker's death.
var ErrWorkerDied = errors.New("automerge worker died")

// DeathError describes how a worker died and what the core said about it.
type DeathError struct {
	Op     string // the request it was serving
	Status string // exit status or signal, or why we ended it
	Panic  string // the core's last words on stderr, bounded and sanitised
	// Outgrown: it reached its memory limit while growing (the allocation
	// that failed was at most half the limit), which says the document as
	// a whole is too large for the limit, not that one change is bad. A
	// single allocation beyond that is what a crafted length asks for.
	Outgrown bool
}

func (e *DeathError) Error() string {
	s := fmt.Sprintf("automerge worker died during %s (%s)", e.Op, e.Status)
	if e.Panic != "" {
		s += ": " + e.Panic
	}
	return s
}

func (e *DeathError) Unwrap() error { return ErrWorkerDied }

// maxPanicText bounds what is kept of a dying worker's stderr.
const maxPanicText = 2048

// worker is one child process running the core for one document. Calls
// are not safe for concurrent use: the Note serialises them.
type worker struct {
	limits Limits
	cmd    *exec.Cmd
	reqW   *os.File
	respR  *os.File
	in     *bufio.Reader
	out    *bufio.Writer

	stderr *boundedBuffer
	// exited is closed once the process has been reaped and stderr drained;
	// status says how it ended.
	exited chan struct{}
	status string

	dead error // set once the worker is unusable
}

// startWorker starts a worker process: this same executable, which crdt's
// init turns into a worker before main runs.
func startWorker(limits Limits) (*worker, error) {
	exe, err := workerExecutable()
	if err != nil {
		return nil, err
	}
	reqR, reqW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("start worker: %w", err)
	}
	respR, respW, err := os.Pipe()
	if err != nil {
		reqR.Close()
		reqW.Close()
		return nil, fmt.Errorf("start worker: %w", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		reqR.Close()
		reqW.Close()
		respR.Close()
		respW.Close()
		return nil, fmt.Errorf("start worker: %w", err)
	}
	cmd := &exec.Cmd{
		Path:        exe,
		Args:        []string{"collab-automerge-worker"},
		Env:         workerEnviron(limits),
		Stdout:      errW,
		Stderr:      errW,
		ExtraFiles:  []*os.File{reqR, respW}, // fds 3 and 4
		SysProcAttr: workerSysProcAttr(),
	}
	err = cmd.Start()
	reqR.Close()
	respW.Close()
	errW.Close()
	if err != nil {
		reqW.Close()
		respR.Close()
		errR.Close()
		return nil, fmt.Errorf("start worker: %w", err)
	}
	w := &worker{
		limits: limits,
		cmd:    cmd,
		reqW:   reqW,
		respR:  respR,
		in:     bufio.NewReaderSize(respR, 64<<10),
		out:    bufio.NewWriterSize(reqW, 64<<10),
		stderr: &boundedBuffer{max: maxPanicText},
		exited: make(chan struct{}),
	}
	liveWorkers.Add(1)
	// The reaper: owned by the worker, it ends when the process does
	// (every path below ends the process: EOF on its requests, or a kill).
	go w.reap(errR)
	return w, nil
}

// liveWorkers counts running workers (tests check none outlive their note).
var liveWorkers atomic.Int64

func (w *worker) reap(errR *os.File) {
	defer liveWorkers.Add(-1)
	buf := make([]byte, 4096)
	for {
		n, err := errR.Read(buf)
		w.stderr.Write(buf[:n])
		if err != nil {
			break
		}
	}
	errR.Close()
	err := w.cmd.Wait()
	var ee *exec.ExitError
	switch {
	case err == nil:
		w.status = "exited"
	case errors.As(err, &ee):
		w.status = ee.ProcessState.String()
	default:
		w.status = err.Error()
	}
	close(w.exited)
}

func workerExecutable() (string, error) {
	if runtime.GOOS == "linux" {
		// Still the running program even if its file was replaced.
		return "/proc/self/exe", nil
	}
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find own executable: %w", err)
	}
	return exe, nil
}

func workerEnviron(limits Limits) []string {
	set := map[string]string{
		workerEnv: strconv.FormatInt(limits.Memory, 10),
		// One document, one request at a time: one P is plenty and keeps
		// the worker's own runtime small.
		"GOMAXPROCS": "1",
		// A dying worker's stderr should say what the core said, not hold
		// a Go or Rust stack trace.
		"GOTRACEBACK":    "none",
		"RUST_BACKTRACE": "0",
	}
	env := make([]string, 0, len(os.Environ())+len(set))
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); set[k] == "" {
			env = append(env, kv)
		}
	}
	for k, v := range set {
		env = append(env, k+"="+v)
	}
	return env
}

// call sends one request and waits for its response within timeout. Any
// failure to talk to the worker is its death: the process is ended and a
// *DeathError returned.
func (w *worker) call(req *request, timeout time.Duration) (*response, error) {
	if w.dead != nil {
		return nil, w.dead
	}
	deadline := time.Now().Add(timeout)
	w.reqW.SetWriteDeadline(deadline)
	w.respR.SetReadDeadline(deadline)
	err := writeFrame(w.out, req)
	if err == nil {
		err = w.out.Flush()
	}
	var resp response
	if err == nil {
		err = readFrame(w.in, maxResponseFrame, &resp)
	}
	if err != nil {
		return nil, w.die(req.Op, err)
	}
	return &resp, nil
}

// die ends the worker after a failed exchange and describes its death.
func (w *worker) die(op opCode, cause error) error {
	status := ""
	if errors.Is(cause, os.ErrDeadlineExceeded) {
		status = "no answer in time: ended"
	} else if !isEOF(cause) {
		status = "bad answer: " + cause.Error()
	}
	w.kill()
	if status == "" {
		status = w.status
	}
	last := w.stderr.String()
	oom := strings.Contains(last, "memory allocation") || strings.Contains(last, "out of memory")
	if oom {
		status += ", memory limit reached"
	}
	w.dead = &DeathError{Op: op.String(), Status: status, Panic: w.stderr.Sanitized(),
		Outgrown: oom && grewPast(last, w.limits.Memory)}
	return w.dead
}

// grewPast reports whether the core's last words say an allocation of at
// most half of limit failed ("memory allocation of N bytes failed").
func grewPast(last string, limit int64) bool {
	const say = "memory allocation of "
	i := strings.LastIndex(last, say)
	if i < 0 {
		return false
	}
	digits := last[i+len(say):]
	if j := strings.IndexByte(digits, ' '); j > 0 {
		digits = digits[:j]
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	return err == nil && n <= limit/2
}

func isEOF(err error) bool {
	return err != nil && (errors.Is(err, os.ErrClosed) || strings.Contains(err.Error(), "EOF") ||
		errors.Is(err, syscall.EPIPE))
}

// gone reports whether the process has already ended.
func (w *worker) gone() bool {
	select {
	case <-w.exited:
		return true
	default:
		return w.dead != nil
	}
}

// kill ends the process at once and waits until it has been reaped.
func (w *worker) kill() {
	w.cmd.Process.Kill()
	<-w.exited
	w.closePipes()
}

// stop asks the worker to exit (EOF on its requests), and kills it if it
// has not within a short grace period.
func (w *worker) stop() {
	w.reqW.Close()
	select {
	case <-w.exited:
	case <-time.After(2 * time.Second):
		w.cmd.Process.Kill()
		<-w.exited
	}
	w.closePipes()
	if w.dead == nil {
		w.dead = &DeathError{Op: "close", Status: "stopped"}
	}
}

func (w *worker) closePipes() {
	w.reqW.Close()
	w.respR.Close()
}

// pid is the worker's process ID (tests end workers from outside).
func (w *worker) pid() int { return w.cmd.Process.Pid }

// boundedBuffer keeps the first max bytes written to it.
type boundedBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - len(b.b); room > 0 {
		b.b = append(b.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (b *boundedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.b)
}

// Sanitized is the text fit for a log line or a terminal (display.Line).
func (b *boundedBuffer) Sanitized() string {
	return sanitizePanic(b.String())
}

func sanitizePanic(s string) string {
	// The Go runtime of the worker reports the core's abort() with its own
	// stack dump: keep what the core said before it.
	if i := strings.Index(s, "SIGABRT: abort"); i > 0 {
		s = s[:i]
	}
	return display.Line(s)
}
