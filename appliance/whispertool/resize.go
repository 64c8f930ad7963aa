package whispertool

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"slices"

	"statbox/storage/whisper"
)

// runResize is whisper-resize: a new file with other archives, holding the
// old file's points, renamed over the old one unless --newfile names it.
func runResize(r *run, args []string) int {
	now := r.now.Unix()
	var xff float64
	var method, newfile string
	var xffSet, methodSet, newfileSet, force, nobackup, aggregate bool
	p := &optParser{
		prog:  "whisper-resize",
		usage: "%prog path timePerPoint:timeToStore [timePerPoint:timeToStore]*" + retentionUsage,
		options: []*option{
			{long: "--xFilesFactor", metavar: "XFILESFACTOR", float: &xff, given: &xffSet, help: "Change the xFilesFactor"},
			{long: "--aggregationMethod", metavar: "AGGREGATIONMETHOD", str: &method, given: &methodSet,
				help: "Change the aggregation function (" + methodList + ")"},
			// whisper-resize takes --force and ignores it.
			{long: "--force", flag: &force, help: "Perform a destructive change"},
			{long: "--newfile", metavar: "NEWFILE", str: &newfile, given: &newfileSet,
				help: "Create a new database file without removing the existing one"},
			{long: "--nobackup", flag: &nobackup, help: "Delete the .bak file after successful execution"},
			{long: "--aggregate", flag: &aggregate,
				help: "Try to aggregate the values to fit the new archive better. " +
					"Note that this will make things slower and use more memory."},
		},
	}
	args, code := r.parseArgs(p, args)
	if code != nil {
		return *code
	}
	if len(args) < 2 {
		r.out.WriteString(p.help())
		return 1
	}
	path := args[0]
	if !exists(path) {
		fmt.Fprintf(r.errw, "[ERROR] File '%s' does not exist!\n\n", path)
		r.out.WriteString(p.help())
		return 1
	}
	old, msg := openWhisper(path, whisper.Options{ReadOnly: true})
	if old == nil {
		return r.fail(msg)
	}
	newArchives, err := parseRetentions(args[1:])
	if err != nil {
		old.Close()
		return r.fail(err.Error())
	}
	if !xffSet {
		xff = float64(old.Header.XFilesFactor)
	}
	if !methodSet {
		method = old.Header.AggregationMethod.String()
	}

	r.printf("Retrieving all data from the archives\n")
	// Least precise first; each archive's whole retention as fetch() sees it.
	oldArchives := slices.Clone(old.Header.Archives)
	slices.SortStableFunc(oldArchives, func(a, b whisper.ArchiveInfo) int {
		return cmp.Compare(b.SecondsPerPoint, a.SecondsPerPoint)
	})
	series := make([]oldSeries, len(oldArchives))
	for i, a := range oldArchives {
		rng, values, err := old.Fetch(nil, now-a.Retention()+int64(a.SecondsPerPoint), now, now)
		if err != nil {
			old.Close()
			return r.fail(pyError(err, path))
		}
		series[i] = oldSeries{rng, values}
	}
	old.Close()

	target := newfile
	if !newfileSet {
		target = path + ".tmp"
		if exists(target) {
			r.printf("Removing previous temporary database file: %s\n", target)
			if err := unlink(target); err != nil {
				return r.fail(pyError(err, target))
			}
		}
	}
	r.printf("Creating new whisper database: %s\n", target)
	if msg := create(target, newArchives, xff, method, false); msg != "" {
		return r.fail(msg)
	}
	st, err := os.Stat(target)
	if err != nil {
		return r.fail(pyError(err, target))
	}
	r.printf("Created: %s (%d bytes)\n", target, st.Size())

	if aggregate {
		r.printf("Migrating data with aggregation...\n")
		err = migrateAggregated(target, series, now)
	} else {
		r.printf("Migrating data without aggregation...\n")
		err = migrate(target, series, now)
	}
	if err != nil {
		return r.fail(pyError(err, target))
	}
	if newfileSet {
		return 0
	}

	backup := path + ".bak"
	r.printf("Renaming old database to: %s\n", backup)
	if err := os.Rename(path, backup); err != nil {
		return r.fail(pyError(err, path))
	}
	r.printf("Renaming new database to: %s\n", path)
	if err := os.Rename(target, path); err != nil {
		r.out.Flush()
		fmt.Fprintf(r.errw, "[ERROR] %s\n", pyError(err, target))
		r.printf("\nOperation failed, restoring backup\n")
		os.Rename(backup, path)
		return 1
	}
	if nobackup {
		r.printf("Unlinking backup: %s\n", backup)
		if err := unlink(backup); err != nil {
			return r.fail(pyError(err, backup))
		}
	}
	return 0
}

// oldSeries is one old archive's fetched values; NaN with noneBits is None.
type oldSeries struct {
	rng    whisper.Range
	values []float64
}

// migrate is whisper-resize without --aggregate: each old archive's known
// points, least precise first, go through update_many, which puts each in
// the most precise new archive that covers it and propagates from there.
func migrate(path string, series []oldSeries, now int64) error {
	f, err := whisper.Open(path, whisper.Options{})
	if err != nil {
		return err
	}
	var points []whisper.Point
	for _, s := range series {
		points = points[:0]
		for k, v := range s.values {
			if !isNone(v) {
				points = append(points, whisper.Point{Timestamp: s.rng.From + int64(k)*s.rng.Step, Value: v})
			}
		}
		if err = f.UpdateMany(points, now); err != nil {
			break
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// migrateAggregated is whisper-resize --aggregate. whisper-resize 1.1.4
// crashes there under Python 3 (it indexes zip and map objects), so this is
// what that code sets out to do: every interval of every new archive, up to
// now, gets the aggregate (the new file's method and xFilesFactor) of the old
// points inside it, taken from the most precise old archive that holds
// them. Each archive is computed from the old points, not propagated from
// the one above it, and is written straight into its own slots: the library
// has no call that writes one archive without propagating, so the points go
// in as whisper.py lays out a fresh archive, its first interval in its first
// slot.
func migrateAggregated(path string, series []oldSeries, now int64) error {
	type point struct {
		t int64
		v float64
	}
	// The old points, oldest first: each archive's where no more precise
	// one has points (series runs from the least precise archive).
	var old []point
	boundary := int64(math.MaxInt64)
	for i := len(series) - 1; i >= 0; i-- {
		s := series[i]
		for k, v := range s.values {
			if t := s.rng.From + int64(k)*s.rng.Step; t < boundary {
				old = append(old, point{t, v})
			}
		}
		boundary = min(boundary, s.rng.From)
	}
	slices.SortStableFunc(old, func(a, b point) int { return cmp.Compare(a.t, b.t) })

	f, err := whisper.Open(path, whisper.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	h := f.Header
	f.Close()
	out, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	var values []float64
	var slot [whisper.PointSize]byte
	for _, a := range h.Archives {
		step := int64(a.SecondsPerPoint)
		first := now - pyMod(now, step) - (int64(a.Points)-1)*step
		base := int64(0) // the first interval written, in the archive's first slot
		lo := 0
		for t := first; t < first+int64(a.Points)*step; t += step {
			for lo < len(old) && old[lo].t < t {
				lo++
			}
			values = values[:0]
			known := 0
			for k := lo; k < len(old) && old[k].t < t+step; k++ {
				if isNone(old[k].v) {
					values = append(values, math.NaN())
				} else {
					values = append(values, old[k].v)
					known++
				}
			}
			if known == 0 || float64(known)/float64(len(values)) < float64(h.XFilesFactor) {
				continue
			}
			v, _ := whisper.Aggregate(h.AggregationMethod, values)
			if base == 0 {
				base = t
			}
			binary.BigEndian.PutUint32(slot[:], uint32(t))
			binary.BigEndian.PutUint64(slot[4:], math.Float64bits(v))
			off := int64(a.Offset) + (t-base)/step%int64(a.Points)*whisper.PointSize
			if _, err := out.WriteAt(slot[:], off); err != nil {
				out.Close()
				return err
			}
		}
	}
	return out.Close()
}
