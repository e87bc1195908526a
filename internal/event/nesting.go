package event

// Nesting limits of the contract. A REST body nests at most MaxNesting levels of objects and arrays (the
// body itself is level 1). A gRPC attribute value that is JSON text nests at most MaxAttributeNesting
// levels: its object in the canonical document is level 5, so the document stays within MaxNesting.
const (
	MaxNesting          = 64
	MaxAttributeNesting = MaxNesting - 5
)

// MaxNumberLength is the longest number accepted anywhere in a REST body or a gRPC attribute value that is
// JSON text, in characters of JSON text (sign, digits, '.', exponent). Parsing or storing a longer one
// costs each language a very different amount of CPU; one limit makes the work equal.
const MaxNumberLength = 100

// exceedsLimits reports, in one pass without recursion, whether JSON text nests objects and arrays deeper
// than depthLimit levels, and whether it holds a number longer than MaxNumberLength characters. It only
// looks at bytes outside strings: brackets for the depth, runs of number characters for the numbers (in
// valid JSON such a run is one number: true and false hold a single 'e'). Both answers are exact for valid
// JSON; for malformed text either may be wrong, which scanJSON or the decoder then reports as malformed.
// It stops at the first level too deep, so longNumber is only complete when tooDeep is false.
func exceedsLimits(text []byte, depthLimit int) (tooDeep, longNumber bool) {
	depth, numberRun := 0, 0
	inString, escaped := false, false
	for _, c := range text {
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		if isNumberByte(c) {
			numberRun++
			longNumber = longNumber || numberRun > MaxNumberLength
			continue
		}
		numberRun = 0
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
			if depth > depthLimit {
				return true, longNumber
			}
		case '}', ']':
			depth--
		}
	}
	return false, longNumber
}

func isNumberByte(c byte) bool {
	return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}

// scanJSON checks that text is exactly one JSON value (RFC 8259 grammar, surrounding whitespace allowed)
// at any depth, without recursion: the open containers are a byte stack, so a body of 500,000 '[' costs
// half a megabyte, not a goroutine stack. nul reports a string or key spelling U+0000 (the escape
// \u0000; a raw control character is malformed). UTF-8 validity is the caller's business.
func scanJSON(text []byte) (valid, nul bool) {
	const (
		wantValue  = iota // a value must follow
		wantKey           // a member name must follow (after '{' or ',' in an object)
		afterValue        // a value ended: ',', a closing bracket or the end
	)
	var open []byte // '{' or '[' of each open container
	state := wantValue
	i, n := 0, len(text)
	for {
		for i < n && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r') {
			i++
		}
		switch state {
		case wantValue:
			if i >= n {
				return false, nul
			}
			switch c := text[i]; {
			case c == '{' || c == '[':
				open = append(open, c)
				i++
				state = wantValue
				if c == '{' {
					state = wantKey
				}
				// An empty container closes at once.
				for i < n && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r') {
					i++
				}
				if i < n && text[i] == closing(c) {
					open = open[:len(open)-1]
					i++
					state = afterValue
				}
				continue
			case c == '"':
				end, hasNUL, ok := scanString(text, i)
				if !ok {
					return false, nul
				}
				i, nul = end, nul || hasNUL
			case c == '-' || (c >= '0' && c <= '9'):
				end, ok := scanNumber(text, i)
				if !ok {
					return false, nul
				}
				i = end
			default:
				end, ok := scanLiteral(text, i)
				if !ok {
					return false, nul
				}
				i = end
			}
			state = afterValue
		case wantKey:
			if i >= n || text[i] != '"' {
				return false, nul
			}
			end, hasNUL, ok := scanString(text, i)
			if !ok {
				return false, nul
			}
			i, nul = end, nul || hasNUL
			for i < n && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r') {
				i++
			}
			if i >= n || text[i] != ':' {
				return false, nul
			}
			i++
			state = wantValue
		case afterValue:
			if len(open) == 0 {
				return i == n, nul
			}
			if i >= n {
				return false, nul
			}
			top := open[len(open)-1]
			switch text[i] {
			case ',':
				state = wantValue
				if top == '{' {
					state = wantKey
				}
			case closing(top):
				open = open[:len(open)-1]
			default:
				return false, nul
			}
			i++
		}
	}
}

func closing(open byte) byte {
	if open == '{' {
		return '}'
	}
	return ']'
}

// scanString scans the string starting with the quote at text[start]; end is just past its closing quote.
func scanString(text []byte, start int) (end int, nul, ok bool) {
	for i := start + 1; i < len(text); i++ {
		switch c := text[i]; {
		case c == '"':
			return i + 1, nul, true
		case c < 0x20:
			return 0, false, false
		case c == '\\':
			i++
			if i >= len(text) {
				return 0, false, false
			}
			switch text[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(text) {
					return 0, false, false
				}
				for _, h := range text[i+1 : i+5] {
					if !isHex(h) {
						return 0, false, false
					}
				}
				nul = nul || string(text[i+1:i+5]) == "0000"
				i += 4
			default:
				return 0, false, false
			}
		}
	}
	return 0, false, false
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// scanNumber scans -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? starting at text[start].
func scanNumber(text []byte, start int) (end int, ok bool) {
	i, n := start, len(text)
	digits := func() bool {
		from := i
		for i < n && text[i] >= '0' && text[i] <= '9' {
			i++
		}
		return i > from
	}
	if text[i] == '-' {
		i++
	}
	switch {
	case i < n && text[i] == '0':
		i++
	case !digits():
		return 0, false
	}
	if i < n && text[i] == '.' {
		i++
		if !digits() {
			return 0, false
		}
	}
	if i < n && (text[i] == 'e' || text[i] == 'E') {
		i++
		if i < n && (text[i] == '+' || text[i] == '-') {
			i++
		}
		if !digits() {
			return 0, false
		}
	}
	return i, true
}

func scanLiteral(text []byte, start int) (end int, ok bool) {
	for _, literal := range [...]string{"true", "false", "null"} {
		if len(text)-start >= len(literal) && string(text[start:start+len(literal)]) == literal {
			return start + len(literal), true
		}
	}
	return 0, false
}
