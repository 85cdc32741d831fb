package simulate

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/calibd/calibd/devices"
)

// Device is one simulated device: its id (also its MQTT username), its
// kind and the MQTT secret the API issued it (empty for brokers that take
// anonymous logins).
type Device struct {
	ID     string
	Kind   devices.DeviceKind
	Secret string
	// ReferenceC is the temperature of the reference source a thermometer
	// checks against; zero means the run's reference (Profile.ReferenceC).
	ReferenceC float64
}

// Credentials file columns. The file is what Provision writes and what a
// later run reads: one device per line, secrets in clear, so it is written
// with mode 0600. A reference_c column, if present, sets a thermometer's
// reference temperature.
var credentialColumns = []string{"device_id", "kind", "secret"}

const referenceColumn = "reference_c"

// WriteCredentials writes fleet to path (mode 0600) in one rename, so a
// reader never sees half a file and a file left by an earlier run is
// replaced whatever its mode was.
func WriteCredentials(path string, fleet []Device) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".calibd-sim-*")
	if err != nil {
		return fmt.Errorf("write credentials: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("write credentials: %w", err)
	}
	w := csv.NewWriter(tmp)
	_ = w.Write(credentialColumns)
	for _, d := range fleet {
		_ = w.Write([]string{d.ID, string(d.Kind), d.Secret})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		tmp.Close()
		return fmt.Errorf("write credentials: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write credentials: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write credentials: %w", err)
	}
	return nil
}

// ReadCredentials reads a credentials file.
func ReadCredentials(path string) ([]Device, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read credentials: %w", err)
	}
	defer f.Close()
	fleet, err := parseCredentials(f)
	if err != nil {
		return nil, fmt.Errorf("read credentials %s: %w", path, err)
	}
	return fleet, nil
}

func parseCredentials(r io.Reader) ([]Device, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("empty file; the first line must be device_id,kind,secret")
	}
	if err != nil {
		return nil, err
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	for _, c := range credentialColumns {
		if _, ok := col[c]; !ok {
			return nil, fmt.Errorf("line 1: no %q column (want device_id,kind,secret)", c)
		}
	}
	var fleet []Device
	seen := map[string]bool{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		line, _ := cr.FieldPos(0)
		cell := func(name string) string {
			i, ok := col[name]
			if !ok || i >= len(rec) {
				return ""
			}
			return strings.TrimSpace(rec[i])
		}
		d := Device{ID: strings.ToLower(cell("device_id")), Kind: devices.DeviceKind(cell("kind")), Secret: cell("secret")}
		if d.ID == "" && d.Secret == "" && d.Kind == "" {
			continue
		}
		if !devices.IsUUID(d.ID) {
			return nil, fmt.Errorf("line %d: device_id %q is not a UUID", line, d.ID)
		}
		if d.Kind != devices.DeviceThermometer && d.Kind != devices.DeviceElevator {
			return nil, fmt.Errorf("line %d: kind %q is not thermometer or elevator", line, d.Kind)
		}
		if seen[d.ID] {
			return nil, fmt.Errorf("line %d: device %s listed twice", line, d.ID)
		}
		seen[d.ID] = true
		if s := cell(referenceColumn); s != "" {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil || v < 0 || v > 100 {
				return nil, fmt.Errorf("line %d: reference_c %q is not a temperature in °C", line, s)
			}
			d.ReferenceC = v
		}
		fleet = append(fleet, d)
	}
	if len(fleet) == 0 {
		return nil, errors.New("no devices after the header")
	}
	return fleet, nil
}

// Select takes the first thermometers and lifts of fleet, keeping its
// order; a negative count takes all of that kind. It fails if fleet has
// fewer than asked.
func Select(fleet []Device, thermometers, lifts int) ([]Device, error) {
	var out []Device
	nt, nl := 0, 0
	for _, d := range fleet {
		switch {
		case d.Kind == devices.DeviceThermometer && (thermometers < 0 || nt < thermometers):
			nt++
			out = append(out, d)
		case d.Kind == devices.DeviceElevator && (lifts < 0 || nl < lifts):
			nl++
			out = append(out, d)
		}
	}
	if thermometers > nt || lifts > nl {
		return nil, fmt.Errorf("the fleet has %d thermometers and %d lifts; %d and %d asked", nt, nl, thermometers, lifts)
	}
	if len(out) == 0 {
		return nil, errors.New("no devices selected")
	}
	return out, nil
}

// RandomFleet makes thermometers and lifts with ids drawn from seed and no
// secrets: devices calibd does not know, for broker-only runs (the ingest
// dead-letters their messages as unknown_device).
func RandomFleet(thermometers, lifts int, seed uint64) []Device {
	rng := rand.New(rand.NewPCG(seed, 0x666c656574)) // "fleet"
	fleet := make([]Device, 0, thermometers+lifts)
	for i := range thermometers + lifts {
		kind := devices.DeviceThermometer
		if i >= thermometers {
			kind = devices.DeviceElevator
		}
		fleet = append(fleet, Device{ID: randomUUID(rng), Kind: kind})
	}
	return fleet
}

// randomUUID draws a version 4 UUID in lower case from rng.
func randomUUID(rng *rand.Rand) string {
	var b [16]byte
	for i := 0; i < 16; i += 8 {
		v := rng.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	const hex = "0123456789abcdef"
	out := make([]byte, 0, 36)
	for i, x := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hex[x>>4], hex[x&0x0f])
	}
	return string(out)
}
