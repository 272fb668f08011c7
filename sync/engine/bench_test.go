package engine

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	ma "github.com/multiformats/go-multiaddr"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/internal/paper"
	"github.com/collab-editor/collab/notebook"
)

// quietPeer is a bench peer that logs only warnings.
func quietPeer(b *testing.B, name string) *testPeer {
	return newPeer(b, name, func(c *Config) {
		if os.Getenv("BENCH_LOG") == "" {
			c.Logger = nil
		}
	})
}

func percentile(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkKeystrokeToRemote: one keystroke spliced on A and flushed, until
// B's note subscriber has it applied. Run with a fixed count, e.g.
// -benchtime=1000x, so the setup (replay, import, join) runs once.
func BenchmarkKeystrokeToRemote(b *testing.B) {
	for _, history := range []string{"policy", "per-edit"} {
		b.Run("history="+history, func(b *testing.B) {
			pa, pb, id := sharedPaperNote(b, paper.Saved(b, history))
			na, nr := pa.note(id), pb.note(id)
			arrived := make(chan time.Time, 1)
			cancelSub := nr.Subscribe(func(u notebook.Update) {
				if u.Origin == notebook.FromPeer {
					select {
					case arrived <- time.Now():
					default:
					}
				}
			})
			defer cancelSub()
			pos := na.Len() / 2
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				if err := na.Splice(pos, 0, "x"); err != nil {
					b.Fatal(err)
				}
				if _, err := na.Flush(); err != nil {
					b.Fatal(err)
				}
				select {
				case at := <-arrived:
					lat = append(lat, at.Sub(start))
				case <-time.After(10 * time.Second):
					b.Fatalf("keystroke %d never arrived", i)
				}
				pos++
			}
			b.StopTimer()
			b.ReportMetric(ms(percentile(lat, 0.50)), "p50-ms")
			b.ReportMetric(ms(percentile(lat, 0.99)), "p99-ms")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// BenchmarkColdJoin: an empty peer joins the paper note from one that has
// it: time until Join returns, and bytes on the wire both directions until
// the exchange is over. Histories: the commit policy's, one change per
// keystroke, and that cut by `collab compact` (issue 10: a join costs what
// the text costs).
func BenchmarkColdJoin(b *testing.B) {
	for _, c := range []struct {
		name, history string
		cut           bool
		asleep        bool
	}{
		{"history=policy", "policy", false, false},
		{"history=per-edit", "per-edit", false, false},
		{"history=per-edit,compacted", "per-edit", true, false},
		// The sender's copy asleep (as a note nobody used for a while is):
		// it sends its stored document without loading it.
		{"history=per-edit,compacted,sender-asleep", "per-edit", true, true},
	} {
		b.Run(c.name, func(b *testing.B) { benchColdJoin(b, c.history, c.cut, c.asleep) })
	}
}

func benchColdJoin(b *testing.B, history string, cut, asleep bool) {
	data := paper.Saved(b, history)
	pa := quietPeer(b, "ann")
	n, err := pa.nb.Import(crdt.DocumentID{}, data)
	if err != nil {
		b.Fatal(err)
	}
	if cut {
		if _, err := n.StartEpoch(); err != nil {
			b.Fatal(err)
		}
	}
	id := n.ID
	n.Close()
	pa.note(id) // opened before timing, as a running peer has it
	var total time.Duration
	var bytes int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		pb := quietPeer(b, fmt.Sprintf("joiner%d", i))
		if asleep {
			pa.note(id).Hibernate()
		}
		b.StartTimer()
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		err := pb.eng.Join(ctx, id, []ma.Multiaddr{pa.addr()})
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		total += time.Since(start)
		b.StopTimer()
		if pb.note(id).Len() != pa.note(id).Len() {
			b.Fatal("joined copy differs")
		}
		// The bytes include what follows the join until both sides are
		// quiet (the sync messages that confirm the shared heads), not
		// only what came before Join returned.
		time.Sleep(divergedFor + 500*time.Millisecond)
		pb.eng.mu.Lock()
		c := pb.eng.conns[pa.host.ID()]
		pb.eng.mu.Unlock()
		bytes += c.bytesIn.Load() + c.bytesOut.Load()
		pb.stop()
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(total.Seconds()/float64(b.N), "seconds")
	b.ReportMetric(float64(bytes)/float64(b.N), "bytes")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkMeshConverge: 10 peers, each connected to all others, type 20
// keystrokes each at once; the metric is the time from the last keystroke
// (flushed) to all ten texts being equal and complete.
func BenchmarkMeshConverge(b *testing.B) {
	const peers, keys = 10, 20
	ps := make([]*testPeer, peers)
	for i := range ps {
		ps[i] = quietPeer(b, fmt.Sprintf("p%d", i))
	}
	id := ps[0].create("mesh", "mesh\n")
	for i := 1; i < peers; i++ {
		var addrs []ma.Multiaddr
		for _, q := range ps[:i] {
			addrs = append(addrs, q.addr())
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		err := ps[i].eng.Join(ctx, id, addrs)
		cancel()
		if err != nil {
			b.Fatal(err)
		}
	}
	notes := make([]*notebook.Note, peers)
	for i, p := range ps {
		notes[i] = p.note(id)
	}
	waitFor(b, time.Minute, "mesh in sync", func() bool {
		for _, p := range ps {
			if p.eng.Status(id) != InSync {
				return false
			}
		}
		return true
	})
	var conv []time.Duration
	b.ResetTimer()
	for it := 0; it < b.N; it++ {
		want := notes[0].Len() + peers*keys
		var wg sync.WaitGroup
		lasts := make([]time.Time, peers)
		for i := range peers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := rand.New(rand.NewPCG(uint64(it), uint64(i)))
				for range keys {
					n := notes[i]
					if err := n.Splice(r.IntN(n.Len()+1), 0, string(rune('a'+i))); err != nil {
						b.Error(err)
						return
					}
					if _, err := n.Flush(); err != nil {
						b.Error(err)
						return
					}
					time.Sleep(time.Duration(r.IntN(2000)) * time.Microsecond)
				}
				lasts[i] = time.Now()
			}()
		}
		wg.Wait()
		last := slices.MaxFunc(lasts, func(x, y time.Time) int { return x.Compare(y) })
		deadline := time.Now().Add(30 * time.Second)
		for {
			first, err := notes[0].Text()
			if err != nil {
				b.Fatal(err)
			}
			same := len([]rune(first)) == want
			for _, n := range notes[1:] {
				if !same {
					break
				}
				t, _ := n.Text()
				same = t == first
			}
			if same {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("mesh did not converge within 30 s")
			}
			time.Sleep(200 * time.Microsecond)
		}
		conv = append(conv, time.Since(last))
	}
	b.StopTimer()
	b.ReportMetric(ms(percentile(conv, 0.5)), "ms")
	b.ReportMetric(ms(slices.Max(conv)), "max-ms")
	b.ReportMetric(0, "ns/op")
}

// sharedNotes gives ann and bob count notes that both hold alike and know
// each other as peers of (as after joins), made with both stopped, far
// faster than count joins; both run again when it returns.
func sharedNotes(b *testing.B, pa, pb *testPeer, count int) []crdt.DocumentID {
	b.Helper()
	pa.stop()
	pb.stop()
	open := func(p *testPeer) *notebook.Notebook {
		nb, err := notebook.Open(p.dir, p.name)
		if err != nil {
			b.Fatal(err)
		}
		return nb
	}
	nbA, nbB := open(pa), open(pb)
	ids := make([]crdt.DocumentID, count)
	for i := range ids {
		n, err := nbA.Create(fmt.Sprintf("note %d", i))
		if err != nil {
			b.Fatal(err)
		}
		if err := n.Splice(0, 0, fmt.Sprintf("the text of note %d\n", i)); err != nil {
			b.Fatal(err)
		}
		doc, _, err := n.Snapshot()
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = n.ID
		if err := n.RememberPeer(notebook.KnownPeer{ID: pb.host.ID().String(), LastSeen: time.Now()}); err != nil {
			b.Fatal(err)
		}
		if err := n.Close(); err != nil {
			b.Fatal(err)
		}
		m, err := nbB.Import(n.ID, doc)
		if err != nil {
			b.Fatal(err)
		}
		if err := m.Close(); err != nil {
			b.Fatal(err)
		}
	}
	pa.start()
	for _, id := range ids { // ann's address changed with her restart
		m, _, err := nbB.OpenNoteUnloaded(id)
		if err != nil {
			b.Fatal(err)
		}
		if err := m.RememberPeer(notebook.KnownPeer{ID: pa.host.ID().String(), Addrs: []string{pa.host.LibP2P().Addrs()[0].String()}, LastSeen: time.Now()}); err != nil {
			b.Fatal(err)
		}
		if err := m.Close(); err != nil {
			b.Fatal(err)
		}
	}
	pb.start()
	return ids
}

// BenchmarkReconnectInSyncNotes: bob, who shares notes with ann and holds
// them as she does, restarts (host and engine) until he is connected to
// her again and both see every note in sync. Reported: the time that takes,
// the bytes both ways on the stream, and how many documents either side
// loaded to find out (0: heads alone decided). Run with -benchtime=Nx.
func BenchmarkReconnectInSyncNotes(b *testing.B) {
	for _, count := range []int{100, 1000} {
		b.Run(fmt.Sprintf("notes=%d", count), func(b *testing.B) {
			pa, pb := quietPeer(b, "ann"), quietPeer(b, "bob")
			ids := sharedNotes(b, pa, pb, count)
			allInSync := func() bool {
				for _, id := range ids {
					if pa.eng.Status(id) != InSync || pb.eng.Status(id) != InSync {
						return false
					}
				}
				return true
			}
			waitFor(b, 5*time.Minute, "every note in sync", allInSync)
			var took []time.Duration
			var bytes, loaded int64
			b.ResetTimer()
			for range b.N {
				pb.stop()
				start := time.Now()
				pb.start()
				waitFor(b, 5*time.Minute, "every note in sync again", func() bool {
					return pb.connectedTo(pa) && allInSync()
				})
				took = append(took, time.Since(start))
				pb.eng.mu.Lock()
				c := pb.eng.conns[pa.host.ID()]
				pb.eng.mu.Unlock()
				bytes += c.bytesIn.Load() + c.bytesOut.Load()
				for _, id := range ids {
					if pb.eng.opened(id).note.Loaded() {
						loaded++
					}
				}
			}
			b.StopTimer()
			b.ReportMetric(ms(percentile(took, 0.5)), "p50-ms")
			b.ReportMetric(ms(percentile(took, 0.99)), "p99-ms")
			b.ReportMetric(float64(bytes)/float64(b.N)/1024, "KB/reconnect")
			b.ReportMetric(float64(loaded)/float64(b.N), "loaded/reconnect")
		})
	}
}

// sharedPaperNote starts ann with the note data holds and bob joined to
// it, and waits until both are in sync.
func sharedPaperNote(b *testing.B, data []byte) (pa, pb *testPeer, id crdt.DocumentID) {
	pa, pb = quietPeer(b, "ann"), quietPeer(b, "bob")
	n, err := pa.nb.Import(crdt.DocumentID{}, data)
	if err != nil {
		b.Fatal(err)
	}
	id = n.ID
	n.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := pb.eng.Join(ctx, id, []ma.Multiaddr{pa.addr()}); err != nil {
		b.Fatal(err)
	}
	waitFor(b, 2*time.Minute, "in sync", func() bool {
		return pa.eng.Status(id) == InSync && pb.eng.Status(id) == InSync
	})
	return pa, pb, id
}

// BenchmarkFollowCut: ann and bob hold the paper note with one change per
// keystroke and are in sync; ann cuts it (`collab compact`). Metrics: how
// long bob takes from ann's cut to his copy being in the new epoch with
// the same text (he builds the epoch's root from his own history and
// checks it), and the bytes both ways meanwhile (the announcement, heads
// and the first round of the new epoch: never the text).
func BenchmarkFollowCut(b *testing.B) {
	data := paper.Saved(b, "per-edit")
	var total time.Duration
	var bytes int64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		pa, pb, id := sharedPaperNote(b, data)
		waitFor(b, time.Minute, "ann to know bob follows epochs", func() bool { return pa.note(id).CanCut() == nil })
		pa.eng.mu.Lock()
		c := pa.eng.conns[pb.host.ID()]
		pa.eng.mu.Unlock()
		before := c.bytesIn.Load() + c.bytesOut.Load()
		if _, err := pa.note(id).StartEpoch(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		waitFor(b, 5*time.Minute, "bob to follow", func() bool { return pb.note(id).EpochNumber() == 1 })
		total += time.Since(start)
		b.StopTimer()
		waitFor(b, time.Minute, "in sync again", func() bool {
			return pa.eng.Status(id) == InSync && pb.eng.Status(id) == InSync
		})
		if pa.note(id).Len() != pb.note(id).Len() {
			b.Fatal("the copies differ after the cut")
		}
		bytes += c.bytesIn.Load() + c.bytesOut.Load() - before
		pa.stop()
		pb.stop()
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "seconds")
	b.ReportMetric(float64(bytes)/float64(b.N), "bytes")
	b.ReportMetric(0, "ns/op")
}
