package notebook

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/collab-editor/collab/store"
)

// RelaySettings is what the user said about relaying (`collab relay`):
// whether `collab serve` relays for others without --relay, and the
// peers it relays for beyond the notebook's collaborators.
type RelaySettings struct {
	On      bool     `json:"on"`
	Allowed []string `json:"allowed,omitempty"` // peer IDs; the caller checks them
}

const relaySetting = "relay"

// MaxRelayAllowed bounds the peers a user may allow by hand.
const MaxRelayAllowed = 256

// RelaySettings reads the notebook's relay settings (none said: off, and
// nobody beyond collaborators).
func (nb *Notebook) RelaySettings() (RelaySettings, error) {
	var s RelaySettings
	data, err := nb.store.ReadSetting(relaySetting)
	if errors.Is(err, store.ErrNotFound) {
		return s, nil
	}
	if err != nil {
		return s, fmt.Errorf("relay settings: %w", err)
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return RelaySettings{}, fmt.Errorf("relay settings: %w: %w", store.ErrCorrupt, err)
	}
	if len(s.Allowed) > MaxRelayAllowed {
		s.Allowed = s.Allowed[:MaxRelayAllowed]
	}
	return s, nil
}

// SetRelaySettings stores the notebook's relay settings.
func (nb *Notebook) SetRelaySettings(s RelaySettings) error {
	s.Allowed = slices.Compact(slices.Sorted(slices.Values(s.Allowed)))
	if len(s.Allowed) > MaxRelayAllowed {
		return fmt.Errorf("relay settings: %d allowed peers, at most %d", len(s.Allowed), MaxRelayAllowed)
	}
	data, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("relay settings: %w", err)
	}
	if err := nb.store.WriteSetting(relaySetting, data); err != nil {
		return fmt.Errorf("relay settings: %w", err)
	}
	return nil
}

// RelaySettingsStamp changes whenever the relay settings file does: a
// running peer rereads them only then.
func (nb *Notebook) RelaySettingsStamp() (int64, error) {
	return nb.store.SettingModified(relaySetting)
}
