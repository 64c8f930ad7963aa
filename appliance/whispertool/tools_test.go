package whispertool

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// now is the clock of both sides: Tue Nov 14 22:13:20 2023 UTC.
const now = 1700000000

var methods = []string{"average", "sum", "last", "max", "min", "avg_zero", "absmax", "absmin"}

// fixtures writes files the way carbon would: each point at its own time, so
// archives fill, wrap around, and propagate; with gaps, zeros and negative
// values, several retention schemes and every aggregation method.
const fixtures = `
import struct

def live(path, start, stop, step, value, skip=lambda t: False):
    for t in range(start, stop + 1, step):
        if not skip(t):
            whisper.update(path, value(t), t, now=t)

whisper.create('avg.wsp', [(60, 30), (300, 24), (3600, 10)])
live('avg.wsp', now - 36000, now, 60, lambda t: (t % 1000) / 7.0,
     lambda t: (t // 60) % 7 in (0, 1) or now - 12000 < t < now - 9000)

for m in ['average', 'sum', 'last', 'max', 'min', 'avg_zero', 'absmax', 'absmin']:
    whisper.create(m + '.wsp', [(10, 12), (60, 10), (300, 6)], xFilesFactor=0.3, aggregationMethod=m)
    live(m + '.wsp', now - 1800, now - 3, 10, lambda t: ((t // 10) % 9 - 4) * 1.5,
         lambda t: (t // 10) % 5 == 0 or now - 900 < t < now - 600)

whisper.create('special.wsp', [(60, 10)], xFilesFactor=0)
whisper.update_many('special.wsp', [(now - 60 * i, v) for i, v in enumerate(
    [float('nan'), float('inf'), float('-inf'), 0.0, -0.0, 1e20, 1e-7, 5e-324, -123456.789, 1/3])], now=now)

whisper.create('empty.wsp', [(60, 10), (600, 10)])
whisper.create('single.wsp', [(1, 120)], xFilesFactor=1, aggregationMethod='max')
live('single.wsp', now - 200, now, 1, lambda t: t % 13)

whisper.create('hours.wsp', [(3600, 24 * 30), (86400, 365)], aggregationMethod='sum')
live('hours.wsp', now - 3600 * 24 * 40, now, 3600, lambda t: 1.0)

open('zero.wsp', 'wb').close()
open('short.wsp', 'wb').write(b'\x00\x00\x00\x01\x00')
open('badagg.wsp', 'wb').write(struct.pack('!2LfL', 9, 60, 0.5, 1) + struct.pack('!3L', 28, 60, 1) + bytes(12))
open('badxff.wsp', 'wb').write(struct.pack('!2LfL', 1, 60, 2.0, 1) + struct.pack('!3L', 28, 60, 1) + bytes(12))
open('noarch.wsp', 'wb').write(struct.pack('!2LfL', 1, 60, 0.5, 2) + struct.pack('!3L', 40, 60, 1))
open('trunc.wsp', 'wb').write(open('avg.wsp', 'rb').read()[:500])
open('past.wsp', 'wb').write(struct.pack('!2LfL', 1, 600, 0.5, 1) + struct.pack('!3L', 28, 60, 10) + bytes(12))
os.mkdir('dir.wsp')
`

var dataFiles = append([]string{"avg", "special", "empty", "single", "hours"}, methods...)

var corruptFiles = []string{"zero", "short", "badagg", "badxff", "noarch", "trunc", "past", "dir", "missing"}

// fixturePair is a pair whose directories hold the fixtures and whatever
// the extra Python lines make.
func fixturePair(t *testing.T, tz string, extra ...string) *pair {
	p := newPair(t, now, tz)
	p.setup(fixtures + "\n" + strings.Join(extra, "\n"))
	return p
}

func TestInfo(t *testing.T) {
	t.Parallel()
	p := fixturePair(t, "UTC")
	for _, f := range append(dataFiles, corruptFiles...) {
		p.check("info", "@"+f+".wsp")
		p.check("info", "--json", "@"+f+".wsp")
	}
	for _, field := range []string{"aggregationMethod", "maxRetention", "xFilesFactor", "fileSize", "archives", "bogus", "", "Archives"} {
		p.check("info", "@average.wsp", field)
		p.check("info", "--json", "@avg.wsp", field, "extra")
	}
	p.check("info")
	p.check("info", "--j", "@avg.wsp")
	p.check("info", "@avg.wsp", "--json=yes")
	p.check("info", "--", "--json")
	p.check("info", "-x", "@avg.wsp")
}

func TestFetch(t *testing.T) {
	t.Parallel()
	p := fixturePair(t, "UTC")
	for _, f := range dataFiles {
		p.check("fetch", "@"+f+".wsp")
		p.check("fetch", "--json", "@"+f+".wsp")
	}
	for _, f := range corruptFiles {
		// whisper.py fetches Nones from past.wsp, whose archive lies past the
		// end of the file and reads as zeros; the library refuses to map it.
		if f != "past" {
			p.check("fetch", "@"+f+".wsp")
		}
	}
	ranges := [][]string{
		{"--from", fmt.Sprint(now - 3600)},
		{"--from", fmt.Sprint(now - 100000)},
		{"--from", fmt.Sprint(now - 30000), "--until", fmt.Sprint(now - 20000)},
		{"--from=" + fmt.Sprint(now-1799), "--until=" + fmt.Sprint(now-1)},
		{"--from", fmt.Sprint(now + 10)},
		{"--until", fmt.Sprint(now - 500000), "--from", "0"},
		{"--from", fmt.Sprint(now - 600), "--until", fmt.Sprint(now - 600)},
		{"--from", fmt.Sprint(now - 600), "--until", fmt.Sprint(now - 700)},
		{"--until", fmt.Sprint(now + 5000), "--from", fmt.Sprint(now - 50)},
		{"--from", "0x6553f000"},
		{"--from", "0"},
	}
	for _, f := range []string{"avg", "max", "special", "empty"} {
		for _, r := range ranges {
			p.check("fetch", append([]string{"@" + f + ".wsp"}, r...)...)
			p.check("fetch", append([]string{"--json", "@" + f + ".wsp"}, r...)...)
		}
	}
	for _, f := range []string{"avg", "special", "avg_zero"} {
		for _, drop := range []string{"nulls", "zeroes", "empty"} {
			p.check("fetch", "--drop", drop, "@"+f+".wsp")
			p.check("fetch", "--json", "--drop="+drop, "@"+f+".wsp")
		}
	}
	for _, args := range [][]string{
		{}, {"@avg.wsp", "@avg.wsp"}, {"--from", "abc", "@avg.wsp"}, {"--until=1e3", "@avg.wsp"}, {"--from", "08", "@avg.wsp"},
		{"--drop", "none", "@avg.wsp"}, {"@avg.wsp", "-t"}, {"@avg.wsp", "--from"}, {"--fr", "1699999000", "@avg.wsp"},
		{"--bogus", "@avg.wsp"}, {"--pretty=1", "@avg.wsp"}, {"-h"}, {"--help", "--bogus"}, {"--bogus", "--help"},
		{"--", "@avg.wsp"}, {"-x"}, {"--js", "--dr", "nulls", "@avg.wsp"}, {"@it's.wsp"}, {"@caf\u00e9\t.wsp"},
		{"--=x", "@avg.wsp"}, {"--time-format=%Y=%m", "--pretty", "@avg.wsp"}, {"--from", " 0x10", "@avg.wsp"},
	} {
		p.check("fetch", args...)
	}
}

// TestPretty checks --pretty in local time, in zones with and without
// daylight saving time; hours.wsp spans a change of it in Europe.
func TestPretty(t *testing.T) {
	t.Parallel()
	for _, tz := range []string{"UTC", "Europe/Berlin", "America/New_York"} {
		if _, err := time.LoadLocation(tz); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s: %v (apt-get install tzdata)", tz, err)
			}
			t.Logf("skipping %s: %v", tz, err)
			continue
		}
		p := fixturePair(t, tz)
		for _, f := range []string{"avg", "hours", "special"} {
			p.check("fetch", "--pretty", "@"+f+".wsp")
			p.check("fetch", "--pretty", "-t", "%Y-%m-%d %H:%M:%S %Z %z", "@"+f+".wsp", "--from", "0")
			p.check("fetch", "--pretty", "-t%c|%s|%j|%a %A %b %B|%p|%I|%e|%%", "@"+f+".wsp")
			p.check("fetch", "--pretty", "--time-format=", "@"+f+".wsp")
			p.check("fetch", "--time-format=%s", "@"+f+".wsp")
		}
		p.check("dump", "--pretty", "@avg.wsp")
		p.check("dump", "--pretty", "-t", "%Y-%m-%dT%H:%M:%S%z", "@special.wsp")
	}
}

func TestUpdate(t *testing.T) {
	t.Parallel()
	p := fixturePair(t, "UTC")
	ts := func(ago int) string { return fmt.Sprint(now - ago) }
	for _, f := range append(dataFiles, "avg") {
		w := "@" + f + ".wsp"
		p.check("update", w, "N:42")
		p.check("update", w, ts(65)+":1.5")
		p.check("update", w, ts(5000)+":-2")
		p.check("update", w, ts(0)+":3", ts(10)+":4", ts(30)+":0", ts(61)+":5", ts(700)+":6", ts(4000)+":7", ts(50000)+":8", ts(-100)+":9")
		p.check("update", w, ts(100)+":1", ts(100)+":2", ts(95)+":3", ts(300)+":4", ts(290)+":5")
	}
	w := "@empty.wsp"
	var many []string
	for i := 0; i < 40; i++ {
		many = append(many, fmt.Sprintf("%d:%d", now-i*37, i%6))
	}
	p.check("update", append([]string{w}, many...)...)
	for _, args := range [][]string{
		{w, ts(10) + ":nan"}, {w, ts(20) + ":-nan"}, {w, ts(30) + ":inf"}, {w, ts(40) + ":-Infinity"},
		{w, " " + ts(50) + " :1e3"}, {w, ts(60) + ":1_000.5"}, {w, ts(70) + ":0x10"}, {w, "1.5:1"},
		{w, ts(80) + ":abc"}, {w, "5"}, {w, "1:2:3"}, {w, ts(0) + ":1", "7"}, {w, ts(0) + ":1", "1:2:3"},
		{w, ts(0) + ":1", "x:2"}, {w, ts(0) + ":1", "5:y"}, {w, ts(700000) + ":1"}, {w, ts(-1) + ":1"},
		{w, "N:1", "N:2"}, {w, "4294967300:1", ts(0) + ":2"}, {w, "99999999999:1"}, {w}, {}, {"--x", w},
		{"@missing.wsp", "N:1"}, {"@missing.wsp", "N:1", "N:2"}, {"@zero.wsp", "N:1"}, {"@badxff.wsp", "N:1", "N:2"},
		{"@dir.wsp", "N:1"}, {"@short.wsp", "N:1"}, {"@missing.wsp", "N:x"}, {"@missing.wsp", "x:1"},
		{w, "NN:5"}, {"--", w, "N:7"}, {w, ts(10) + ":-1", ts(20) + ":-2", "--", ts(30) + ":-3"},
	} {
		p.check("update", args...)
	}
}

func TestCreate(t *testing.T) {
	t.Parallel()
	p := fixturePair(t, "UTC")
	n := 0
	file := func() string { n++; return fmt.Sprintf("@new%d.wsp", n) }
	for _, rets := range [][]string{
		{"60:1440"}, {"1m:1d", "1h:7d"}, {"1h:7d", "1m:1d"}, {"15m:8"}, {"1s:60", "1min:60", "1h:24", "1d:2y"},
		{"10:12", "60:10", "300:6"}, {" 60:10 "}, {"12h:2y"}, {"1w:10"}, {"1y:3"}, {"60:1440", "60:10"},
		{"60:10", "90:100"}, {"60:100", "300:10"}, {"60:2", "300:10"}, {"60"}, {"60:x"}, {"x:60"}, {"60:10:5"},
		{"60:1z"}, {"1q:10"}, {"60:10,300:10"}, {"60:1hour"}, {"60:7days"},
	} {
		p.check("create", append([]string{file()}, rets...)...)
	}
	for _, xff := range []string{"1.5", "-0.1", "1.0000000001", "-1e-300"} {
		p.checkNoLeftover("bad.wsp", "create", "@bad.wsp", "60:10", "--xFilesFactor", xff)
	}
	p.checkNoLeftover("bad.wsp", "create", "@bad.wsp", "60:10", "--aggregationMethod", "median")
	for _, opts := range [][]string{
		{"--xFilesFactor", "0"}, {"--xFilesFactor=1"}, {"--xFilesFactor", "0.3"}, {"--xFilesFactor", "1e-50"},
		{"--xFilesFactor", "abc"}, {"--xFilesFactor", "0x1"}, {"--sparse"}, {"--fallocate"}, {"--sparse", "--fallocate"},
		{"--aggregationMethod", "max", "--xFilesFactor", "0.25"},
	} {
		p.check("create", append([]string{file(), "60:10", "600:10"}, opts...)...)
	}
	for _, m := range methods {
		p.check("create", "--aggregationMethod="+m, file(), "10:6", "60:10")
	}
	p.check("create", "@avg.wsp", "60:10")
	p.check("create", "@avg.wsp", "60:10", "--overwrite")
	p.check("create", "--overwrite", "@fresh.wsp", "60:10")
	p.check("create", "@avg.wsp", "60:10", "--aggregationMethod=bogus")
	p.check("create", "@avg.wsp", "60:10", "60:20")
	p.check("create", "@nodir/x.wsp", "60:10")
	p.check("create", "@dir.wsp", "60:10")
	p.check("create", "@dir.wsp", "60:10", "--overwrite")
	for _, args := range [][]string{
		{"--estimate", "60:1440"}, {"--estimate", "1m:1d,1h:7d,1d:5y"}, {"--estimate", "1m:1d", "1h:7d"},
		{"--estimate", ",60:10"}, {"--estimate"}, {"--estimate", "60:10", "bad"}, {"--estimate", "1s:5y"},
		{"--estimate", "1s:100y", "1m:100y"}, {}, {"@only.wsp"}, {"-h"}, {"--over", "@x.wsp", "60:10"},
		{"--xFilesFactor"}, {"--bogus", "@x.wsp", "60:10"}, {"--estimate=1"},
	} {
		p.check("create", args...)
	}
}

func TestDump(t *testing.T) {
	t.Parallel()
	p := fixturePair(t, "UTC")
	for _, f := range append(dataFiles, corruptFiles...) {
		p.check("dump", "@"+f+".wsp")
	}
	p.check("dump", "-t", "%s", "@special.wsp")
	for _, args := range [][]string{{}, {"@avg.wsp", "@avg.wsp"}, {"-h"}, {"--pretty", "--bogus"}, {"-t"}} {
		p.check("dump", args...)
	}
}

func TestResize(t *testing.T) {
	t.Parallel()
	p := fixturePair(t, "UTC")
	p.check("resize", "@avg.wsp", "60:60", "600:100")
	p.check("resize", "@avg.wsp", "30:120", "3600:24", "--nobackup")
	p.check("resize", "@single.wsp", "1:60", "--xFilesFactor", "0.1", "--aggregationMethod", "min")
	p.check("resize", "@hours.wsp", "1d:1y", "--newfile", "@hours-new.wsp")
	p.check("resize", "@hours.wsp", "1h:1d", "--newfile", "@hours-new.wsp")
	for i, m := range methods {
		p.check("resize", "@"+m+".wsp", "10:6", "120:20", "--force")
		p.check("resize", "@"+m+".wsp", "60:5", "300:100", "--aggregationMethod", methods[(i+3)%len(methods)])
	}
	p.checkNoLeftover("avg.wsp.tmp", "resize", "@avg.wsp", "60:10", "--aggregationMethod", "median")
	p.checkNoLeftover("avg.wsp.tmp", "resize", "@avg.wsp", "60:10", "--xFilesFactor", "2")
	p.checkNoLeftover("new.wsp", "resize", "@avg.wsp", "60:10", "--xFilesFactor", "-1", "--newfile", "@new.wsp")
	os.WriteFile(filepath.Join(p.pyDir, "avg.wsp.tmp"), []byte("old"), 0o644)
	os.WriteFile(filepath.Join(p.goDir, "avg.wsp.tmp"), []byte("old"), 0o644)
	p.check("resize", "@avg.wsp", "60:10")
	for _, args := range [][]string{
		{"@missing.wsp", "60:10"}, {"@avg.wsp"}, {}, {"@avg.wsp", "60"}, {"@avg.wsp", "60:10", "90:10"},
		{"@avg.wsp", "60:10", "--newfile", "@max.wsp"},
		{"@zero.wsp", "60:10"}, {"@badagg.wsp", "60:10"}, {"--n", "@x.wsp", "@avg.wsp", "60:10"},
		{"@avg.wsp", "60:10", "--newfile"}, {"--help"},
	} {
		p.check("resize", args...)
	}
}

func TestMerge(t *testing.T) {
	t.Parallel()
	p := newPair(t, now, "UTC")
	p.setup(fixtures + `
def other(path, archives, method):
    whisper.create(path, archives, xFilesFactor=0.3, aggregationMethod=method)
    live(path, now - 2400, now, 10, lambda t: t % 17 - 8, lambda t: (t // 10) % 3 == 0)
for m in ['average', 'sum', 'last', 'max', 'min', 'avg_zero', 'absmax', 'absmin']:
    other(m + '-dst.wsp', [(10, 12), (60, 10), (300, 6)], m)
whisper.create('avg-dst.wsp', [(60, 30), (300, 24), (3600, 10)])
live('avg-dst.wsp', now - 20000, now, 60, lambda t: 1.0, lambda t: (t // 60) % 3 == 0)
whisper.create('fresh-dst.wsp', [(60, 30), (300, 24), (3600, 10)])
`)
	for _, m := range methods {
		p.check("merge", "@"+m+".wsp", "@"+m+"-dst.wsp")
	}
	p.check("merge", "@avg.wsp", "@fresh-dst.wsp")
	p.check("merge", "--from", fmt.Sprint(now-7000), "--until", fmt.Sprint(now-1000), "@avg.wsp", "@avg-dst.wsp")
	p.check("merge", "@avg.wsp", "@avg-dst.wsp", "--until", fmt.Sprint(now-30000))
	p.check("merge", "@avg.wsp", "@avg-dst.wsp", "--from", fmt.Sprint(now-300))
	for _, args := range [][]string{
		{"@avg.wsp", "@avg-dst.wsp", "--from", "20", "--until", "10"}, {"@avg.wsp", "@max.wsp"},
		{"@missing.wsp", "@avg.wsp"}, {"@avg.wsp", "@missing.wsp"}, {"@avg.wsp"}, {}, {"--from", "x", "@a", "@b"},
		{"@zero.wsp", "@avg.wsp"}, {"@avg.wsp", "@badagg.wsp"}, {"-h"},
	} {
		p.check("merge", args...)
	}
}

func TestFill(t *testing.T) {
	t.Parallel()
	for _, clock := range []float64{now, now + 0.75, now + 37.25} {
		p := newPair(t, clock, "UTC")
		p.setup(fixtures + `
def holes(path, archives, method, skip):
    whisper.create(path, archives, xFilesFactor=0.3, aggregationMethod=method)
    live(path, now - 2400, now - 3, 10, lambda t: 0.0 if (t // 10) % 11 == 0 else t % 17 - 8, skip)
for m in ['average', 'sum', 'last', 'max', 'min', 'avg_zero', 'absmax', 'absmin']:
    holes(m + '-dst.wsp', [(10, 12), (60, 10), (300, 6)], m, lambda t: (t // 10) % 4 == 0 or now - 1500 < t < now - 1000)
whisper.create('avg-dst.wsp', [(60, 30), (300, 24), (3600, 10)])
live('avg-dst.wsp', now - 36000, now, 60, lambda t: 1.0, lambda t: (t // 60) % 5 < 2 or now - 20000 < t < now - 15000)
whisper.create('full-dst.wsp', [(60, 30), (300, 24), (3600, 10)])
live('full-dst.wsp', now - 36000, now, 60, lambda t: 2.0)
`)
		for _, m := range methods {
			p.check("fill", "@"+m+".wsp", "@"+m+"-dst.wsp")
		}
		p.check("fill", "@avg.wsp", "@avg-dst.wsp")
		p.check("fill", "--lock", "@average.wsp", "@avg-dst.wsp")
		p.check("fill", "@avg.wsp", "@empty.wsp")
		p.check("fill", "@missing.wsp", "@avg-dst.wsp")
		p.check("fill", "@zero.wsp", "@max-dst.wsp")
		for _, args := range [][]string{{"@avg.wsp", "@missing.wsp"}, {"@avg.wsp"}, {}, {"-h"}, {"--lock=1", "@a", "@b"}, {"@a", "@b", "@c"}} {
			p.check("fill", args...)
		}
	}
}

func TestHelp(t *testing.T) {
	t.Parallel()
	p := newPair(t, now, "UTC")
	for _, tool := range []string{"create", "info", "fetch", "update", "dump", "resize", "merge", "fill"} {
		p.check(tool, "--help")
		p.check(tool, "-h", "x")
		p.check(tool, "--no-such-option")
		p.check(tool, "-")
		p.check(tool, "--help=1")
		p.check(tool, "--he")
	}
}

func TestUnknownTool(t *testing.T) {
	var out, errw strings.Builder
	if code := Main([]string{"frobnicate"}, Env{Stdout: &out, Stderr: &errw}); code != 2 || errw.Len() == 0 {
		t.Errorf("unknown tool: exit %d, stderr %q", code, errw.String())
	}
	if code := Main(nil, Env{Stdout: &out, Stderr: &errw}); code != 2 {
		t.Errorf("no tool: exit %d", code)
	}
}
