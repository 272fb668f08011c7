package engine

import (
	"fmt"
	"reflect"

	"github.com/fxamacker/cbor/v2"
)

// Wire form of presence, automerge-repo's Presence envelope.
type presenceEnvelope struct {
	P presenceWire `cbor:"__presence"`
}

type presenceWire struct {
	Type     string     `cbor:"type"`
	UserID   string     `cbor:"userId,omitempty"`
	DeviceID string     `cbor:"deviceId,omitempty"`
	State    *stateWire `cbor:"state,omitempty"`
}

type stateWire struct {
	Name   string   `cbor:"name,omitempty"`
	Color  string   `cbor:"color,omitempty"`
	Cursor *uint64  `cbor:"cursor,omitempty"`
	Anchor *uint64  `cbor:"anchor,omitempty"`
	Heads  []string `cbor:"heads,omitempty"`
	Before string   `cbor:"before,omitempty"`
	After  string   `cbor:"after,omitempty"`
}

var (
	presenceDec  cbor.DecMode
	presenceEnc  cbor.EncMode
	mapStringAny = reflect.TypeOf(map[string]any(nil))
)

func init() {
	var err error
	presenceDec, err = cbor.DecOptions{
		MaxNestedLevels:  8,
		MaxArrayElements: 256,
		MaxMapPairs:      64,
		DefaultMapType:   mapStringAny,
	}.DecMode()
	if err != nil {
		panic(fmt.Sprintf("engine: presence decode options: %v", err))
	}
	// Nil slices go out as empty arrays, never as null, which JavaScript
	// code would trip over.
	presenceEnc, err = cbor.EncOptions{NilContainers: cbor.NilContainerAsEmpty}.EncMode()
	if err != nil {
		panic(fmt.Sprintf("engine: presence encode options: %v", err))
	}
}

// encodePresence encodes a Presence envelope of type typ ("snapshot" with
// state, "goodbye" without) from this peer's user and session.
func encodePresence(typ, userID, deviceID string, state *stateWire) ([]byte, error) {
	return presenceEnc.Marshal(presenceEnvelope{P: presenceWire{Type: typ, UserID: userID, DeviceID: deviceID, State: state}})
}

// decodePresence reads an automerge-repo Presence envelope; ok=false for
// anything else.
func decodePresence(data []byte) (typ string, state map[string]any, channel string, value any, ok bool) {
	var v map[string]any
	if err := presenceDec.Unmarshal(data, &v); err != nil {
		return "", nil, "", nil, false
	}
	p, _ := v["__presence"].(map[string]any)
	if p == nil {
		return "", nil, "", nil, false
	}
	typ, _ = p["type"].(string)
	state, _ = p["state"].(map[string]any)
	channel, _ = p["channel"].(string)
	return typ, state, channel, p["value"], typ != ""
}
