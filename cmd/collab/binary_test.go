package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// collabBinary builds the real command once per test run.
func collabBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "collab-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "collab")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	if os.Getenv(peakRSSEnv) != "" {
		os.Exit(runReportingPeakRSS(os.Args[1:]))
	}
	if listen := os.Getenv(keysAgentEnv); listen != "" {
		os.Exit(runKeysAgent(listen))
	}
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

func binCmd(t testing.TB, home string, args ...string) *exec.Cmd {
	cmd := exec.Command(collabBinary(t), args...)
	cmd.Env = append(os.Environ(), "COLLAB_HOME="+home, "COLLAB_NAME=crash")
	return cmd
}

func binOK(t testing.TB, home string, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := binCmd(t, home, args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("collab %v: %v\n%s", args, err, errOut.String())
	}
	return out.String()
}

// TestCrashDuringAppendLosesNothingAcknowledged kills `collab append` with
// SIGKILL at random moments, hundreds of times, with compaction forced to
// run often so kills also land mid-compaction. Every append that exited 0
// must be in the note afterwards, exactly once, and the note must open.
func TestCrashDuringAppendLosesNothingAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("kills hundreds of processes; skipped in -short mode")
	}
	home := t.TempDir()
	binOK(t, home, "new", "crash")
	rng := rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano())))

	// Learn how long one append takes so kills spread over its whole life.
	start := time.Now()
	binOK(t, home, "append", "crash", "warmup")
	typical := time.Since(start)

	const wantKills, maxAttempts = 200, 3000
	var acked []string
	kills := 0
	for i := 0; kills < wantKills && i < maxAttempts; i++ {
		token := fmt.Sprintf("tok-%05d", i)
		cmd := binCmd(t, home, "append", "crash", token)
		cmd.Env = append(cmd.Env, "COLLAB_COMPACT_AT=2048")
		var errOut bytes.Buffer
		cmd.Stderr = &errOut
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		// Two in three runs are killed somewhere in their lifetime; the rest
		// run to completion so acknowledged appends accumulate.
		var err error
		if rng.IntN(3) > 0 {
			delay := time.Duration(rng.Int64N(int64(typical) * 3 / 2))
			select {
			case err = <-done:
			case <-time.After(delay):
				cmd.Process.Signal(syscall.SIGKILL)
				err = <-done
			}
		} else {
			err = <-done
		}
		if err == nil {
			acked = append(acked, token)
			continue
		}
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			kills++
			continue
		}
		t.Fatalf("append %s failed by itself: %v\n%s", token, err, errOut.String())
	}
	if kills < wantKills {
		t.Fatalf("only %d kills landed in %d attempts", kills, maxAttempts)
	}
	text := binOK(t, home, "cat", "crash")
	for _, tok := range acked {
		if n := strings.Count(text, tok+"\n"); n != 1 {
			t.Errorf("acknowledged append %s appears %d times", tok, n)
		}
	}
	t.Logf("%d kills, %d acknowledged appends, all present; note is %d bytes", kills, len(acked), len(text))
	// The notebook still takes writes after all that.
	binOK(t, home, "append", "crash", "after")
	if !strings.HasSuffix(binOK(t, home, "cat", "crash"), "after\n") {
		t.Fatal("append after the crashes is missing")
	}
}

// TestConcurrentAppendsFromManyProcesses: several shells appending to one
// note at once lose nothing.
func TestConcurrentAppendsFromManyProcesses(t *testing.T) {
	home := t.TempDir()
	binOK(t, home, "new", "busy")
	const procs, each = 4, 15
	var wg sync.WaitGroup
	errs := make(chan error, procs*each)
	for p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				cmd := binCmd(t, home, "append", "busy", fmt.Sprintf("p%d-%d", p, i))
				cmd.Env = append(cmd.Env, "COLLAB_COMPACT_AT=1024")
				if out, err := cmd.CombinedOutput(); err != nil {
					errs <- fmt.Errorf("%v: %s", err, out)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	text := binOK(t, home, "cat", "busy")
	for p := range procs {
		for i := range each {
			if tok := fmt.Sprintf("p%d-%d\n", p, i); strings.Count(text, tok) != 1 {
				t.Errorf("%q appears %d times", tok, strings.Count(text, tok))
			}
		}
	}
}
