package carbon

import (
	"statbox/storage/layout"
	"strings"
	"testing"
)

// normalizeCases hold TaggedSeries.parse(name).path from carbon 1.1.7's
// lib/carbon/util.py ("" with ErrBadTags where it raises); TestCarbonTaggedSeries
// checks them against carbon itself where it is installed.
var normalizeCases = []struct {
	name, want string
	err        error
}{
	{name: "a.b.c", want: "a.b.c"},
	{name: "~a.b", want: "a.b"},
	{name: "~~~", err: ErrBadTags},
	{name: "a;b=c", want: "a;b=c"},
	{name: "a.b;z=1;a=2", want: "a.b;a=2;z=1"},
	{name: "a;a.b=1;a=2", want: "a;a.b=1;a=2"},
	{name: "a;a=2;a.b=1", want: "a;a.b=1;a=2"},
	{name: "a;aa=1;a=2;a-b=3;a_b=4;A=5", want: "a;A=5;a-b=3;a=2;a_b=4;aa=1"},
	{name: "a;b=1;c=2;b=3", want: "a;b=3;c=2"},
	{name: "a;name=x;b=1", want: "a;b=1"},
	{name: "a;name=x", want: "a"},
	{name: "~a;b=c", want: "a;b=c"},
	{name: "a;b=c=d", want: "a;b=c=d"},
	{name: "a;b=!^~", want: "a;b=!^~"},
	{name: "a;é=ü;e=u", want: "a;e=u;é=ü"},
	{name: "a;b=c;", err: ErrBadTags},
	{name: "a;", err: ErrBadTags},
	{name: "a;;b=c", err: ErrBadTags},
	{name: "a;b", err: ErrBadTags},
	{name: "a;=b", err: ErrBadTags},
	{name: "a;b=", err: ErrBadTags},
	{name: "a;b=~c", err: ErrBadTags},
	{name: "a;b!=c", err: ErrBadTags},
	{name: "a;b^=c", err: ErrBadTags},
	{name: "a;name=~x", err: ErrBadTags},
	{name: ";b=c", err: ErrBadTags},
	{name: "~;b=c", err: ErrBadTags},
	{name: `a{b="c"}`, want: "a;b=c"},
	{name: `a{b="c",a="d"}`, want: "a;a=d;b=c"},
	{name: `a{b="c":,d="e"}`, want: "a;b=c;d=e"},
	{name: `a{b="x\"y\\z"}`, want: `a;b=x"y\z`},
	{name: `a{b="\\\""}`, want: `a;b=\"`},
	{name: `a{b="c",b="d"}`, want: "a;b=d"},
	{name: `a{b c,"d="e"}`, want: `a;b c,"d=e`},
	{name: `~a{name="q",b="c"}`, want: "a;b=c"},
	{name: `a{b="c}d"}`, want: "a;b=c}d"},
	{name: `a{b="c"d"}`, err: ErrBadTags},
	{name: `a{b="c",}"}`, err: ErrBadTags},
	{name: `a{b="\x"}`, err: ErrBadTags},
	{name: `a{b=""}`, err: ErrBadTags},
	{name: `a{="c"}`, err: ErrBadTags},
	{name: `a{b="c";d="e"}`, err: ErrBadTags},
	{name: `a{b!="c"}`, err: ErrBadTags},
	{name: `a{b="~c"}`, err: ErrBadTags},
	{name: `a{b="c;d"}`, err: ErrBadTags},
	{name: `{b="c"}`, err: ErrBadTags},
	{name: `~{b="c"}`, err: ErrBadTags},
	{name: `a{b="c"}{"}`, err: ErrBadTags},
	{name: `a{b="c"`, want: `a{b="c"`},
	{name: `a{}`, want: `a{}`},
	{name: `a;x=y{b="c"}`, err: ErrBadTags}, // carbon: "a;x=y;b=c"; we refuse it
}

func TestAppendNormalized(t *testing.T) {
	for _, c := range normalizeCases {
		dst := []byte("prefix")
		got, err := AppendNormalized(dst, []byte(c.name))
		if err != c.err {
			t.Errorf("%q: err %v, want %v", c.name, err, c.err)
			continue
		}
		want := "prefix" + c.want
		if err != nil {
			want = "prefix"
		}
		if string(got) != want {
			t.Errorf("%q: got %q, want %q", c.name, got, want)
		}
	}
}

// TestAppendNormalizedManyTags goes past the stack space for 32 tags.
func TestAppendNormalizedManyTags(t *testing.T) {
	var in, want strings.Builder
	in.WriteString("m")
	want.WriteString("m")
	for i := 99; i >= 0; i-- {
		in.WriteString(";t" + string(rune('a'+i%26)) + strings.Repeat("x", i/26) + "=v")
	}
	for i := range 26 {
		for j := 0; j < 4; j++ {
			if k := j*26 + i; k < 100 {
				want.WriteString(";t" + string(rune('a'+i)) + strings.Repeat("x", j) + "=v")
			}
		}
	}
	got, err := AppendNormalized(nil, []byte(in.String()))
	if err != nil || string(got) != want.String() {
		t.Errorf("got %q, %v\nwant %q", got, err, want.String())
	}
}

func TestCheckName(t *testing.T) {
	for _, c := range []struct {
		name string
		ok   bool
	}{
		{"a", true},
		{"a.b.c", true},
		{"a;b=c", true},
		{"a;b=/x/../y", true},
		{"a;b=c.d..e", true},
		{"é.ü", true},
		{"", false},
		{"a b", false},
		{"a\u00a0b", false},
		{"a\tb", false},
		{"a\nb", false},
		{".a", false},
		{"a.", false},
		{"a..b", false},
		{"a/b", false},
		{"..", false},
		{"a\x00", false},
		{"a\x7f", false},
		{"a\u009f", false},
		{"a\xc3", false},
		{";b=c", false},
		{"a.;b=c", false},
		{"a/b;c=d", false},
		{"a;b=c\x00", false},
		{strings.Repeat("x", 251), true},
		{strings.Repeat("x", 252), false},
		{strings.Repeat("x", 255) + ";a=b", true},
		{strings.Repeat("x", 256) + ";a=b", false},
		{"a;b=" + strings.Repeat("x", 4092), true},
		{"a;b=" + strings.Repeat("x", 4093), false},
	} {
		err := CheckName([]byte(c.name))
		if (err == nil) != c.ok {
			t.Errorf("CheckName(%q) = %v, want ok=%v", c.name, err, c.ok)
		}
		if err != nil && err != ErrBadName {
			t.Errorf("CheckName(%q) = %v, want ErrBadName", c.name, err)
		}
	}
}

func TestAppendName(t *testing.T) {
	for _, c := range []struct {
		name, want string
		err        error
	}{
		{name: "a.b", want: "a.b"},
		{name: "~a.b", want: "a.b"},
		{name: "~~", want: "~~"},
		{name: "a;z=1;a=2", want: "a;a=2;z=1"},
		{name: "a;b", err: ErrBadTags},
		{name: `a{b!="c"}`, want: `a{b!="c"}`},
		{name: "a..b", err: ErrBadName},
		{name: "~.a", err: ErrBadName},
		{name: strings.Repeat("x.", 2048) + "x", err: ErrBadName},
	} {
		got, err := AppendName([]byte("p:"), []byte(c.name))
		want := "p:" + c.want
		if c.err != nil {
			want = "p:"
		}
		if err != c.err || string(got) != want {
			t.Errorf("AppendName(%q) = %q, %v; want %q, %v", c.name, got, err, want, c.err)
		}
	}
}

// whisperPathCases were computed by carbon 1.1.7's TaggedSeries.encode(name,
// "/", hash_only=True) + ".wsp"; TestPythonWhisperPath recomputes the hashes.
var whisperPathCases = []struct{ name, want string }{
	{"a", "a.wsp"},
	{"a.b.c", "a/b/c.wsp"},
	{"servers.web01.cpu.total.user", "servers/web01/cpu/total/user.wsp"},
	{"métrique.°C", "métrique/°C.wsp"},
	{".a.b", "a/b.wsp"}, // lstrip(sep), for names CheckName would refuse
	{"a;b=c", "_tagged/81e/2f5/81e2f530462430f177b8713d2a3507d3b0cd2df5ec039aef399b7c3242a56dc3.wsp"},
	{"a.b;a=2;z=1", "_tagged/963/a41/963a41ebffef4c7bdaedc14a1c36dd4c2ad805f010fdcd956462ecee1d0d4563.wsp"},
	{"servers.web01.cpu;dc=ams;role=web", "_tagged/8c4/afd/8c4afd448861adbee5e6c8dbcd784eb57f2508fe3574664985f2b03f323a2847.wsp"},
	{"métrique;unité=°C", "_tagged/724/fc1/724fc18ac70fdd1c1b75b108dfe43c1d6016ab6fd63ca34acf060ae6968c2abf.wsp"},
	{"a;path=/var/log", "_tagged/e66/79b/e6679b60a02a682524ab204defa9ff817d79987ee72646bad0645acf51d5f9ad.wsp"},
}

func TestLayoutPath(t *testing.T) {
	for _, c := range whisperPathCases {
		if got := layout.AppendPath([]byte("x/"), []byte(c.name)); string(got) != "x/"+c.want {
			t.Errorf("layout.AppendPath(%q) = %q, want %q", c.name, got, "x/"+c.want)
		}
	}
}
