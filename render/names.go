package render

// The other names graphite-web gives some functions. This file's init runs
// after every functions_*.go file's (Go runs a package's files' inits in
// file name order), so the functions it names are registered by then.
func init() {
	for alias, name := range map[string]string{"avg": "averageSeries", "sum": "sumSeries", "pct": "asPercent", "xFilesFactor": "setXFilesFactor", "timeFunction": "time", "sin": "sinFunction", "map": "mapSeries", "reduce": "reduceSeries", "randomWalk": "randomWalkFunction"} {
		f := *functions[name]
		f.name = alias
		register(&f)
	}
}
