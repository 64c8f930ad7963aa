package whisper

import (
	"fmt"
	"slices"
)

// Merge copies src's points into dst, as whisper.py's merge() does: both files
// must have the same archives; each archive's points between from and until
// (clamped to that archive's retention) overwrite dst's, straight into the
// same archive, and propagate from there. Archives are taken shortest
// retention first. from defaults to 0 and until to now in whisper.py; pass them.
func Merge(src, dst *File, from, until, now int64) error {
	if !slices.Equal(src.Header.Archives, dst.Header.Archives) {
		return fmt.Errorf("%s and %s archive configurations are unalike. Resize the input before merging", src.path, dst.path)
	}
	if until < from {
		return fmt.Errorf("time_to must be >= time_from")
	}
	order := make([]int, len(src.Header.Archives))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		ra, rb := src.Header.Archives[a].Retention(), src.Header.Archives[b].Retention()
		return int(ra - rb)
	})
	var values []float64
	var points []Point
	for _, ai := range order {
		oldest := now - src.Header.Archives[ai].Retention()
		if until < oldest {
			continue
		}
		var r Range
		r, values = src.ReadArchive(values[:0], ai, max(from, oldest), until)
		points = points[:0]
		for k, v := range values {
			if !IsMissing(v) {
				points = append(points, Point{r.From + int64(k)*r.Step, v})
			}
		}
		if len(points) == 0 {
			continue
		}
		err := dst.write(func() error {
			s := scratchPool.Get().(*scratch)
			defer scratchPool.Put(s)
			return dst.archiveUpdateMany(s, ai, points)
		})
		if err != nil {
			return err
		}
	}
	return nil
}
