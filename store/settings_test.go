package store

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// A setting reads back what was written, private to the user; a missing
// one is ErrNotFound; a damaged or oversized file is ErrCorrupt, never
// half-read; a value over the bound is not written.
func TestSettingsRoundTripAndRefuseDamage(t *testing.T) {
	nb := newNotebook(t)
	if _, err := nb.ReadSetting("relay"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing setting: %v", err)
	}
	if stamp, err := nb.SettingModified("relay"); err != nil || stamp != 0 {
		t.Fatalf("stamp of a missing setting: %d, %v", stamp, err)
	}
	want := []byte(`{"on":true}`)
	if err := nb.WriteSetting("relay", want); err != nil {
		t.Fatal(err)
	}
	if got, err := nb.ReadSetting("relay"); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("read back %q, %v", got, err)
	}
	path := filepath.Join(nb.Dir(), "setting.relay")
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("setting file: %v, %v; want 0600", st, err)
	}
	if stamp, err := nb.SettingModified("relay"); err != nil || stamp == 0 {
		t.Fatalf("stamp of a setting: %d, %v", stamp, err)
	}
	if err := nb.WriteSetting("relay", make([]byte, maxSettingSize+1)); err == nil {
		t.Error("an oversized setting was written")
	}
	if err := nb.WriteSetting("../escape", want); !errors.Is(err, ErrInvalidID) {
		t.Errorf("a setting name with a path: %v", err)
	}
	b, _ := os.ReadFile(path)
	b[len(b)-1] ^= 0x20
	os.WriteFile(path, b, 0o600)
	if _, err := nb.ReadSetting("relay"); !errors.Is(err, ErrCorrupt) {
		t.Errorf("flipped byte: %v, want ErrCorrupt", err)
	}
	os.WriteFile(path, make([]byte, 3*maxSettingSize), 0o600)
	if _, err := nb.ReadSetting("relay"); !errors.Is(err, ErrCorrupt) {
		t.Errorf("huge file: %v, want ErrCorrupt", err)
	}
}
