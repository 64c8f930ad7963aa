// Package events is the durable store of graphite events (annotations: a
// time, a description, tags and data), kept in memory and appended to
// DATA/events/events.log with an fsync per event: see FORMAT.md.
package events

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/valyala/fastjson"
)

// logName is the event log inside DATA/events.
const logName = "events.log"

// MaxRecord bounds one event's record: a longer event is refused by Add, and
// a longer line of the log is skipped when read back.
const MaxRecord = 1 << 20

// Event is one stored event. When is in microseconds since the epoch (what
// graphite-web's database keeps). Tags is the tag text as posted (a list
// joined by spaces), which graphite-web shows split on whitespace;
// MatchTags are the tags queries match, parsed from it as django-tagging
// parses tag input (ParseTagInput).
type Event struct {
	ID        int64
	When      int64
	What      string
	Data      string
	Tags      string
	MatchTags []string
}

// TagList is the event's tags as graphite-web lists them: the tag text split
// on whitespace.
func (e *Event) TagList() []string {
	return strings.Fields(e.Tags)
}

// SetOp says how a tag query combines its tags, as graphite-web's "set"
// parameter of /events/get_data.
type SetOp int

// The set operations.
const (
	All          SetOp = iota // every tag (the default)
	Union                     // any tag
	Intersection              // every tag, each known to the store
)

// Store holds every event in memory, ordered by time, and appends new ones
// to its log. It is safe for concurrent use.
type Store struct {
	mu     sync.RWMutex
	events []Event // sorted by (When, ID)
	known  map[string]int
	nextID int64
	f      *os.File
	end    int64 // offset after the last complete record
	// Skipped counts log lines that could not be read back at Open.
	Skipped int
}

// Open reads dir/events.log (creating dir and the file when missing) and
// returns the store positioned to append. A last line without its newline,
// a write cut short by a crash, is cut off; unreadable lines are skipped and
// counted in Skipped.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("events directory: %w", err)
	}
	path := filepath.Join(dir, logName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open event log: %w", err)
	}
	s := &Store{f: f, known: map[string]int{}, nextID: 1}
	good, err := s.replay(f)
	if err == nil {
		err = f.Truncate(good)
	}
	if err == nil {
		_, err = f.Seek(good, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	s.end = good
	slices.SortStableFunc(s.events, cmpEvent)
	return s, nil
}

func cmpEvent(a, b Event) int {
	if a.When != b.When {
		if a.When < b.When {
			return -1
		}
		return 1
	}
	if a.ID < b.ID {
		return -1
	}
	if a.ID > b.ID {
		return 1
	}
	return 0
}

// replay reads the log's records and returns the offset past the last
// complete line.
func (s *Store) replay(r io.Reader) (int64, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var (
		p       fastjson.Parser
		line    []byte
		pos     int64
		good    int64
		tooLong bool
	)
	for {
		chunk, err := br.ReadSlice('\n')
		pos += int64(len(chunk))
		if len(line)+len(chunk) > MaxRecord+1 {
			tooLong, line = true, line[:0]
		} else if !tooLong {
			line = append(line, chunk...)
		}
		switch err {
		case bufio.ErrBufferFull:
			continue
		case io.EOF:
			return good, nil
		case nil:
		default:
			return 0, err
		}
		if e, err := decode(&p, bytes.TrimSuffix(line, []byte{'\n'})); err != nil || tooLong {
			s.Skipped++
		} else {
			s.insert(e)
		}
		good, line, tooLong = pos, line[:0], false
	}
}

// decode reads one record of the log.
func decode(p *fastjson.Parser, line []byte) (Event, error) {
	v, err := p.ParseBytes(line)
	if err != nil {
		return Event{}, err
	}
	e := Event{
		ID:   v.GetInt64("id"),
		When: v.GetInt64("when"),
		What: string(v.GetStringBytes("what")),
		Data: string(v.GetStringBytes("data")),
		Tags: string(v.GetStringBytes("tags")),
	}
	if e.ID <= 0 {
		return Event{}, errors.New("record without id")
	}
	e.MatchTags = ParseTagInput(e.Tags)
	return e, nil
}

// insert adds e to memory (unsorted during replay; Add keeps the order).
func (s *Store) insert(e Event) {
	s.events = append(s.events, e)
	for _, t := range e.MatchTags {
		s.known[t]++
	}
	if e.ID >= s.nextID {
		s.nextID = e.ID + 1
	}
}

// encode appends e's record, a JSON object on one line.
func encode(dst []byte, e Event) []byte {
	dst = append(dst, `{"id":`...)
	dst = strconv.AppendInt(dst, e.ID, 10)
	dst = append(dst, `,"when":`...)
	dst = strconv.AppendInt(dst, e.When, 10)
	dst = append(dst, `,"what":`...)
	dst = appendString(dst, e.What)
	dst = append(dst, `,"data":`...)
	dst = appendString(dst, e.Data)
	dst = append(dst, `,"tags":`...)
	dst = appendString(dst, e.Tags)
	return append(dst, "}\n"...)
}

// appendString writes s as a JSON string: quote, backslash and control
// bytes escaped, everything else (UTF-8 or not) as it is, so the newline
// that ends a record never occurs inside one.
func appendString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}

// Add stores e with the next id (MatchTags are parsed from Tags), appends it to the log and syncs the log
// before it returns: an event acknowledged survives a power cut. It returns
// the event as stored.
func (s *Store) Add(e Event) (Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return Event{}, errors.New("event store closed")
	}
	e.ID = s.nextID
	e.MatchTags = ParseTagInput(e.Tags)
	rec := encode(nil, e)
	if len(rec) > MaxRecord {
		return Event{}, fmt.Errorf("event of %d bytes is larger than %d", len(rec), MaxRecord)
	}
	if !utf8.Valid(rec) {
		return Event{}, errors.New("event is not valid UTF-8")
	}
	// A failed write (a full disk) may leave part of the record: cut it
	// off, so the next record does not run on from it.
	undo := func() {
		s.f.Truncate(s.end)
		s.f.Seek(s.end, io.SeekStart)
	}
	if _, err := s.f.Write(rec); err != nil {
		undo()
		return Event{}, fmt.Errorf("append event: %w", err)
	}
	if err := s.f.Sync(); err != nil {
		undo()
		return Event{}, fmt.Errorf("sync event log: %w", err)
	}
	s.end += int64(len(rec))
	s.nextID++
	i, _ := slices.BinarySearchFunc(s.events, e, cmpEvent)
	s.events = slices.Insert(s.events, i, e)
	for _, t := range e.MatchTags {
		s.known[t]++
	}
	return e, nil
}

// Find returns the events with from <= When <= until (microseconds),
// ordered by time, whose tags satisfy tags under op; nil tags means no tag
// condition. As graphite-web's django-tagging does, a query tag that no
// event carries is dropped from the query, and a query left without tags
// matches nothing (Intersection keeps unknown tags, so matches nothing).
func (s *Store) Find(from, until int64, tags []string, op SetOp) []Event {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var want []string
	if tags != nil {
		for _, t := range tags {
			if s.known[t] > 0 || op == Intersection {
				want = append(want, t)
			}
		}
		if len(want) == 0 {
			return nil
		}
	}
	lo, _ := slices.BinarySearchFunc(s.events, from, func(e Event, t int64) int {
		if e.When < t {
			return -1
		}
		return 1
	})
	var out []Event
	for _, e := range s.events[lo:] {
		if e.When > until {
			break
		}
		if tags == nil || matchTags(e.MatchTags, want, op) {
			out = append(out, e)
		}
	}
	return out
}

func matchTags(have, want []string, op SetOp) bool {
	for _, w := range want {
		in := slices.Contains(have, w)
		if op == Union && in {
			return true
		}
		if op != Union && !in {
			return false
		}
	}
	return op != Union
}

// Get returns the event with id.
func (s *Store) Get(id int64) (Event, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, e := range s.events {
		if e.ID == id {
			return e, true
		}
	}
	return Event{}, false
}

// EventTimes returns the times (unix seconds, truncated) of the events
// between from and until (unix seconds, inclusive) carrying every tag in
// tags, for the render engine's events() function, which graphite-web
// answers through the same query (tags a store has never seen are dropped,
// and nothing matches when none is left). No tags, or a tag "*", means every
// event.
func (s *Store) EventTimes(from, until int64, tags []string) ([]int64, error) {
	if len(tags) == 0 || slices.Contains(tags, "*") {
		tags = nil
	}
	evs := s.Find(from*1e6, until*1e6, tags, All)
	out := make([]int64, len(evs))
	for i, e := range evs {
		out[i] = floorDiv(e.When, 1e6)
	}
	return out, nil
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// Close closes the log.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}
