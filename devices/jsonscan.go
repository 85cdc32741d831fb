package devices

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// This file splits one level of a JSON object (a payload, the metrics of
// telemetry, a SenML record) or of a JSON array (a SenML pack) into its
// members without encoding/json's Decoder: walking a payload with
// Decoder.Token and Decode(&json.RawMessage) was most of the ingest's
// decode time and allocations. The walk is replaced, not its results:
// every member value is checked against the whole JSON grammar, as
// encoding/json's scanner checks it, and every refusal carries the text
// encoding/json's Decoder gave for the same bytes, because that text is in
// the DecodeError the dead letters keep. The old walk is the oracle of the
// differential tests (oldreading_test.go, jsonscan_diff_test.go); the
// comments below name the Decoder step each branch stands for.

// maxJSONDepth is encoding/json's nesting limit for one value.
const maxJSONDepth = 10000

// The texts of io.EOF and io.ErrUnexpectedEOF, which the Decoder returns
// when the data ends before a value or inside one.
const (
	msgEOF           = "EOF"
	msgUnexpectedEOF = "unexpected EOF"
)

func isJSONSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isHex(c byte) bool { return isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

func skipSpace(data []byte, i int) int {
	for i < len(data) && isJSONSpace(data[i]) {
		i++
	}
	return i
}

// quoteChar quotes a byte as encoding/json's syntax errors do.
func quoteChar(c byte) string {
	switch c {
	case '\'':
		return `'\''`
	case '"':
		return `'"'`
	}
	s := strconv.Quote(string(rune(c)))
	return "'" + s[1:len(s)-1] + "'"
}

// syntaxMsg is the text of a syntax error of encoding/json's scanner.
func syntaxMsg(c byte, context string) string {
	return "invalid character " + quoteChar(c) + " " + context
}

// tokenMsg is the text of a syntax error of Decoder.Token, whose context
// is either empty or starts with a space.
func tokenMsg(c byte, context string) string {
	return "invalid character " + quoteChar(c) + context
}

// scanValue reads one JSON value from data[i:] as the Decoder reads the
// next value of a stream: whitespace, then the value, which ends after its
// last byte (a number where the next byte cannot continue it; what follows
// the value is not looked at). It returns where the value starts and ends,
// or the Decoder's error text: "EOF" when only whitespace is left,
// "unexpected EOF" when the data ends inside the value, else the scanner's
// syntax error at the first byte that breaks the grammar.
func scanValue(data []byte, i int) (start, end int, msg string) {
	i = skipSpace(data, i)
	if i == len(data) {
		return i, i, msgEOF
	}
	start = i
	// open holds the containers the value is inside, true for an object.
	var openBuf [32]bool
	open := openBuf[:0]
	for {
		// A value begins at data[i].
		switch c := data[i]; {
		case c == '{' || c == '[':
			if len(open) == maxJSONDepth {
				return start, i, syntaxMsg(c, "exceeded max depth")
			}
			open = append(open, c == '{')
			if i = skipSpace(data, i+1); i == len(data) {
				return start, i, msgUnexpectedEOF
			}
			if c == '{' && data[i] == '}' || c == '[' && data[i] == ']' {
				open = open[:len(open)-1]
				i++
				break // an empty container is a value that ended
			}
			if c == '{' {
				if i, msg = scanKey(data, i); msg != "" {
					return start, i, msg
				}
			}
			continue // the first member's or element's value begins
		case c == '"':
			i, msg = scanString(data, i)
		case c == '-' || isDigit(c):
			i, msg = scanNumber(data, i)
		case c == 't':
			i, msg = scanLiteral(data, i, "true")
		case c == 'f':
			i, msg = scanLiteral(data, i, "false")
		case c == 'n':
			i, msg = scanLiteral(data, i, "null")
		default:
			return start, i, syntaxMsg(c, "looking for beginning of value")
		}
		if msg != "" {
			return start, i, msg
		}
		// A value ended before data[i]: close containers until one goes on.
		for {
			if len(open) == 0 {
				return start, i, ""
			}
			if i = skipSpace(data, i); i == len(data) {
				return start, i, msgUnexpectedEOF
			}
			c, object := data[i], open[len(open)-1]
			if c == ',' {
				if i = skipSpace(data, i+1); i == len(data) {
					return start, i, msgUnexpectedEOF
				}
				if object {
					if i, msg = scanKey(data, i); msg != "" {
						return start, i, msg
					}
				}
				break
			}
			if object && c == '}' || !object && c == ']' {
				open = open[:len(open)-1]
				i++
				continue
			}
			if object {
				return start, i, syntaxMsg(c, "after object key:value pair")
			}
			return start, i, syntaxMsg(c, "after array element")
		}
	}
}

// scanKey reads an object key at data[i] (not whitespace), its colon, and
// the whitespace after it, returning where the value should begin.
func scanKey(data []byte, i int) (int, string) {
	if data[i] != '"' {
		return i, syntaxMsg(data[i], "looking for beginning of object key string")
	}
	i, msg := scanString(data, i)
	if msg != "" {
		return i, msg
	}
	if i = skipSpace(data, i); i == len(data) {
		return i, msgUnexpectedEOF
	}
	if data[i] != ':' {
		return i, syntaxMsg(data[i], "after object key")
	}
	if i = skipSpace(data, i+1); i == len(data) {
		return i, msgUnexpectedEOF
	}
	return i, ""
}

// scanString reads the string literal whose quote is data[i] and returns
// the index after its closing quote. Bytes from 0x20 up, valid UTF-8 or
// not, may stand unescaped, as encoding/json allows.
func scanString(data []byte, i int) (int, string) {
	for i++; i < len(data); i++ {
		c := data[i]
		switch {
		case c == '"':
			return i + 1, ""
		case c == '\\':
			if i++; i == len(data) {
				return i, msgUnexpectedEOF
			}
			switch data[i] {
			case 'b', 'f', 'n', 'r', 't', '\\', '/', '"':
			case 'u':
				for range 4 {
					if i++; i == len(data) {
						return i, msgUnexpectedEOF
					}
					if !isHex(data[i]) {
						return i, syntaxMsg(data[i], `in \u hexadecimal character escape`)
					}
				}
			default:
				return i, syntaxMsg(data[i], "in string escape code")
			}
		case c < 0x20:
			return i, syntaxMsg(c, "in string literal")
		}
	}
	return i, msgUnexpectedEOF
}

// scanNumber reads the number that starts at data[i] and returns the index
// after it: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, as long as the
// bytes fit. The byte that ends it is the caller's.
func scanNumber(data []byte, i int) (int, string) {
	n := len(data)
	if data[i] == '-' {
		if i++; i == n {
			return i, msgUnexpectedEOF
		}
		if !isDigit(data[i]) {
			return i, syntaxMsg(data[i], "in numeric literal")
		}
	}
	if data[i] == '0' {
		i++
	} else {
		for i++; i < n && isDigit(data[i]); i++ {
		}
	}
	if i < n && data[i] == '.' {
		if i++; i == n {
			return i, msgUnexpectedEOF
		}
		if !isDigit(data[i]) {
			return i, syntaxMsg(data[i], "after decimal point in numeric literal")
		}
		for i++; i < n && isDigit(data[i]); i++ {
		}
	}
	if i < n && (data[i] == 'e' || data[i] == 'E') {
		if i++; i == n {
			return i, msgUnexpectedEOF
		}
		if data[i] == '+' || data[i] == '-' {
			if i++; i == n {
				return i, msgUnexpectedEOF
			}
		}
		if !isDigit(data[i]) {
			return i, syntaxMsg(data[i], "in exponent of numeric literal")
		}
		for i++; i < n && isDigit(data[i]); i++ {
		}
	}
	return i, ""
}

// scanLiteral reads true, false or null at data[i], whose first byte is
// known to match.
func scanLiteral(data []byte, i int, lit string) (int, string) {
	for k := 1; k < len(lit); k++ {
		if i+k == len(data) {
			return i + k, msgUnexpectedEOF
		}
		if data[i+k] != lit[k] {
			return i + k, syntaxMsg(data[i+k], "in literal "+lit+" (expecting '"+lit[k:k+1]+"')")
		}
	}
	return i + len(lit), ""
}

// firstToken reads the first token of data as Decoder.Token does at the
// start of a stream. It returns the index of the token's first byte; the
// caller looks there for the { or [ it wants. A scalar is read whole, and
// any error is the Decoder's text, including the one it gives when a
// number does not fit a float64 (the token would have been a float64).
func firstToken(data []byte) (int, string) {
	i := skipSpace(data, 0)
	if i == len(data) {
		return i, msgEOF
	}
	switch c := data[i]; c {
	case '{', '[':
		return i, ""
	case '}', ']', ':', ',':
		return i, tokenMsg(c, " looking for beginning of value")
	}
	start, end, msg := scanValue(data, i)
	if msg != "" {
		return i, msg
	}
	if c := data[start]; c == '-' || isDigit(c) {
		if _, err := strconv.ParseFloat(string(data[start:end]), 64); err != nil {
			return i, "json: cannot unmarshal number " + string(data[start:end]) + " into Go value of type float64"
		}
	}
	return i, ""
}

// readObject splits a JSON object into its members in order, each value
// a sub-slice of data, refusing duplicate keys (encoding/json would
// silently keep the last). With top set it also refuses anything after the
// object. path names the object in errors ("" for the payload).
func readObject(data []byte, path string, top bool) ([]member, *DecodeError) {
	where := "payload"
	if path != "" {
		where = path
	}
	notJSON := func(msg string) *DecodeError {
		return decodeErr(ReasonNotJSON, path, "%s is not JSON: %s", where, msg)
	}
	i, msg := firstToken(data)
	if msg != "" {
		return nil, notJSON(msg)
	}
	if data[i] != '{' {
		if top {
			return nil, decodeErr(ReasonNotJSON, path, "%s must be a JSON object", where)
		}
		return nil, decodeErr(ReasonBadType, path, "must be an object, not %s", jsonType(data))
	}
	i++
	var out []member
	for {
		// Decoder.More: stop at the end of the data or at a closing bracket.
		j := skipSpace(data, i)
		if j == len(data) || data[j] == '}' || data[j] == ']' {
			i = j
			break
		}
		// Decoder.Token: a comma unless this is the first member, then the key.
		if len(out) > 0 {
			if data[j] != ',' {
				return nil, notJSON(tokenMsg(data[j], " after object key:value pair"))
			}
			if j = skipSpace(data, j+1); j == len(data) {
				return nil, notJSON(msgEOF)
			}
			if data[j] != '"' {
				return nil, notJSON(tokenMsg(data[j], " looking for beginning of object key string"))
			}
		} else if data[j] != '"' {
			return nil, notJSON(tokenMsg(data[j], ""))
		}
		keyEnd, msg := scanString(data, j)
		if msg != "" {
			return nil, notJSON(msg)
		}
		// Decoder.Decode: the colon, then the value.
		k := skipSpace(data, keyEnd)
		if k == len(data) {
			return nil, notJSON(msgEOF)
		}
		if data[k] != ':' {
			return nil, notJSON("expected colon after object key")
		}
		vStart, vEnd, msg := scanValue(data, k+1)
		if msg != "" {
			return nil, notJSON(msg)
		}
		key := jsonKey(data[j:keyEnd])
		if hasKey(out, key) {
			return nil, decodeErr(ReasonDuplicateField, join(path, key), "given twice")
		}
		if out == nil {
			out = make([]member, 0, 8)
		}
		out = append(out, member{key: key, raw: data[vStart:vEnd:vEnd]})
		i = vEnd
	}
	// Decoder.Token: the closing brace.
	if i == len(data) {
		return nil, notJSON(msgEOF)
	}
	if data[i] == ']' {
		if len(out) == 0 {
			return nil, notJSON(tokenMsg(']', ""))
		}
		return nil, notJSON(tokenMsg(']', " after object key:value pair"))
	}
	if top && skipSpace(data, i+1) != len(data) {
		return nil, decodeErr(ReasonNotJSON, path, "%s has data after the JSON value", where)
	}
	return out, nil
}

// hasKey reports whether a member is named key. Objects are small: a
// payload has at most a few hundred members within DefaultMaxPayloadBytes.
func hasKey(ms []member, key string) bool {
	for _, m := range ms {
		if m.key == key {
			return true
		}
	}
	return false
}

// readArray splits a SenML pack, a JSON array, into its elements' raw
// values in order, each a sub-slice of data.
func readArray(data []byte) ([]json.RawMessage, *DecodeError) {
	notJSON := func(msg string) *DecodeError {
		return decodeErr(ReasonNotJSON, "", "payload is not JSON: %s", msg)
	}
	i, msg := firstToken(data)
	if msg != "" {
		return nil, notJSON(msg)
	}
	if data[i] != '[' {
		return nil, decodeErr(ReasonNotJSON, "", "a SenML payload must be a JSON array of records")
	}
	i++
	var out []json.RawMessage
	for {
		// Decoder.More: stop at the end of the data or at a closing bracket.
		j := skipSpace(data, i)
		if j == len(data) || data[j] == ']' || data[j] == '}' {
			i = j
			break
		}
		// Decoder.Decode: a comma unless this is the first element, then the value.
		if len(out) > 0 {
			if data[j] != ',' {
				return nil, notJSON("expected comma after array element")
			}
			i = j + 1
		}
		vStart, vEnd, msg := scanValue(data, i)
		if msg != "" {
			return nil, notJSON(msg)
		}
		if out == nil {
			out = make([]json.RawMessage, 0, 8)
		}
		out = append(out, data[vStart:vEnd:vEnd])
		i = vEnd
	}
	// Decoder.Token: the closing bracket.
	if i == len(data) {
		return nil, notJSON(msgEOF)
	}
	if data[i] == '}' {
		if len(out) == 0 {
			return nil, notJSON(tokenMsg('}', " looking for beginning of value"))
		}
		return nil, notJSON(tokenMsg('}', " after array element"))
	}
	if skipSpace(data, i+1) != len(data) {
		return nil, decodeErr(ReasonNotJSON, "", "payload has data after the JSON array")
	}
	return out, nil
}

// jsonKey is the string a scanned key literal (quotes included) stands
// for. A key without escapes in valid UTF-8 is its bytes, as encoding/json
// has it; any other is left to encoding/json, which replaces invalid
// UTF-8 and lone surrogates with U+FFFD.
func jsonKey(lit []byte) string {
	if s, ok := plainString(lit); ok {
		return internString(s)
	}
	var s string
	if err := json.Unmarshal(lit, &s); err != nil {
		// Cannot happen: scanString accepted the literal.
		return string(lit[1 : len(lit)-1])
	}
	return s
}

// plainString returns what a JSON string literal holds when that is
// exactly its bytes between the quotes: no escapes, no control bytes, no
// quote inside, valid UTF-8.
func plainString(lit []byte) ([]byte, bool) {
	if len(lit) < 2 || lit[0] != '"' || lit[len(lit)-1] != '"' {
		return nil, false
	}
	s := lit[1 : len(lit)-1]
	ascii := true
	for _, c := range s {
		if c < 0x20 || c == '"' || c == '\\' {
			return nil, false
		}
		if c >= utf8.RuneSelf {
			ascii = false
		}
	}
	if !ascii && !utf8.Valid(s) {
		return nil, false
	}
	return s, true
}

// internString is string(b), without a copy for the keys and words the
// contract defines, which make up nearly every string a device sends.
func internString(b []byte) string {
	switch string(b) {
	case "ts":
		return "ts"
	case "seq":
		return "seq"
	case "reference":
		return "reference"
	case "value":
		return "value"
	case "unit":
		return "unit"
	case "mode":
		return "mode"
	case "metrics":
		return "metrics"
	case "code":
		return "code"
	case "severity":
		return "severity"
	case "bn":
		return "bn"
	case "bt":
		return "bt"
	case "bu":
		return "bu"
	case "bver":
		return "bver"
	case "n":
		return "n"
	case "u":
		return "u"
	case "v":
		return "v"
	case "vs":
		return "vs"
	case "vb":
		return "vb"
	case "t":
		return "t"
	case "Cel":
		return "Cel"
	case "K":
		return "K"
	case "calibration":
		return "calibration"
	case "body":
		return "body"
	case "info":
		return "info"
	case "warning":
		return "warning"
	case "critical":
		return "critical"
	}
	return string(b)
}
