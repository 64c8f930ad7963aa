package graph

import (
	"fmt"
	"image/color"
	"strconv"
	"strings"
)

// colorAliases are graphite-web's colour names. They are not CSS's: "blue"
// is a light blue and "red" a crimson, as every graphite user's graphs show.
var colorAliases = map[string]color.NRGBA{
	"black":     {0, 0, 0, 255},
	"white":     {255, 255, 255, 255},
	"blue":      {100, 100, 255, 255},
	"green":     {0, 200, 0, 255},
	"red":       {200, 0, 50, 255},
	"yellow":    {255, 255, 0, 255},
	"orange":    {255, 165, 0, 255},
	"purple":    {200, 100, 255, 255},
	"brown":     {150, 100, 50, 255},
	"cyan":      {0, 255, 255, 255},
	"aqua":      {0, 150, 150, 255},
	"gray":      {175, 175, 175, 255},
	"grey":      {175, 175, 175, 255},
	"magenta":   {255, 0, 255, 255},
	"pink":      {255, 100, 100, 255},
	"gold":      {200, 200, 0, 255},
	"rose":      {200, 150, 200, 255},
	"darkblue":  {0, 0, 255, 255},
	"darkgreen": {0, 255, 0, 255},
	"darkred":   {255, 0, 0, 255},
	"darkgray":  {111, 111, 111, 255},
	"darkgrey":  {111, 111, 111, 255},
}

// parseColor reads a colour as graphite-web does: a name from colorAliases,
// or six hex digits with an optional leading "#" (or its URL escape "%23")
// and two more for alpha.
func parseColor(s string) (color.NRGBA, error) {
	if c, ok := colorAliases[s]; ok {
		return c, nil
	}
	h := strings.TrimPrefix(s, "#")
	h = strings.TrimPrefix(h, "%23")
	if len(h) != 6 && len(h) != 8 {
		return color.NRGBA{}, fmt.Errorf("graph: colour %q: want a colour name or hex rrggbb or rrggbbaa", s)
	}
	n, err := strconv.ParseUint(h, 16, 32)
	if err != nil {
		return color.NRGBA{}, fmt.Errorf("graph: colour %q: want a colour name or hex rrggbb or rrggbbaa", s)
	}
	if len(h) == 6 {
		n = n<<8 | 0xff
	}
	return color.NRGBA{uint8(n >> 24), uint8(n >> 16), uint8(n >> 8), uint8(n)}, nil
}

// template holds a graph template's defaults.
type template struct {
	background, foreground, majorLine, minorLine string
	lineColors                                   []string
}

var defaultColors = []string{"blue", "green", "red", "purple", "brown", "yellow", "aqua", "grey", "magenta", "pink", "gold", "rose"}

// templates are the graph templates of graphite-web's example
// graphTemplates.conf; "default" is what graphite-web uses without one.
var templates = map[string]template{
	"default":         {"white", "black", "rose", "grey", defaultColors},
	"classic":         {"black", "white", "white", "grey", defaultColors},
	"noc":             {"black", "white", "white", "grey", []string{"blue", "green", "red", "yellow", "purple", "brown", "aqua", "grey", "magenta", "pink", "gold", "rose"}},
	"solarized-light": {"#fdf6e3", "#657b83", "#073642", "#586e75", []string{"268bd2aa", "859900aa", "dc322faa", "d33682aa", "db4b16aa", "b58900aa", "2aa198aa", "6c71c4aa"}},
	"solarized-dark":  {"#002b36", "#839496", "#fdf6e3", "#eee8d5", []string{"268bd2aa", "859900aa", "dc322faa", "d33682aa", "db4b16aa", "b58900aa", "2aa198aa", "6c71c4aa"}},
	"alphas":          {"white", "black", "grey", "rose", []string{"00ff00aa", "ff000077", "00337799"}},
	"grafana":         {"white", "black", "rose", "grey", []string{"#7eb26d", "#eab839", "#6ed0e0", "#ef843c", "#e24d42", "#1f78c1", "#ba43a9", "#705da0", "#508642", "#cca300", "#447ebc"}},
}
