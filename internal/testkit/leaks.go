package testkit

import (
	"testing"
	"time"

	"go.uber.org/goleak"
)

// NoLeaks fails tb if a goroutine is running that opts do not ignore
// (typically goleak.IgnoreCurrent(), taken when the test began), after a
// bounded wait: libp2p ends some goroutines (transports' accept loops, the
// connection manager, the mDNS resolver) shortly after Close returns.
// goleak.Find waits about half a second; NoLeaks retries it for up to 10 s.
//
// No libp2p goroutine needs ignoring by name: a closed host leaves none
// running, and libp2p starts no process-wide goroutine on first use (checked
// with the leak tests run alone). What ran before the test, other tests'
// goroutines included, is ignored by IgnoreCurrent.
func NoLeaks(tb testing.TB, opts ...goleak.Option) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := goleak.Find(opts...)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			tb.Errorf("goroutines left running: %v", err)
			return
		}
	}
}
