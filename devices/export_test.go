package devices

// Hooks for the differential tests in package devices_test, which need
// devicestest's payloads (and devicestest imports devices).

// SplitMember is one member of a split object: its key and raw value.
type SplitMember struct {
	Key string
	Raw string
}

func splitMembers(ms []member) []SplitMember {
	var out []SplitMember
	for _, m := range ms {
		out = append(out, SplitMember{Key: m.key, Raw: string(m.raw)})
	}
	return out
}

func splitRaws[R ~[]byte](raws []R) []string {
	var out []string
	for _, r := range raws {
		out = append(out, string(r))
	}
	return out
}

// ReadObject is the hand-written readObject.
func ReadObject(data []byte, path string, top bool) ([]SplitMember, *DecodeError) {
	ms, err := readObject(data, path, top)
	return splitMembers(ms), err
}

// OldReadObject is readObject as it was, on encoding/json's Decoder.
func OldReadObject(data []byte, path string, top bool) ([]SplitMember, *DecodeError) {
	ms, err := oldReadObject(data, path, top)
	var out []SplitMember
	for _, m := range ms {
		out = append(out, SplitMember{Key: m.key, Raw: string(m.raw)})
	}
	return out, err
}

// ReadArray is the hand-written split of a SenML pack.
func ReadArray(data []byte) ([]string, *DecodeError) {
	raws, err := readArray(data)
	return splitRaws(raws), err
}

// OldReadArray is the split of a SenML pack as it was.
func OldReadArray(data []byte) ([]string, *DecodeError) {
	raws, err := oldReadArray(data)
	return splitRaws(raws), err
}
