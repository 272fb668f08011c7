package store

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func inviteFile(nb *Notebook, id, suffix string) string {
	return filepath.Join(nb.Dir(), "invites", id+suffix)
}

func TestInvites(t *testing.T) {
	nb := newNotebook(t)
	if invs, warnings, err := nb.Invites(); err != nil || len(invs) != 0 || len(warnings) != 0 {
		t.Fatalf("Invites of a new notebook = %v, %v, %v", invs, warnings, err)
	}
	older := Invite{ID: "noteA", Title: "Groceries", FromPeer: "12D3KooWann", FromName: "ann",
		Addrs: []string{"/ip4/192.168.1.20/tcp/4747"}, Received: time.Unix(100, 0).UTC()}
	newer := Invite{ID: "noteB", FromPeer: "12D3KooWbob", Received: time.Unix(200, 0).UTC()}
	if err := nb.PutInvite(older, []byte("offer A")); err != nil {
		t.Fatal(err)
	}
	if err := nb.PutInvite(newer, nil); err != nil {
		t.Fatal(err)
	}
	invs, warnings, err := nb.Invites()
	if err != nil || len(warnings) != 0 {
		t.Fatal(err, warnings)
	}
	older.OfferSize = int64(len("offer A"))
	if !reflect.DeepEqual(invs, []Invite{newer, older}) {
		t.Fatalf("Invites = %+v, want newest first", invs)
	}
	if got, err := nb.InviteOffer("noteA"); err != nil || string(got) != "offer A" {
		t.Fatalf("InviteOffer = %q, %v", got, err)
	}
	if _, err := nb.InviteOffer("noteB"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("offer of an invitation that came without one: %v", err)
	}

	// A newer invitation for the same note without bytes keeps the offer.
	older.Title = "Groceries (renamed)"
	if err := nb.PutInvite(older, nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := nb.InviteOffer("noteA"); string(got) != "offer A" {
		t.Fatalf("offer after an update without one: %q", got)
	}
	if err := nb.PutInvite(older, []byte("offer A2")); err != nil {
		t.Fatal(err)
	}
	if got, _ := nb.InviteOffer("noteA"); string(got) != "offer A2" {
		t.Fatalf("offer after a new one: %q", got)
	}
	// Bytes left by an invitation that is gone are not a new one's.
	if err := nb.PutInvite(Invite{ID: "noteC"}, []byte("stale")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(inviteFile(nb, "noteC", ".invite")); err != nil {
		t.Fatal(err)
	}
	if err := nb.PutInvite(Invite{ID: "noteC", OfferSize: 5}, nil); err != nil {
		t.Fatal(err)
	}
	if got, err := nb.InviteOffer("noteC"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("offer of an invitation that came without one: %q, %v", got, err)
	}
	if err := nb.RemoveInvite("noteC"); err != nil {
		t.Fatal(err)
	}

	if err := nb.UpdateInvite("noteB", func(inv *Invite) bool { inv.FromName = "bob"; return true }); err != nil {
		t.Fatal(err)
	}
	if inv, err := nb.Invite("noteB"); err != nil || inv.FromName != "bob" {
		t.Fatalf("after UpdateInvite: %+v, %v", inv, err)
	}

	if err := nb.RemoveInvite("noteA"); err != nil {
		t.Fatal(err)
	}
	for _, suffix := range []string{".invite", ".offer"} {
		if _, err := os.Stat(inviteFile(nb, "noteA", suffix)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left after RemoveInvite: %v", suffix, err)
		}
	}
	if err := nb.RemoveInvite("noteA"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second RemoveInvite: %v", err)
	}
	// An update racing a decline must not bring the invitation back.
	if err := nb.UpdateInvite("noteA", func(*Invite) bool { return true }); !errors.Is(err, ErrNotFound) {
		t.Fatalf("UpdateInvite of a removed invitation: %v", err)
	}
	if _, err := nb.Invite("noteA"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("removed invitation came back: %v", err)
	}
	for _, bad := range []string{"", "../x", "a/b"} {
		if err := nb.PutInvite(Invite{ID: bad}, nil); !errors.Is(err, ErrInvalidID) {
			t.Errorf("PutInvite(%q) = %v", bad, err)
		}
	}
}

// TestInvitesListingSkipsOffers: a listing reads only what invitations
// say, so an offer it cannot read does not disturb it.
func TestInvitesListingSkipsOffers(t *testing.T) {
	nb := newNotebook(t)
	if err := nb.PutInvite(Invite{ID: "big", Title: "Big"}, []byte("offer")); err != nil {
		t.Fatal(err)
	}
	// Replace the offer by something no reader can read as a file.
	path := inviteFile(nb, "big", ".offer")
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	invs, warnings, err := nb.Invites()
	if err != nil || len(warnings) != 0 || len(invs) != 1 || invs[0].Title != "Big" {
		t.Fatalf("Invites = %+v, %v, %v", invs, warnings, err)
	}
	if _, err := nb.InviteOffer("big"); err == nil {
		t.Fatal("InviteOffer read a directory")
	}
}

func TestInvitesDamaged(t *testing.T) {
	nb := newNotebook(t)
	for _, id := range []string{"good", "flipped", "torn"} {
		if err := nb.PutInvite(Invite{ID: id, Title: id}, []byte("offer of "+id)); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := os.ReadFile(inviteFile(nb, "flipped", ".invite"))
	b[len(b)-2] ^= 0x20
	os.WriteFile(inviteFile(nb, "flipped", ".invite"), b, 0o600)
	os.WriteFile(inviteFile(nb, "torn", ".invite"), b[:10], 0o600)
	o, _ := os.ReadFile(inviteFile(nb, "good", ".offer"))
	o[len(o)-1] ^= 0x01
	os.WriteFile(inviteFile(nb, "good", ".offer"), o, 0o600)

	invs, warnings, err := nb.Invites()
	if err != nil || len(invs) != 1 || invs[0].ID != "good" || len(warnings) != 2 {
		t.Fatalf("Invites = %+v, warnings %v, %v", invs, warnings, err)
	}
	for _, w := range warnings {
		if !errors.Is(w, ErrCorrupt) {
			t.Errorf("warning %v does not wrap ErrCorrupt", w)
		}
	}
	if _, err := nb.InviteOffer("good"); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("damaged offer: %v", err)
	}
	// A damaged invitation can still be declined.
	if err := nb.RemoveInvite("flipped"); err != nil {
		t.Fatal(err)
	}
}

func TestOrphanOfferRemovedOnOpen(t *testing.T) {
	nb := newNotebook(t)
	if err := nb.PutInvite(Invite{ID: "kept"}, []byte("k")); err != nil {
		t.Fatal(err)
	}
	if err := nb.PutInvite(Invite{ID: "gone"}, []byte("g")); err != nil {
		t.Fatal(err)
	}
	// A process stopped after removing the invitation, before its offer.
	if err := os.Remove(inviteFile(nb, "gone", ".invite")); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(nb.Dir()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(inviteFile(nb, "gone", ".offer")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("orphan offer left: %v", err)
	}
	if got, err := nb.InviteOffer("kept"); err != nil || string(got) != "k" {
		t.Errorf("kept offer = %q, %v", got, err)
	}
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.automerge")
	if err := WriteFile(path, []byte("one")); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, []byte("two")); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "two" {
		t.Fatalf("read back %q, %v", b, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("files left beside it: %v", entries)
	}
	if err := WriteFile(filepath.Join(dir, "missing", "x"), []byte("x")); err == nil {
		t.Fatal("WriteFile into a missing directory succeeded")
	}
}
