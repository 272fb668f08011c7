package crdt

import (
	"encoding/hex"
	"errors"
	"testing"

	"github.com/collab-editor/collab/crdt/amformat"
)

// forgeAs makes, from a change committed on some copy, a change claiming
// to be change seq of actor (hex): what a hostile member sends.
func forgeAs(t *testing.T, made []byte, actor string, seq uint64) []byte {
	t.Helper()
	c, err := amformat.DecodeChange(made)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := hex.DecodeString(actor)
	if err != nil {
		t.Fatal(err)
	}
	c.SetActor(amformat.ActorID(raw))
	c.Seq = seq
	c.Rehash()
	return c.Encode()
}

func commitOne(t *testing.T, n *Note) Change {
	t.Helper()
	cs, err := n.Commit()
	if err != nil || len(cs) == 0 {
		t.Fatalf("commit: %v, %d changes", err, len(cs))
	}
	return cs[len(cs)-1]
}

func lastSeqOf(t *testing.T, n *Note, actor string) uint64 {
	t.Helper()
	hist, err := n.History()
	if err != nil {
		t.Fatal(err)
	}
	var seq uint64
	for _, c := range hist {
		if c.Actor == actor {
			seq = max(seq, c.Seq)
		}
	}
	return seq
}

// Ann types offline; bob takes a change forged under ann's actor and next
// sequence number. Each copy refuses the other's as a collision (ann's as
// her own), ann gives way, and then both take everything and read alike,
// with every character ann typed there once. With compact, ann's colliding
// change is inside her snapshot when she gives way.
func TestReissueAfterForgedSeq(t *testing.T) {
	for _, compact := range []bool{false, true} {
		name := "from changes"
		if compact {
			name = "from a snapshot"
		}
		t.Run(name, func(t *testing.T) {
			ann, err := New("shared", "ann")
			if err != nil {
				t.Fatal(err)
			}
			defer ann.Close()
			if err := ann.Splice(0, 0, "base\n"); err != nil {
				t.Fatal(err)
			}
			commitOne(t, ann)
			doc, err := ann.Save()
			if err != nil {
				t.Fatal(err)
			}
			bob, _, err := Load(doc, nil, "bob")
			if err != nil {
				t.Fatal(err)
			}
			defer bob.Close()

			// Ann offline: two changes under her actor.
			annActor := ann.Actor()
			seq := lastSeqOf(t, ann, annActor)
			ann.Splice(ann.Len(), 0, "ann 1\n")
			a1 := commitOne(t, ann)
			ann.Splice(ann.Len(), 0, "ann 2\n")
			a2 := commitOne(t, ann)
			if compact {
				if _, err := ann.Snapshot(); err != nil {
					t.Fatal(err)
				}
			}

			// Mallory's forgery, made on a copy like bob's, reaches bob.
			scratch, _, err := Load(doc, nil, "mallory")
			if err != nil {
				t.Fatal(err)
			}
			defer scratch.Close()
			scratch.Splice(0, 0, "FORGED\n")
			forged := forgeAs(t, commitOne(t, scratch).Bytes, annActor, seq+1)
			if err := bob.Apply(forged); err != nil {
				t.Fatalf("bob takes the forgery: %v", err)
			}

			// Bob refuses ann's change: someone else's actor, his to show.
			var ce *CollisionError
			err = bob.Apply(a1.Bytes)
			if !errors.As(err, &ce) || ce.Own || ce.Seq != seq+1 || ce.Actor != annActor {
				t.Fatalf("bob applying ann's change: %v (%+v); want a collision not his own", err, ce)
			}
			// Ann refuses the forgery as a collision with her own change.
			err = ann.Apply(forged)
			if !errors.As(err, &ce) || !ce.Own || string(ce.Theirs) != string(forged) {
				t.Fatalf("ann applying the forgery: %v; want her own collision with its bytes", err)
			}
			if got, _ := ann.Text(); got != "base\nann 1\nann 2\n" {
				t.Fatalf("ann's text changed by a refused change: %q", got)
			}

			res, err := ann.Reissue(ce.Theirs, nil)
			if err != nil {
				t.Fatal(err)
			}
			if res.Dropped != 2 || res.Actor == annActor || ann.Actor() != res.Actor {
				t.Errorf("reissue: %+v (old actor %s)", res, annActor)
			}
			aside := ann.SetAside()
			if len(aside) != 2 || !aside[0].Collided || aside[0].Hash != a1.Hash || aside[1].Hash != a2.Hash || !errors.Is(aside[0], ErrCollision) {
				t.Errorf("set aside %v; want ann's two changes", aside)
			}
			again := commitOne(t, ann)
			if err := bob.Apply(again.Bytes); err != nil {
				t.Fatalf("bob takes ann's edits made again: %v", err)
			}
			want := "FORGED\nbase\nann 1\nann 2\n"
			for _, n := range []*Note{ann, bob} {
				if got, _ := n.Text(); got != want {
					t.Errorf("%s reads %q; want %q", n.Author(), got, want)
				}
			}
			ah, _ := ann.Heads()
			bh, _ := bob.Heads()
			if !SameHeads(ah, bh) {
				t.Errorf("heads differ: ann %v bob %v", ah, bh)
			}
			// Ann's worker agrees with the text she keeps, and a copy made
			// from her document loads to the same.
			saved, err := ann.Save()
			if err != nil {
				t.Fatal(err)
			}
			check, _, err := Load(saved, nil, "check")
			if err != nil {
				t.Fatal(err)
			}
			defer check.Close()
			if got, _ := check.Text(); got != want {
				t.Errorf("ann's saved document reads %q", got)
			}
			// A forgery under an actor not hers: nothing to give way for.
			if _, err := bob.Reissue(forged, nil); !errors.Is(err, ErrNotOwnActor) {
				t.Errorf("bob reissuing for ann's actor: %v; want ErrNotOwnActor", err)
			}
		})
	}
}
