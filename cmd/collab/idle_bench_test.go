package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/internal/paper"
	"github.com/collab-editor/collab/notebook"
	"github.com/collab-editor/collab/p2p"
)

// BenchmarkServeIdleManyNotes (issue 10): the memory of `collab serve`
// (the real binary, loopback) that shares 1,000 notes, 100 of them long
// (the paper note with its keystroke-level history, 259,778 changes), with
// 3 peers that hold all of them, once they are connected, in sync and
// idle. Reported: ann's resident memory with her workers after 3 minutes
// of idleness (idle notes are unloaded after IdleAfter), the serve
// process's own, and the peak on the way. Takes several minutes; run with -benchtime 1x.
// COLLAB_BENCH_NOTES=SHORT,LONG changes the counts (a quick check of the
// benchmark itself).
func BenchmarkServeIdleManyNotes(b *testing.B) {
	short, long, peers := 900, 100, 3
	if s := os.Getenv("COLLAB_BENCH_NOTES"); s != "" {
		if _, err := fmt.Sscanf(s, "%d,%d", &short, &long); err != nil || long < 1 {
			b.Fatalf("COLLAB_BENCH_NOTES=%q: want SHORT,LONG (LONG at least 1)", s)
		}
	}
	collabBinary(b)
	template := b.TempDir()
	ids := buildManyNotes(b, template, short, long)
	for range b.N {
		b.StopTimer()
		homes := make([]string, peers+1)
		pids := make([]peer.ID, peers+1)
		for i := range homes {
			homes[i] = b.TempDir()
			if out, err := exec.Command("cp", "-a", template+"/.", homes[i]).CombinedOutput(); err != nil {
				b.Fatalf("copy the notebook: %v: %s", err, out)
			}
			key, err := p2p.LoadOrCreateIdentity(filepath.Join(homes[i], identityName))
			if err != nil {
				b.Fatal(err)
			}
			if pids[i], err = peer.IDFromPrivateKey(key); err != nil {
				b.Fatal(err)
			}
		}
		// ann shares every note with the three; each knows ann for each.
		for i, home := range homes {
			var known []peer.ID
			if i == 0 {
				known = pids[1:]
			} else {
				known = pids[:1]
			}
			rememberEverywhere(b, home, ids, known)
		}

		ann := startServe(b, homes[0], "ann")
		annPid := ann.cmd.Process.Pid
		tk := strings.TrimSpace(binOK(b, homes[0], "invite", ids[0].String()))
		b.StartTimer()
		start := time.Now()
		for i, home := range homes[1:] {
			startServe(b, home, fmt.Sprintf("peer%d", i+1))
			binOK(b, home, "join", tk) // through its running peer: connects to ann
		}
		waitFor(b, 10*time.Minute, "every note in sync with all three", func() bool {
			out := binOK(b, homes[0], "peers")
			return strings.Count(out, "in sync") == peers*len(ids)
		})
		b.StopTimer()
		inSync := time.Since(start)
		// Idle notes are unloaded after engine.DefaultIdleAfter (2 min),
		// and Go gives freed memory back to the system over minutes: what
		// an idle peer costs is read after 3 minutes of idleness.
		time.Sleep(3 * time.Minute)
		settled := treeRSSKiB(annPid)
		b.ReportMetric(float64(settled)/1024, "idle-serve+workers-RSS-MiB")
		b.ReportMetric(float64(statusKiB(annPid, "VmRSS"))/1024, "idle-serve-RSS-MiB")
		b.ReportMetric(float64(statusKiB(annPid, "VmHWM"))/1024, "serve-peak-RSS-MiB")
		b.ReportMetric(float64(countChildren(annPid)), "workers-left")
		b.ReportMetric(inSync.Seconds(), "start-to-all-in-sync-s")
		b.ReportMetric(0, "ns/op")
	}
}

// buildManyNotes makes short small notes and long copies of the paper
// note (per-edit history) in the notebook at home; it returns their IDs.
func buildManyNotes(b *testing.B, home string, short, long int) []crdt.DocumentID {
	nb, err := notebook.Open(home, "ann")
	if err != nil {
		b.Fatal(err)
	}
	var ids []crdt.DocumentID
	for i := range short {
		n, err := nb.Create(fmt.Sprintf("Note %d", i))
		if err != nil {
			b.Fatal(err)
		}
		if err := n.Append(fmt.Sprintf("a short note, number %d\n", i)); err != nil {
			b.Fatal(err)
		}
		ids = append(ids, n.ID)
		if err := n.Close(); err != nil {
			b.Fatal(err)
		}
	}
	n, err := nb.Import(crdt.DocumentID{}, paper.Saved(b, "per-edit"))
	if err != nil {
		b.Fatal(err)
	}
	first := n.ID
	ids = append(ids, first)
	if err := n.Close(); err != nil {
		b.Fatal(err)
	}
	// The other long notes are copies of its directory under new IDs: a
	// note's files do not hold its ID.
	src := filepath.Join(home, "notes", first.String())
	for range long - 1 {
		id := crdt.NewDocumentID()
		if out, err := exec.Command("cp", "-a", src, filepath.Join(home, "notes", id.String())).CombinedOutput(); err != nil {
			b.Fatalf("copy a long note: %v: %s", err, out)
		}
		ids = append(ids, id)
	}
	return ids
}

// rememberEverywhere records peers as known peers of every note, without
// loading any note's history.
func rememberEverywhere(b *testing.B, home string, ids []crdt.DocumentID, peers []peer.ID) {
	nb, err := notebook.Open(home, "bench")
	if err != nil {
		b.Fatal(err)
	}
	for _, id := range ids {
		n, _, err := nb.OpenNoteUnloaded(id)
		if err != nil {
			b.Fatalf("open %s: %v", id, err)
		}
		for _, p := range peers {
			if err := n.RememberPeer(notebook.KnownPeer{ID: p.String(), LastSeen: time.Now()}); err != nil {
				b.Fatal(err)
			}
		}
		if err := n.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// countChildren counts pid's child processes (the serve process's workers).
func countChildren(pid int) int {
	n := 0
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, f := range tasks {
		data, _ := os.ReadFile(f)
		n += len(strings.Fields(string(data)))
	}
	return n
}
