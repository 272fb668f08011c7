package engine

import (
	"fmt"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// Offences far apart never add up; close ones refuse the peer for
// refuseFirst, then twice as long each time, never beyond refuseMax; and
// a table full of made-up identities keeps the refusals that last longest.
func TestOffencesRefuseRepeatOffendersForGrowingTimes(t *testing.T) {
	var o offences
	t0 := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	p := peer.ID("mallory")
	for i := range 10 {
		if !o.strike(p, "bad", t0.Add(time.Duration(i)*offenceWindow)).IsZero() {
			t.Fatalf("offence %d, one window apart, refused the peer", i)
		}
	}
	now := t0.Add(time.Hour * 10)
	want := refuseFirst
	for round := range 8 {
		var until time.Time
		for i := range offencesToRefuse {
			until = o.strike(p, "bad", now.Add(time.Duration(i)*time.Second))
		}
		if got := until.Sub(now.Add(time.Duration(offencesToRefuse-1) * time.Second)); got != want {
			t.Fatalf("refusal %d lasts %v, want %v", round+1, got, want)
		}
		if _, reason, ok := o.refused(p, until.Add(-time.Second)); !ok || reason != "bad" {
			t.Fatalf("refusal %d not in force before it ends", round+1)
		}
		if _, _, ok := o.refused(p, until); ok {
			t.Fatalf("refusal %d still in force when it ends", round+1)
		}
		now = until
		want = min(2*want, refuseMax)
	}

	var full offences
	long := peer.ID("long")
	for i := range offencesToRefuse {
		full.strike(long, "bad", t0.Add(time.Duration(i)*time.Second))
	}
	for n := range 4 * maxOffenders {
		full.strike(peer.ID(fmt.Sprintf("stranger-%d", n)), "bad", t0.Add(time.Minute))
	}
	if len(full.m) > maxOffenders {
		t.Errorf("%d offenders kept, at most %d", len(full.m), maxOffenders)
	}
	if _, _, ok := full.refused(long, t0.Add(2*time.Minute)); !ok {
		t.Error("made-up identities pushed out a refusal in force")
	}
}
