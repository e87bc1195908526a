package event

import (
	"encoding/json"
	"math/rand"
	"strings"
	"testing"
)

func TestExceedsLimitsNesting(t *testing.T) {
	cases := []struct {
		text  string
		limit int
		want  bool
	}{
		{`1`, 0, false},
		{`[]`, 0, true},
		{`[]`, 1, false},
		{`{"a":[{"b":[]}]}`, 4, false},
		{`{"a":[{"b":[]}]}`, 3, true},
		{`["[[[[", "\"[[[["]`, 1, false}, // brackets inside strings, escaped quote included
		{`["\\", [[]]]`, 2, true},        // an escaped backslash ends before the quote
		{strings.Repeat("[", 65) + strings.Repeat("]", 65), 64, true},
		{strings.Repeat("[", 64) + strings.Repeat("]", 64), 64, false},
		{"[]" + strings.Repeat("[]", 1000), 1, false}, // siblings do not add up
	}
	for _, c := range cases {
		if got, _ := exceedsLimits([]byte(c.text), c.limit); got != c.want {
			t.Errorf("exceedsLimits(%.30q, %d) tooDeep = %v", c.text, c.limit, got)
		}
	}
}

func TestLongNumbers(t *testing.T) {
	digits := func(n int) string { return strings.Repeat("7", n) }
	cases := []struct {
		text string
		want bool
	}{
		{digits(100), false},
		{digits(101), true},
		{"-" + digits(99), false},
		{"-" + digits(100), true},
		{"1." + digits(98), false},
		{"1." + digits(99), true},
		{"1e+" + digits(97), false}, // the exponent counts: 100 characters
		{"1e+" + digits(98), true},
		{`[` + digits(100) + `,` + digits(100) + `]`, false}, // each number on its own
		{`[` + digits(100) + ` ,` + digits(101) + `]`, true},
		{`{"` + digits(500) + `":"` + digits(500) + `"}`, false}, // digits in strings are text
		{`["\"", "\\", ` + digits(101) + `]`, true},              // escapes end where they should
		{`[true, false, null, 1e5]`, false},
	}
	for _, c := range cases {
		if _, got := exceedsLimits([]byte(c.text), MaxNesting); got != c.want {
			t.Errorf("exceedsLimits(%.40q) longNumber = %v", c.text, got)
		}
	}
}

func TestScanJSONAgreesWithTheStandardLibrary(t *testing.T) {
	corpus := []string{
		``, ` `, `1`, `-0`, `-`, `01`, `1.`, `1.5`, `1e`, `1e+`, `1E-7`, `-1.5e10`, `.5`, `+1`, `0x1`,
		`true`, `false`, `null`, `nul`, `truex`, `True`, `"a"`, `"a`, `"\u00e9"`, `"\u00g9"`, `"\x"`, `"\/"`,
		"\"\t\"", `""`, `[]`, `[ ]`, `[1,]`, `[,1]`, `[1 2]`, `[1,2]`, `{}`, `{ }`, `{"a":1}`, `{"a":1,}`,
		`{"a"}`, `{"a":}`, `{a:1}`, `{"a":1 "b":2}`, `{"a":1,"b":[{"c":null}]}`, `[}`, `{]`, `]`, `}`,
		`[1]]`, `[[1]`, ` {"a" : [ true , false , null ] } `, `1 2`, `{} {}`, "\n[\r\n1\t]\n", `"\ud800"`,
		`[1e5,-0.0,"x\\"]`, `{"":""}`, `[[[[[]]]]]`, `[{}, [], {"a": {"b": {}}}]`,
	}
	check := func(text string) {
		t.Helper()
		valid, _ := scanJSON([]byte(text))
		if want := json.Valid([]byte(text)); valid != want {
			t.Fatalf("scanJSON(%q) valid=%v, encoding/json says %v", text, valid, want)
		}
	}
	for _, text := range corpus {
		check(text)
	}
	// Random splices of the corpus: mostly invalid, sometimes valid, always in agreement.
	random := rand.New(rand.NewSource(1))
	pieces := append(corpus, `,`, `:`, `[`, `]`, `{`, `}`, `"`, `\`, ` `)
	for range 20000 {
		var b strings.Builder
		for range 1 + random.Intn(6) {
			b.WriteString(pieces[random.Intn(len(pieces))])
		}
		check(b.String())
	}
}

func TestScanJSONAtAnyDepthAndItsNUL(t *testing.T) {
	deep := strings.Repeat(`{"a":[`, 100000) + `"x"` + strings.Repeat("]}", 100000)
	if valid, nul := scanJSON([]byte(deep)); !valid || nul {
		t.Fatalf("deep valid=%v nul=%v", valid, nul)
	}
	if valid, _ := scanJSON([]byte(deep + "]")); valid {
		t.Fatal("an extra bracket is valid")
	}
	for text, want := range map[string]bool{`["\u0000"]`: true, `{"\u0000":1}`: true, `["\\u0000"]`: false, `["\u0001"]`: false} {
		if valid, nul := scanJSON([]byte(text)); !valid || nul != want {
			t.Errorf("%s: valid=%v nul=%v", text, valid, nul)
		}
	}
}
