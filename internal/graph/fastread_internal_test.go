package graph

import (
	"bytes"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
)

func marshalled(m graphql.Marshaler) []byte {
	var b bytes.Buffer
	m.MarshalGQL(&b)
	return b.Bytes()
}

// sameString checks appendGQLString against gqlgen's MarshalString.
func sameString(t *testing.T, s string) {
	t.Helper()
	want := marshalled(graphql.MarshalString(s))
	if got := appendGQLString([]byte("x"), s); !bytes.Equal(got[1:], want) {
		t.Fatalf("%q: appendGQLString %q, MarshalString %q", s, got[1:], want)
	}
}

// TestAppendGQLStringMatchesGqlgen: every control character, quotes,
// backslashes, HTML characters, U+2028/9, invalid UTF-8 (which the API's
// validation keeps out of most fields, but stored or imported data may
// hold), written as gqlgen writes them.
func TestAppendGQLStringMatchesGqlgen(t *testing.T) {
	for c := 0; c < 0x80; c++ {
		sameString(t, string(rune(c)))
		sameString(t, "a"+string(rune(c))+"b")
	}
	for _, s := range []string{"", `q"uote`, `back\slash`, "<b>&amp;", "\u2028\u2029", "\xff\xfe", "h\xc3\xa9llo \xe2\x80", "𝄞 ünï", "\x00\x1f\x7f"} {
		sameString(t, s)
	}
}

// TestAppendTimeMatchesGqlgen: times as graphql.MarshalTime writes them.
func TestAppendTimeMatchesGqlgen(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(2026, 12, 6, 5, 30, 0, 0, time.UTC),
		time.Date(2026, 12, 6, 5, 30, 0, 123456789, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.FixedZone("x", -7*3600-30*60)),
		time.Unix(1700000000, 500).In(time.FixedZone("", 3600)),
		time.Date(-44, 3, 15, 12, 0, 0, 0, time.UTC),
		time.Date(12026, 1, 1, 0, 0, 0, 0, time.FixedZone("odd", 5*3600+45*60+30)),
		time.Date(2026, 6, 1, 0, 0, 0, 0, time.Local),
	} {
		want := marshalled(graphql.MarshalTime(tm))
		if got := appendTime(nil, tm); !bytes.Equal(got, want) {
			t.Fatalf("%v: appendTime %s, MarshalTime %s", tm, got, want)
		}
	}
}

// FuzzAppendGQLString: any string is written as gqlgen writes it.
func FuzzAppendGQLString(f *testing.F) {
	for _, s := range []string{"", "a\tb", "\"\\", "\xff<&>\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { sameString(t, s) })
}
