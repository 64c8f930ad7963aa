// Package index holds every metric name of the whisper tree in memory: a trie
// of the dotted names for graphite globs (find, expand, index.json) and an
// inverted index of the tagged series for seriesByTag and the tags API.
//
// It is built by one walk of DATA/whisper at start plus a replay of the
// tagged-series log (DATA/tags/series.log, see FORMAT.md), and kept current
// by Add, which the write path calls for each file it creates. Requests never
// walk the directory tree.
package index

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"statbox/storage/layout"
)

var errTooManyVariants = fmt.Errorf("pattern expands to more than %d brace variants", maxVariants)

// ErrPattern is wrapped by the errors of Find for a pattern it refuses.
var ErrPattern = errors.New("bad pattern")

// maxPatternNodes bounds the dots of a pattern: no tree is deeper, and the
// matcher's work grows with it.
const maxPatternNodes = 256

// maxNodePattern bounds one node of a pattern. A node name is at most 251
// bytes, and a glob's cost per name grows with the glob's length.
const maxNodePattern = 1024

// Index is the in-memory index of a whisper tree. It is safe for concurrent
// use: one writer (Add) at a time with any number of readers.
type Index struct {
	mu     sync.RWMutex
	root   node
	leaves int
	tags   tagIndex

	logMu  sync.Mutex
	log    *seriesLog // nil for an index that persists nothing
	closed bool       // Close was called: nothing more can be persisted
	// unlogged holds the series the log failed to take, oldest first,
	// written before the next one; logErrors counts the failures.
	unlogged  []string
	logErrors int

	pending    *[]string // while Rebuild walks: the names Add entered
	unreadable int       // directories the last walk could not read
}

// Unreadable is the number of directories the last walk of the tree (Open
// or Rebuild) could not read and skipped.
func (x *Index) Unreadable() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.unreadable
}

// node is one dot-separated level of the name trie. A node may be a leaf (a
// whisper file) and a branch (a directory with children) at once, as
// "a.b" and "a.b.c" both being metrics make "a.b".
type node struct {
	name     string
	children []*node // sorted by name
	leaf     bool
}

// child returns the child named name, or nil.
func (n *node) child(name string) *node {
	i, ok := slices.BinarySearchFunc(n.children, name, func(c *node, s string) int { return strings.Compare(c.name, s) })
	if !ok {
		return nil
	}
	return n.children[i]
}

// add returns the child named name, creating it if needed. Children arrive
// mostly in order during the start walk, so appending is tried first.
func (n *node) add(name string) *node {
	if k := len(n.children); k == 0 || n.children[k-1].name < name {
		c := &node{name: name}
		n.children = append(n.children, c)
		return c
	}
	i, ok := slices.BinarySearchFunc(n.children, name, func(c *node, s string) int { return strings.Compare(c.name, s) })
	if ok {
		return n.children[i]
	}
	c := &node{name: name}
	n.children = slices.Insert(n.children, i, c)
	return c
}

// New returns an empty index that persists nothing: for tests and tools.
func New() *Index {
	return &Index{tags: newTagIndex()}
}

// Open builds the index of the data directory data: every *.wsp file under
// data/whisper by its path, and every tagged series recorded in
// data/tags/series.log, which it opens for appending. A torn last line of the
// log (a crash mid-write) is cut off; other unreadable lines are skipped.
func Open(data string) (*Index, error) {
	x := New()
	names, unreadable, err := walkTree(filepath.Join(data, "whisper"))
	if err != nil {
		return nil, err
	}
	x.unreadable = unreadable
	for _, n := range names {
		if addPath(&x.root, n) {
			x.leaves++
		}
	}
	log, tagged, err := openSeriesLog(filepath.Join(data, "tags"))
	if err != nil {
		return nil, err
	}
	x.log = log
	for _, s := range tagged {
		x.tags.add(s)
	}
	return x, nil
}

// walkTree returns the metric names of the *.wsp files under root, sorted,
// and how many directories it could not read (skipped, not fatal: one bad
// directory must not keep the appliance from starting). A missing root is an
// empty tree. Symbolic links to files count, as graphite-web's finder
// follows them; links to directories are not followed, so a loop cannot
// trap the walk.
func walkTree(root string) ([]string, int, error) {
	var names []string
	unreadable := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == root {
				if errors.Is(err, fs.ErrNotExist) {
					return filepath.SkipAll
				}
				return err
			}
			unreadable++
			return nil
		}
		if d.IsDir() {
			// graphite-web's finder skips hidden entries; so does the index.
			if path != root && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		base := d.Name()
		if !strings.HasSuffix(base, ".wsp") || strings.HasPrefix(base, ".") {
			return nil
		}
		if !d.Type().IsRegular() {
			if st, err := os.Stat(path); err != nil || !st.Mode().IsRegular() {
				return nil
			}
		}
		rel, _ := filepath.Rel(root, path)
		names = append(names, strings.ReplaceAll(strings.TrimSuffix(rel, ".wsp"), string(filepath.Separator), "."))
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("index %s: %w", root, err)
	}
	sort.Strings(names)
	return names, unreadable, nil
}

// Rebuild walks data/whisper again and replaces the trie with what it finds,
// so that files removed or added behind the daemon's back (by hand, by a
// restore) are seen; the daemon calls it on SIGHUP. Names added while it
// walks are kept. The tag index is not rebuilt: tagged series live in the
// series log. It returns the number of leaves.
func (x *Index) Rebuild(data string) (int, error) {
	x.mu.Lock()
	pending := []string{}
	x.pending = &pending
	x.mu.Unlock()
	names, unreadable, err := walkTree(filepath.Join(data, "whisper"))
	var fresh node
	leaves := 0
	if err == nil {
		for _, n := range names {
			if addPath(&fresh, n) {
				leaves++
			}
		}
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if err != nil {
		x.pending = nil
		return x.leaves, err
	}
	for _, n := range *x.pending {
		if addPath(&fresh, n) {
			leaves++
		}
	}
	x.root, x.leaves, x.pending, x.unreadable = fresh, leaves, nil, unreadable
	return leaves, nil
}

// Close closes the tagged-series log.
func (x *Index) Close() error {
	x.logMu.Lock()
	defer x.logMu.Unlock()
	if x.log == nil {
		return nil
	}
	err := x.log.close()
	x.log, x.closed = nil, true
	return err
}

// Add records that the metric name now has a whisper file: the daemon calls
// it from the cache's OnCreate. A tagged name (normalised, "a.b;k=v") is
// entered in the tag index, persisted in the series log, and its file's
// place in the tree ("_tagged.<h0>.<h1>.<hash>") in the trie, where
// graphite-web's tree walk sees it too. Adding a known name does nothing.
func (x *Index) Add(name string) {
	path := name
	if strings.IndexByte(name, ';') >= 0 {
		// The file exists whatever the log says: a series the log could
		// not take (disk full) is indexed all the same, and written to the
		// log with the next series that is.
		x.addTagged(name, true)
		path = taggedTreePath(name)
	}
	x.mu.Lock()
	if addPath(&x.root, path) {
		x.leaves++
	}
	if x.pending != nil {
		*x.pending = append(*x.pending, path)
	}
	x.mu.Unlock()
}

// taggedTreePath is the dotted place of a tagged series' file in the tree,
// "_tagged.<h0>.<h1>.<hash>".
func taggedTreePath(name string) string {
	p := layout.AppendPath(nil, []byte(name))
	return strings.ReplaceAll(strings.TrimSuffix(string(p), ".wsp"), "/", ".")
}

// hasLeaf reports whether the dotted path is a leaf of the trie.
func (x *Index) hasLeaf(path string) bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	n := &x.root
	for seg := range strings.SplitSeq(path, ".") {
		if n = n.child(seg); n == nil {
			return false
		}
	}
	return n.leaf
}

// AddTagged enters a tagged series (normalised, as carbon and the tags API
// give it) in the tag index without a file: graphite-web's POST
// /tags/tagSeries. A new series is appended to the series log before it is
// visible; the error is the log's.
func (x *Index) AddTagged(name string) error {
	return x.addTagged(name, false)
}

// addTagged enters a tagged series, persisting it first; with anyway a
// series the log refuses is indexed nonetheless and kept for the next
// append.
func (x *Index) addTagged(name string, anyway bool) error {
	x.mu.RLock()
	_, known := x.tags.ids[name]
	x.mu.RUnlock()
	if known {
		return nil
	}
	x.logMu.Lock()
	defer x.logMu.Unlock()
	x.mu.RLock()
	_, known = x.tags.ids[name]
	x.mu.RUnlock()
	if known {
		return nil
	}
	var err error
	switch {
	case x.closed:
		// A series acknowledged now would not survive a restart.
		err = errors.New("index closed: series log not writable")
	case x.log != nil:
		for len(x.unlogged) > 0 && err == nil {
			if err = x.log.append(x.unlogged[0]); err == nil {
				x.unlogged = x.unlogged[1:]
			}
		}
		if err == nil {
			err = x.log.append(name)
		}
	}
	if err != nil {
		x.logErrors++
		if !anyway {
			return err
		}
		if !x.closed {
			x.unlogged = append(x.unlogged, name)
		}
	}
	x.mu.Lock()
	x.tags.add(name)
	x.mu.Unlock()
	return err
}

// LogErrors is the number of tagged series the series log failed to take
// (each is retried before the next append while the index is open).
func (x *Index) LogErrors() int {
	x.logMu.Lock()
	defer x.logMu.Unlock()
	return x.logErrors
}

// addPath enters a plain dotted name in the trie at root and reports
// whether it is a new leaf; the trie's lock is held for writing.
func addPath(root *node, name string) bool {
	if name == "" || strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".") || strings.Contains(name, "..") {
		return false // not a name a file can have
	}
	n := root
	for seg := range strings.SplitSeq(name, ".") {
		n = n.add(seg)
	}
	if n.leaf {
		return false
	}
	n.leaf = true
	return true
}

// Len is the number of leaf names (whisper files) in the trie.
func (x *Index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.leaves
}

// Node is one match of Find: a metric path that is a leaf (has a whisper
// file), a branch (has children), or both.
type Node struct {
	Path   string
	Leaf   bool
	Branch bool
}

// Name is the last node of the path, graphite-web's node.name.
func (n Node) Name() string {
	return n.Path[strings.LastIndexByte(n.Path, '.')+1:]
}

// Find returns the paths matching a graphite pattern, sorted: each node of
// the pattern (between dots) is a literal name or a glob with *, ?, [a-z],
// [!a] and {a,b}, matched against one level of the tree only, as graphite-web's
// standard finder does. Backslashes are dropped first, as graphite-web does.
// Hidden names (a node starting with '.') never match. A tagged name
// ("a.b;k=v", as given, not normalised) is the one leaf of that name if its
// file exists, as graphite-web finds it. A pattern with more
// brace variants than the index allows is an error wrapping ErrPattern.
func (x *Index) Find(pattern string) ([]Node, error) {
	if strings.IndexByte(pattern, ';') >= 0 && !strings.HasPrefix(pattern, "_tagged.") {
		// A tagged name is looked up, not globbed: graphite-web hashes the
		// pattern as it is and checks for that one file.
		if x.hasLeaf(taggedTreePath(pattern)) {
			return []Node{{Path: pattern, Leaf: true}}, nil
		}
		return nil, nil
	}
	pattern = strings.ReplaceAll(pattern, `\`, "")
	parts := strings.Split(pattern, ".")
	if len(parts) > maxPatternNodes {
		return nil, fmt.Errorf("%w: more than %d nodes", ErrPattern, maxPatternNodes)
	}
	globs := make([]glob, len(parts))
	for i, p := range parts {
		if len(p) > maxNodePattern {
			return nil, fmt.Errorf("%w: node %d is longer than %d bytes", ErrPattern, i+1, maxNodePattern)
		}
		if isGlobstar(p) {
			globs[i] = glob{globstar: true}
			continue
		}
		g, err := compileGlob(p)
		if err != nil {
			return nil, fmt.Errorf("%w: node %d %q: %v", ErrPattern, i+1, p, err)
		}
		globs[i] = g
	}
	var out []Node
	buf := make([]byte, 0, 128)
	x.mu.RLock()
	x.find(&x.root, globs, buf, &out)
	x.mu.RUnlock()
	// The walk yields trie order, which is path order unless a name holds a
	// byte below '.' ("a-b" sorts before "a.c"): check before sorting.
	byPath := func(a, b Node) int { return strings.Compare(a.Path, b.Path) }
	if !slices.IsSortedFunc(out, byPath) {
		slices.SortFunc(out, byPath)
	}
	if slices.ContainsFunc(parts, isGlobstar) {
		// Two globstars can reach one node by two routes.
		out = slices.CompactFunc(out, func(a, b Node) bool { return a.Path == b.Path })
	}
	return out, nil
}

// isGlobstar reports whether a pattern node is "**", which graphite-web's
// finder matches against any number of levels, none included.
func isGlobstar(p string) bool { return p == "**" }

// starGlob is "*", which a trailing "**" stands for below each level.
var starGlob = glob{variants: []variant{{pat: "*", prefix: ""}}}

// find walks n's children with the first glob; x.mu is held for reading.
func (x *Index) find(n *node, globs []glob, path []byte, out *[]Node) {
	g := &globs[0]
	if g.globstar {
		// graphite-web walks every directory below n, n itself included,
		// and matches the rest of the pattern there; a trailing "**"
		// matches everything below each of them.
		rest := globs[1:]
		if len(rest) == 0 {
			rest = []glob{starGlob}
		}
		var walk func(d *node, p []byte)
		walk = func(d *node, p []byte) {
			x.find(d, rest, p, out)
			for _, c := range d.children {
				if len(c.children) == 0 {
					continue
				}
				q := p
				if len(q) > 0 {
					q = append(q, '.')
				}
				walk(c, append(q, c.name...))
			}
		}
		walk(n, path)
		return
	}
	last := len(globs) == 1
	visit := func(c *node) {
		p := path
		if len(p) > 0 {
			p = append(p, '.')
		}
		p = append(p, c.name...)
		if last {
			*out = append(*out, Node{Path: string(p), Leaf: c.leaf, Branch: len(c.children) > 0})
			return
		}
		if len(c.children) > 0 {
			x.find(c, globs[1:], p, out)
		}
	}
	if len(g.variants) == 1 {
		v := &g.variants[0]
		if v.literal {
			if c := n.child(v.pat); c != nil {
				visit(c)
			}
			return
		}
		lo, hi := prefixRange(n.children, v.prefix)
		for _, c := range n.children[lo:hi] {
			if !strings.HasPrefix(c.name, ".") && v.match(c.name) {
				visit(c)
			}
		}
		return
	}
	// Several variants may match one child: visit each child once, in order.
	var picked []*node
	for i := range g.variants {
		v := &g.variants[i]
		if v.literal {
			if c := n.child(v.pat); c != nil {
				picked = append(picked, c)
			}
			continue
		}
		lo, hi := prefixRange(n.children, v.prefix)
		for _, c := range n.children[lo:hi] {
			if !strings.HasPrefix(c.name, ".") && v.match(c.name) {
				picked = append(picked, c)
			}
		}
	}
	slices.SortFunc(picked, func(a, b *node) int { return strings.Compare(a.name, b.name) })
	picked = slices.Compact(picked)
	for _, c := range picked {
		visit(c)
	}
}

// prefixRange returns the children whose names start with prefix, as the
// bounds of a run of the sorted slice.
func prefixRange(cs []*node, prefix string) (lo, hi int) {
	if prefix == "" {
		return 0, len(cs)
	}
	lo = sort.Search(len(cs), func(i int) bool { return cs[i].name >= prefix })
	hi = lo + sort.Search(len(cs)-lo, func(i int) bool { return !strings.HasPrefix(cs[lo+i].name, prefix) })
	return lo, hi
}

// Expand returns the sorted leaf metric names (whisper files) matching a
// graphite glob, for the render engine. A pattern Find refuses matches
// nothing.
func (x *Index) Expand(pattern string) []string {
	nodes, err := x.Find(pattern)
	if err != nil {
		return nil
	}
	out := make([]string, 0, len(nodes))
	for _, n := range nodes {
		if n.Leaf {
			out = append(out, n.Path)
		}
	}
	return out
}

// Names returns every leaf name in the trie, sorted: graphite-web's
// /metrics/index.json, which lists the files of the tree (tagged series by
// their place under "_tagged").
func (x *Index) Names() []string {
	out := make([]string, 0, x.Len())
	x.WalkNames(func(name []byte) { out = append(out, string(name)) })
	return out
}

// WalkNames calls f with every leaf name in the trie in sorted order,
// without allocating a string per name: name is valid only during the call.
// The index is read-locked throughout, so f must be quick and must not call
// back into the index (Add would deadlock).
func (x *Index) WalkNames(f func(name []byte)) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	walkSorted(&x.root, make([]byte, 0, 256), f)
}

// walkSorted visits n's descendants in the order of their whole paths. Each
// child is two runs of paths: its own name (if a leaf) and its subtree,
// which all start with "name.". Ordered by those keys (name, name+".") the
// runs come out in path order, "a.b" < "a.b-x" < "a.b-x.c" < "a.b.c"; when
// no child name holds a byte below '.', that is simply child order.
func walkSorted(n *node, prefix []byte, f func([]byte)) {
	if len(prefix) > 0 {
		prefix = append(prefix, '.')
	}
	base := len(prefix)
	visit := func(c *node, subtree bool) {
		p := append(prefix[:base], c.name...)
		if !subtree {
			f(p)
		} else if len(c.children) > 0 {
			walkSorted(c, p, f)
		}
	}
	if !slices.ContainsFunc(n.children, func(c *node) bool { return hasByteBelowDot(c.name) }) {
		for _, c := range n.children {
			if c.leaf {
				visit(c, false)
			}
			visit(c, true)
		}
		return
	}
	type run struct {
		key     string
		c       *node
		subtree bool
	}
	runs := make([]run, 0, 2*len(n.children))
	for _, c := range n.children {
		if c.leaf {
			runs = append(runs, run{c.name, c, false})
		}
		runs = append(runs, run{c.name + ".", c, true})
	}
	slices.SortFunc(runs, func(a, b run) int { return strings.Compare(a.key, b.key) })
	for _, r := range runs {
		visit(r.c, r.subtree)
	}
}

func hasByteBelowDot(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '.' {
			return true
		}
	}
	return false
}
