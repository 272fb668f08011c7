package notebook

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"
)

// searchWords are the words the benchmark notes are made of.
var searchWords = strings.Fields(`the a of to and in is it that for on with as was at by this be not are
from or have an they which one you were all we her she there would their will when who him been has
more if no out do so can what up said about other into than its time only could new them man some
these then two first may any like now my such make over our even most me state after also made many
did must before back see through way where get much go well your know should down work year because
come people just say very long here day take three good how used both old world great last still
notes meeting agenda coffee budget draft review garden recipe travel ideas project deadline`)

// searchNotebook stores n notes of about size bytes of text each, seeded so
// every run searches the same notebook, with one note in 100 mentioning
// "Lisbon". Notes are stored by several goroutines: the fsyncs dominate.
func searchNotebook(b *testing.B, n, size int) *Notebook {
	b.Helper()
	nb, err := Open(b.TempDir(), "bench")
	if err != nil {
		b.Fatal(err)
	}
	texts := make([]string, n)
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := range texts {
		var sb strings.Builder
		for sb.Len() < size {
			for w := 0; w < 12 && sb.Len() < size; w++ {
				if w > 0 {
					sb.WriteByte(' ')
				}
				w := searchWords[rnd.IntN(len(searchWords))]
				if rnd.IntN(10) == 0 {
					w = strings.ToUpper(w[:1]) + w[1:]
				}
				sb.WriteString(w)
			}
			if i%100 == 0 && rnd.IntN(20) == 0 {
				sb.WriteString(" Trip to Lisbon")
			}
			sb.WriteByte('\n')
		}
		texts[i] = sb.String()
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	next := make(chan int)
	for range 16 {
		wg.Go(func() {
			for i := range next {
				note, err := nb.Create(fmt.Sprintf("Note %d", i))
				if err == nil {
					err = errors.Join(note.Splice(0, 0, texts[i]), note.Close())
				}
				if err != nil {
					errs <- err
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	return nb
}

// BenchmarkSearchNotebook measures `collab search` and the TUI's search over
// 1,000 notes of 10 KB from their view caches (no document is loaded):
// search-ms is the wall time of one Search, a rare word ignoring case
// ("lisbon") and a common one matching case ("The").
func BenchmarkSearchNotebook(b *testing.B) {
	nb := searchNotebook(b, searchNotes, 10<<10)
	for _, q := range []string{"lisbon", "The"} {
		b.Run("query="+q, func(b *testing.B) {
			var total time.Duration
			var found int
			for b.Loop() {
				start := time.Now()
				res, err := nb.Search(q, SearchOptions{MaxLines: 3})
				total += time.Since(start)
				if err != nil {
					b.Fatal(err)
				}
				found = len(res)
			}
			if found == 0 {
				b.Fatalf("no note matches %q", q)
			}
			_ = searchNotes
			b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "search-ms")
			b.ReportMetric(float64(found), "notes-found")
		})
	}
}

var searchNotes = 1000
