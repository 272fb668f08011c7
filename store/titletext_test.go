package store

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// TestTitleTextDecodesAsDecode: the fast title-and-text decoder, and
// Decode which uses it, give what encoding/json gives, for views as WriteView writes them (seeded random
// titles and texts with every kind of character JSON escapes) and for JSON
// written by hand, including what the fast path leaves to Decode.
func TestTitleTextDecodesAsDecode(t *testing.T) {
	pieces := []string{"a", "Z", " ", "\n", "\t", "\r", "\"", "\\", "/", "<", ">", "&", "\x00", "\x01", "\x1f", "\x7f",
		"é", "漢字", "👍🏽", "\u2028", "\u2029", "\ufffd", "\xff", "\xe2\x82", "\",\"Text\":\"", "\\u0041", "}"}
	rng := rand.New(rand.NewPCG(12, 34))
	word := func() string {
		var b strings.Builder
		for range rng.IntN(40) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		return b.String()
	}
	check := func(js string) {
		t.Helper()
		raw := RawView{JSON: []byte(js)}
		var want View
		wantErr := json.Unmarshal([]byte(js), &want)
		title, text, _, err := raw.TitleText(nil)
		// TitleText need not look past the text (see the end of the test).
		if wantErr == nil && (err != nil || title != want.Title || text != want.Text) {
			t.Fatalf("%q: TitleText = %q, %q, %v; encoding/json = %q, %q, %v", js, title, text, err, want.Title, want.Text, wantErr)
		}
		got, err := raw.Decode()
		if (err != nil) != (wantErr != nil) || err == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: Decode = %+v, %v; encoding/json = %+v, %v", js, got, err, want, wantErr)
		}
		// ReadView's in-place decode either agrees or declines (and the
		// view is then read again and decoded by Decode).
		if got, ok := decodeViewOwned([]byte(js)); ok && (wantErr != nil || !reflect.DeepEqual(got, want)) {
			t.Fatalf("%q: decodeViewOwned = %+v; encoding/json = %+v, %v", js, got, want, wantErr)
		}
	}
	var buf []byte
	for range 2000 {
		v := View{Title: word(), Text: word(), Heads: []string{"ab", word()}[:rng.IntN(3)], Position: Position{Gen: rng.Uint64(), Offset: rng.Int64()}}
		js, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		check(string(js))
		// The buffer is reused from one view to the next.
		want, _ := RawView{JSON: js}.Decode()
		var title, text string
		title, text, buf, err = RawView{JSON: js}.TitleText(buf)
		if err != nil || title != want.Title || text != want.Text {
			t.Fatalf("reusing the buffer: %q, %q, %v", title, text, err)
		}
	}
	for _, js := range []string{
		`{"Title":"a\ud83d\ude00b","Text":"\u00e9\/x\"","Heads":null,"Position":{"Gen":0,"Offset":0}}`,
		`{"Title":"lone \ud83d here","Text":"","Heads":null,"Position":{"Gen":0,"Offset":0}}`,
		`{"Title":"pair? \ud83d\u0041","Text":"","Heads":null,"Position":{"Gen":0,"Offset":0}}`,
		`{"Title":"raw` + "\xff" + `","Text":"","Heads":null,"Position":{"Gen":0,"Offset":0}}`,
		`{"Title":"ctl` + "\x01" + `","Text":"","Heads":null,"Position":{"Gen":0,"Offset":0}}`,
		`{"Title":"bad \x escape","Text":"","Heads":null,"Position":{"Gen":0,"Offset":0}}`,
		`{"Title":"short \u12","Text":"","Heads":null,"Position":{"Gen":0,"Offset":0}}`,
		`{"Text":"reordered","Title":"t","Heads":null,"Position":{"Gen":0,"Offset":0}}`,
		`{"Title":"t","Text":"unterminated`,
		`{"Title":"t","Text":"x"}`,
		`not json`,
	} {
		check(js)
	}
	// Decode looks at the rest too, and decodes whatever the fast path
	// does not take as encoding/json does.
	for _, js := range []string{
		`{"Title":"t","Text":"x","Heads":["h"],"Position":{"Gen":3,"Offset":4}}`,
		`{"Title":"t","Text":"x","Heads":["h"],"Position":{"Gen":3,"Offset":4}} `,
		`{"Title":"t","Text":"x","Heads":["h"],"Position":{"Gen":3,"Offset":4}}{}`,
		`{"Title":"t","Text":"x","Heads":["h"],"Title":"later","Position":{"Gen":3,"Offset":4}}`,
		`{"Title":"t","Text":"x","Text":"later","Heads":null,"Position":{"Gen":3,"Offset":4}}`,
		`{"Title":"t","Text":"x","Heads":[1],"Position":{"Gen":3,"Offset":4}}`,
		`{"Title":"t","Text":"x","Extra":1,"Position":{"Gen":3,"Offset":4}}`,
	} {
		var want View
		wantErr := json.Unmarshal([]byte(js), &want)
		got, err := RawView{JSON: []byte(js)}.Decode()
		if (err != nil) != (wantErr != nil) || err == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: Decode = %+v, %v; encoding/json = %+v, %v", js, got, err, want, wantErr)
		}
	}
	// What follows the text is not looked at (the blob's checksum vouches
	// for it): a search needs the title and text only.
	if title, text, _, err := (RawView{JSON: []byte(`{"Title":"t","Text":"x","Heads":[1]}`)}).TitleText(nil); err != nil || title != "t" || text != "x" {
		t.Errorf("a view with odd heads: %q, %q, %v", title, text, err)
	}
}
