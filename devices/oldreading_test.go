package devices

// The JSON splitter as it was before the hand-written one (jsonscan.go):
// encoding/json's Decoder.Token walk over one object, and over a SenML
// pack, unchanged but for an "old" prefix (join and jsonType, which did
// not change, are the live ones). It is the oracle
// jsonscan_diff_test.go and FuzzReadObjectMatchesEncodingJSON compare the
// splitter with: the same members, and for bad input the same DecodeError,
// message included. (While the decoder was rewritten, the whole old Decode
// and ParseTopic were compared too, over about 1.5 million fuzz inputs;
// the decode table in devicestest pins that behaviour now.)

import (
	"bytes"
	"encoding/json"
	"io"
)

// oldMember is one key and raw value of a JSON object, in order.
type oldMember struct {
	key string
	raw json.RawMessage
}

// oldReadObject reads a JSON object's members, refusing duplicate keys
// (encoding/json would silently keep the last). With top set it also
// refuses anything after the object.
func oldReadObject(data []byte, path string, top bool) ([]oldMember, *DecodeError) {
	where := "payload"
	if path != "" {
		where = path
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, decodeErr(ReasonNotJSON, path, "%s is not JSON: %v", where, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		if top {
			return nil, decodeErr(ReasonNotJSON, path, "%s must be a JSON object", where)
		}
		return nil, decodeErr(ReasonBadType, path, "must be an object, not %s", jsonType(json.RawMessage(data)))
	}
	var out []oldMember
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, decodeErr(ReasonNotJSON, path, "%s is not JSON: %v", where, err)
		}
		key, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, decodeErr(ReasonNotJSON, path, "%s is not JSON: %v", where, err)
		}
		if seen[key] {
			return nil, decodeErr(ReasonDuplicateField, join(path, key), "given twice")
		}
		seen[key] = true
		out = append(out, oldMember{key: key, raw: raw})
	}
	if _, err := dec.Token(); err != nil {
		return nil, decodeErr(ReasonNotJSON, path, "%s is not JSON: %v", where, err)
	}
	if top {
		if _, err := dec.Token(); err != io.EOF {
			return nil, decodeErr(ReasonNotJSON, path, "%s has data after the JSON value", where)
		}
	}
	return out, nil
}

// oldReadArray is the old senmlRecords' walk of the pack, cut out of it
// unchanged so that readArray can be compared with it alone.
func oldReadArray(payload []byte) ([]json.RawMessage, *DecodeError) {
	dec := json.NewDecoder(bytes.NewReader(payload))
	tok, err := dec.Token()
	if err != nil {
		return nil, decodeErr(ReasonNotJSON, "", "payload is not JSON: %v", err)
	}
	if dl, ok := tok.(json.Delim); !ok || dl != '[' {
		return nil, decodeErr(ReasonNotJSON, "", "a SenML payload must be a JSON array of records")
	}
	var raws []json.RawMessage
	for dec.More() {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, decodeErr(ReasonNotJSON, "", "payload is not JSON: %v", err)
		}
		raws = append(raws, raw)
	}
	if _, err := dec.Token(); err != nil {
		return nil, decodeErr(ReasonNotJSON, "", "payload is not JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, decodeErr(ReasonNotJSON, "", "payload has data after the JSON array")
	}
	return raws, nil
}
