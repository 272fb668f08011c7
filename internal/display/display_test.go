package display

import "testing"

func TestLine(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Groceries", "Groceries"},
		{"  two\nlines\tand  tabs ", "two lines and tabs"},
		{"\x1b[31mred\x1b[0m title", "red title"},                        // SGR colour
		{"\x1b[2J\x1b[Hcleared", "cleared"},                              // clear screen, cursor home
		{"\x1b]8;;https://evil.example\x07link\x1b]8;;\x07", "link"},     // OSC 8 hyperlink
		{"\x1b]0;new window title\x1b\\after", "after"},                  // OSC with ST
		{"bell\x07 nul\x00 del\x7f", "bell nul del"},                     // C0 and DEL
		{"c1\u009b31m csi", "c131m csi"},                                 // a C1 CSI loses its power
		{"\u202Egnp.exe", "gnp.exe"},                                     // right-to-left override
		{"a\u2066b\u2069c\u200Fd\u061Ce", "abcde"},                       // isolates, marks
		{"line\u2028sep", "line sep"},                                    // line separator
		{"bad \xff\xfe utf8", "bad \uFFFD utf8"},                         // invalid UTF-8
		{"family 👨\u200d👩\u200d👧 emoji", "family 👨\u200d👩\u200d👧 emoji"}, // ZWJ kept
		{"\x1b[", ""},
		{"", ""},
	} {
		if got := Line(tc.in); got != tc.want {
			t.Errorf("Line(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestTitle(t *testing.T) {
	if got := Title(" \x1b[1m\x1b[0m\n"); got != "(untitled)" {
		t.Errorf("Title of nothing visible = %q", got)
	}
	if got := Title("Plans\r\n"); got != "Plans" {
		t.Errorf("Title = %q", got)
	}
}

func TestID(t *testing.T) {
	ann := "12D3KooWAnnXqL7nN5f2b8nVdBcZpRr4Nd3QyWq1hB9GkA4Tu7Xz"
	bob := "12D3KooWBobYv2n8mN5f2b8nVdBcZpRr4Nd3QyWq1hB9GkPq2Lm1"
	if ID(ann) == ID(bob) {
		t.Errorf("two peer IDs look alike: %q", ID(ann))
	}
	if got := ID(ann); got != "…kA4Tu7Xz" {
		t.Errorf("ID(%s) = %q", ann, got)
	}
	if got := ID("js-peer"); got != "js-peer" {
		t.Errorf("short ID = %q", got)
	}
	if got := ID("x\x1b[2Jabcdefghij"); got != "…cdefghij" {
		t.Errorf("ID with an escape sequence = %q", got)
	}
}

func TestName(t *testing.T) {
	if got := Name("ann\x1b[5m", "12D3KooWxyz"); got != "ann" {
		t.Errorf("Name = %q", got)
	}
	if got := Name(" \t", "12D3KooWAnnXqL7nN5f2b8n"); got != "…nN5f2b8n" {
		t.Errorf("Name without a name = %q", got)
	}
}

func TestListReadsAsPeopleWrite(t *testing.T) {
	for _, c := range []struct {
		names []string
		want  string
	}{
		{nil, ""},
		{[]string{"ann"}, "ann"},
		{[]string{"ann", "bob"}, "ann and bob"},
		{[]string{"ann", "bob", "cem"}, "ann, bob and cem"},
	} {
		if got := List(c.names); got != c.want {
			t.Errorf("List(%q) = %q, want %q", c.names, got, c.want)
		}
	}
}
