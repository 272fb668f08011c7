package main

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/internal/paper"
	"github.com/collab-editor/collab/notebook"
)

// BenchmarkCat (issue 10): `collab cat` of the paper note (105 KB of text)
// through the real binary, with each history: time from exec to exit, and
// the process's peak RSS. A note costs what its text costs: the text comes
// from the view cache, so the keystroke-level history (259,778 changes)
// must cost no more than the policy one. Run with e.g. -benchtime 50x.
func BenchmarkCat(b *testing.B) {
	for _, history := range []string{"policy", "per-edit"} {
		b.Run("history="+history, func(b *testing.B) {
			home := b.TempDir()
			nb, err := notebook.Open(home, "bench")
			if err != nil {
				b.Fatal(err)
			}
			n, err := nb.Import(crdt.DocumentID{}, paper.Saved(b, history))
			if err != nil {
				b.Fatal(err)
			}
			id := n.ID.String()
			if err := n.Close(); err != nil {
				b.Fatal(err)
			}
			collabBinary(b) // built before the clock starts
			var lat []time.Duration
			b.ResetTimer()
			for b.Loop() {
				cmd := binCmd(b, home, "cat", id)
				cmd.Stdout = io.Discard
				start := time.Now()
				if err := cmd.Run(); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
			}
			b.StopTimer()
			peakKB := peakRSSOf(b, binCmd(b, home, "cat", id))
			b.ReportMetric(pct(lat, 0.5), "p50-ms")
			b.ReportMetric(pct(lat, 0.99), "p99-ms")
			b.ReportMetric(float64(peakKB)/1024, "peak-RSS-MiB")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// peakRSSEnv turns the test binary into a launcher that runs the command
// in its arguments and prints the command's peak RSS in KiB. A child's
// ru_maxrss counts the memory of the process it was forked from (Go
// forks with the parent's address space shared until exec), so measured
// straight from a benchmark it would include the benchmark's own heap; the
// launcher is small when it forks.
const peakRSSEnv = "COLLAB_BENCH_PEAK_RSS"

func runReportingPeakRSS(args []string) int {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	if err := cmd.Run(); err != nil {
		return 1
	}
	os.Stdout.WriteString(strconv.FormatInt(cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss, 10))
	return 0
}

// peakRSSOf runs cmd through the launcher and returns its peak RSS in KiB
// (an upper bound: at most the launcher's few MiB more).
func peakRSSOf(b *testing.B, cmd *exec.Cmd) int64 {
	self, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	launch := exec.Command(self, cmd.Args...)
	launch.Env = append(cmd.Env, peakRSSEnv+"=1")
	var out bytes.Buffer
	launch.Stdout, launch.Stderr = &out, os.Stderr
	if err := launch.Run(); err != nil {
		b.Fatalf("measure %v: %v", cmd.Args, err)
	}
	kb, err := strconv.ParseInt(strings.TrimSpace(out.String()), 10, 64)
	if err != nil {
		b.Fatalf("measure %v: %q", cmd.Args, out.String())
	}
	return kb
}
