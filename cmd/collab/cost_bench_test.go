package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/collab-editor/collab/internal/paper"
	"github.com/collab-editor/collab/internal/testkit"
	"github.com/collab-editor/collab/notebook"
)

// BenchmarkCat (issue 10): `collab cat` of the paper note (105 KB of text)
// through the real binary, with each history: time from exec to exit, and
// the process's peak RSS. A note costs what its text costs: the text comes
// from the view cache, so the keystroke-level history (259,778 changes)
// must cost no more than the policy one. Run with e.g. -benchtime 50x.
func BenchmarkCat(b *testing.B) {
	for _, history := range []string{"policy", "per-edit", paper.Copies} {
		b.Run("history="+history, func(b *testing.B) {
			home := b.TempDir()
			nb, err := notebook.Open(home, "bench")
			if err != nil {
				b.Fatal(err)
			}
			id := importPaper(b, nb, history)
			collabBinary(b) // built before the clock starts
			// The import's garbage (hundreds of MB for 4 copies) is
			// collected now, not by this process while the commands run on
			// the same two cores.
			runtime.GC()
			debug.FreeOSMemory()
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
	out := strconv.FormatInt(cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss, 10)
	if os.Getenv(peakRSSEnv) == "tree" {
		// The largest of the command's own children (its note workers):
		// the kernel keeps the largest, not the sum.
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru); err == nil {
			out += " " + strconv.FormatInt(ru.Maxrss, 10)
		}
	}
	os.Stdout.WriteString(out)
	return 0
}

// peakRSSOf runs cmd through the launcher and returns its peak RSS in KiB
// (an upper bound: at most the launcher's few MiB more).
func peakRSSOf(b *testing.B, cmd *exec.Cmd) int64 {
	kb, _ := peakRSSWithWorker(b, cmd)
	return kb
}

// peakRSSWithWorker is peakRSSOf, and also the peak RSS of the largest
// process the command started (a note's worker), in KiB.
func peakRSSWithWorker(b *testing.B, cmd *exec.Cmd) (own, worker int64) {
	self, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	launch := exec.Command(self, cmd.Args...)
	launch.Env = append(cmd.Env, peakRSSEnv+"=tree")
	var out bytes.Buffer
	launch.Stdout, launch.Stderr = &out, os.Stderr
	if err := launch.Run(); err != nil {
		b.Fatalf("measure %v: %v", cmd.Args, err)
	}
	fields := strings.Fields(out.String())
	kbs := make([]int64, 2)
	for i := range min(len(fields), 2) {
		if kbs[i], err = strconv.ParseInt(fields[i], 10, 64); err != nil {
			b.Fatalf("measure %v: %q", cmd.Args, out.String())
		}
	}
	if len(fields) == 0 {
		b.Fatalf("measure %v: no output", cmd.Args)
	}
	return kbs[0], kbs[1]
}

// BenchmarkCompactedNote (issue 10): the paper note with one change per
// keystroke (259,778 changes, 105 KB of text), and the note that types it
// four times (paper.Copies: 1,039,113 changes, 419 KB), before and after
// `collab compact` cut its history, through the real binary: `collab
// append` opens the note for editing, edits, stores and exits (p50/p99
// from exec to exit), with the peak RSS of collab and of its note worker
// (the process that holds the document; the largest child, so collab's own
// when no worker ran), and base-RSS-MiB, collab's peak RSS for the same
// append to a note of one line. compact-s is how long the cut
// took, compact-RSS-MiB the peak RSS of collab and its workers during it.
// The four copies do not load in the core before the cut (over 2 GiB), so
// only the cut and after are measured there. Run with e.g. -benchtime 10x.
func BenchmarkCompactedNote(b *testing.B) {
	for _, history := range []string{"per-edit", paper.Copies} {
		for _, compacted := range []bool{false, true} {
			b.Run(fmt.Sprintf("history=%s/compacted=%v", history, compacted), func(b *testing.B) {
				if history == paper.Copies && !compacted {
					b.Skip("over a million changes do not load in the core within a worker's 2 GiB")
				}
				benchmarkCompactedNote(b, history, compacted)
			})
		}
	}
}

func benchmarkCompactedNote(b *testing.B, history string, compacted bool) {
	home := b.TempDir()
	nb, err := notebook.Open(home, "bench")
	if err != nil {
		b.Fatal(err)
	}
	id := importPaper(b, nb, history)
	collabBinary(b)
	var cut time.Duration
	var cutKB, cutWorkerKB int64
	if compacted {
		// Through the launcher that reads peak RSS (its own start is
		// a few ms of the time).
		start := time.Now()
		cutKB, cutWorkerKB = peakRSSWithWorker(b, binCmd(b, home, "compact", id))
		cut = time.Since(start)
	}
	var lat []time.Duration
	b.ResetTimer()
	for b.Loop() {
		cmd := binCmd(b, home, "append", id, "x")
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("append: %v: %s", err, out)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	own, worker := peakRSSWithWorker(b, binCmd(b, home, "append", id, "x"))
	// The fixed base: the same command on a note of one line.
	small, err := nb.Create("small")
	if err != nil {
		b.Fatal(err)
	}
	if err := errors.Join(small.Append("one line\n"), small.Close()); err != nil {
		b.Fatal(err)
	}
	base, _ := peakRSSWithWorker(b, binCmd(b, home, "append", small.ID.String(), "x"))
	b.ReportMetric(float64(base)/1024, "base-RSS-MiB")
	b.ReportMetric(pct(lat, 0.5), "append-p50-ms")
	b.ReportMetric(pct(lat, 0.99), "append-p99-ms")
	b.ReportMetric(float64(own)/1024, "collab-RSS-MiB")
	b.ReportMetric(float64(worker)/1024, "worker-RSS-MiB")
	b.ReportMetric(cut.Seconds(), "compact-s")
	b.ReportMetric(float64(max(cutKB, cutWorkerKB))/1024, "compact-RSS-MiB")
	b.ReportMetric(0, "ns/op")
}

// importPaper stores the paper note with that history in nb and returns
// its ID. Over a million changes (paper.Copies) do not load in the core
// within a worker's 2 GiB (the automatic cut keeps live notes far below
// that): the limit is raised to store the note once.
func importPaper(b *testing.B, nb *notebook.Notebook, history string) string {
	return testkit.PaperNote(b, nb, history, false).String()
}
