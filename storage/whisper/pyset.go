package whisper

// pySet reproduces the iteration order of a CPython 3.11 set of non-negative
// ints built by adding keys in order (Objects/setobject.c: set_add_entry,
// set_table_resize, set_insert_clean). whisper.py propagates the intervals of
// an update_many batch in the order of `set(lowerIntervals)`, and the first
// interval propagated into an empty archive becomes its base: so that order
// decides where points land in the file, and byte-compatibility needs it.
// An int's hash is its value for 0 <= v < 2**61-1, which covers every
// timestamp a whisper file can hold.
type pySet struct {
	table []int64 // a key k as k+1, so that 0 marks an empty slot (0 is a key)
	spare []int64 // the previous table, reused by the next resize
	used  int
}

const (
	pySetMinSize      = 8
	pySetLinearProbes = 9
	pySetPerturbShift = 5
)

// order appends to dst the distinct keys in the order a set built from keys
// iterates them. Keys must not be negative.
func (s *pySet) order(dst []int64, keys []int64) []int64 {
	s.reset(pySetMinSize)
	for i, k := range keys {
		// Adding a key the set holds changes nothing: a run of equal keys
		// (an archive's intervals, each seen once per point of a higher
		// one) is added once.
		if i == 0 || k != keys[i-1] {
			s.add(k)
		}
	}
	for _, k := range s.table {
		if k != 0 {
			dst = append(dst, k-1)
		}
	}
	return dst
}

func (s *pySet) reset(size int) {
	if cap(s.table) < size && cap(s.spare) >= size {
		s.table, s.spare = s.spare, s.table
	}
	if cap(s.table) >= size {
		s.table = s.table[:size]
		clear(s.table)
	} else {
		s.table = make([]int64, size)
	}
	s.used = 0
}

func (s *pySet) add(key int64) {
	mask := uint64(len(s.table) - 1)
	perturb := uint64(key)
	i := uint64(key) & mask
	for {
		probes := 0
		if i+pySetLinearProbes <= mask {
			probes = pySetLinearProbes
		}
		for j := uint64(0); j <= uint64(probes); j++ {
			switch s.table[i+j] {
			case 0:
				s.table[i+j] = key + 1
				s.used++
				// No deletions happen, so fill == used.
				if uint64(s.used)*5 >= mask*3 {
					s.resize()
				}
				return
			case key + 1:
				return
			}
		}
		perturb >>= pySetPerturbShift
		i = (i*5 + 1 + perturb) & mask
	}
}

func (s *pySet) resize() {
	minUsed := s.used * 4
	if s.used > 50000 {
		minUsed = s.used * 2
	}
	size := pySetMinSize
	for size <= minUsed {
		size <<= 1
	}
	old := s.table
	if cap(s.spare) >= size {
		s.table = s.spare[:size]
		clear(s.table)
	} else {
		s.table = make([]int64, size)
	}
	s.spare = old
	mask := uint64(size - 1)
	for _, stored := range old {
		if stored == 0 {
			continue
		}
		key := stored - 1
		perturb := uint64(key)
		i := uint64(key) & mask
	insert:
		for {
			if s.table[i] == 0 {
				s.table[i] = stored
				break
			}
			if i+pySetLinearProbes <= mask {
				for j := uint64(1); j <= pySetLinearProbes; j++ {
					if s.table[i+j] == 0 {
						s.table[i+j] = stored
						break insert
					}
				}
			}
			perturb >>= pySetPerturbShift
			i = (i*5 + 1 + perturb) & mask
		}
	}
}
