package simulate

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/calibd/calibd/devices"
)

// ProvisionConfig says what fleet to register through the API.
type ProvisionConfig struct {
	// Token is a venue operator's admin token, or a regulator's: with a
	// regulator token a venue operator organization is created for the
	// fleet, and an admin token of its own (not shown) does the rest.
	API *API
	// VenueID is an existing venue of the operator; empty creates one.
	VenueID      string
	Thermometers int
	Lifts        int
	// Parallel is how many credentials are issued at once (default 8).
	Parallel int
	Log      *slog.Logger
}

// Provisioned is the registered fleet.
type Provisioned struct {
	OperatorOrgID string
	VenueID       string
	Fleet         []Device // thermometers first, then lifts; each with its secret
}

// importChunk is how many rows one CSV import carries (the API takes up
// to devices.MaxImportRows).
const importChunk = 10_000

// thermometerTypes are the types simulated thermometers cycle through;
// each gets its type's default tolerance profile (MPE 0.2 to 0.4 °C).
var thermometerTypes = []devices.ThermometerType{devices.TypeIREar, devices.TypeIRForehead, devices.TypeIRScreening}

// Provision registers a fleet the way an operator would: a venue (unless
// given), its thermometers and lifts by CSV import, then an MQTT secret for
// each device (POST /devices/{id}/credentials). Serials carry a random run
// tag, so provisioning again adds a new fleet beside the old one.
func Provision(ctx context.Context, cfg ProvisionConfig) (Provisioned, error) {
	if cfg.Thermometers < 0 || cfg.Lifts < 0 || cfg.Thermometers+cfg.Lifts == 0 {
		return Provisioned{}, errors.New("provision: ask for at least one thermometer or lift")
	}
	if cfg.Parallel <= 0 {
		cfg.Parallel = 8
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	api := cfg.API
	var me struct {
		Organization struct {
			ID   string `json:"id"`
			Kind string `json:"kind"`
		} `json:"organization"`
		Role string `json:"role"`
	}
	if err := api.do(ctx, http.MethodGet, "/me", nil, "", &me); err != nil {
		return Provisioned{}, fmt.Errorf("provision: %w", err)
	}
	tag := runTag()
	switch me.Organization.Kind {
	case string(devices.KindVenueOperator):
	case string(devices.KindRegulator):
		if cfg.VenueID != "" {
			return Provisioned{}, errors.New("provision: -venue needs the venue operator's token, not a regulator's")
		}
		op, err := operatorFor(ctx, api, tag)
		if err != nil {
			return Provisioned{}, err
		}
		api = op
		if err := api.do(ctx, http.MethodGet, "/me", nil, "", &me); err != nil {
			return Provisioned{}, fmt.Errorf("provision: %w", err)
		}
		log.Info("created a venue operator for the fleet", "org_id", me.Organization.ID)
	default:
		return Provisioned{}, fmt.Errorf("provision: the token belongs to a %s; use a venue operator's or a regulator's", me.Organization.Kind)
	}
	out := Provisioned{OperatorOrgID: me.Organization.ID, VenueID: cfg.VenueID}
	if out.VenueID == "" {
		var v struct {
			ID string `json:"id"`
		}
		if err := api.postJSON(ctx, "/venues", map[string]any{"name": "Simulated fleet " + tag, "kind": "airport",
			"region_code": "310115", "time_zone": "UTC", "address": "created by calibd simulate"}, &v); err != nil {
			return Provisioned{}, fmt.Errorf("provision: create venue: %w", err)
		}
		out.VenueID = v.ID
		log.Info("created a venue for the fleet", "venue_id", v.ID)
	}
	start := time.Now()
	therms, err := importDevices(ctx, api, out.VenueID, tag, "thermometers", cfg.Thermometers, thermometerCSV)
	if err != nil {
		return Provisioned{}, err
	}
	lifts, err := importDevices(ctx, api, out.VenueID, tag, "elevators", cfg.Lifts, elevatorCSV)
	if err != nil {
		return Provisioned{}, err
	}
	log.Info("devices imported", "thermometers", len(therms), "lifts", len(lifts), "took", time.Since(start).Round(time.Millisecond))
	for _, id := range therms {
		out.Fleet = append(out.Fleet, Device{ID: id, Kind: devices.DeviceThermometer})
	}
	for _, id := range lifts {
		out.Fleet = append(out.Fleet, Device{ID: id, Kind: devices.DeviceElevator})
	}
	start = time.Now()
	if err := issueSecrets(ctx, api, out.Fleet, cfg.Parallel, log); err != nil {
		return Provisioned{}, err
	}
	log.Info("device secrets issued", "devices", len(out.Fleet), "took", time.Since(start).Round(time.Millisecond))
	return out, nil
}

// runTag is a short random tag that keeps one provisioning's serials and
// names apart from another's.
func runTag() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return strings.ToUpper(hex.EncodeToString(b))
}

// operatorFor creates a venue operator and an admin token for it with the
// regulator's API, and returns an API acting as that operator.
func operatorFor(ctx context.Context, reg *API, tag string) (*API, error) {
	var org struct {
		ID string `json:"id"`
	}
	if err := reg.postJSON(ctx, "/organizations", map[string]any{"name": "Simulated operator " + tag, "kind": "venue_operator"}, &org); err != nil {
		return nil, fmt.Errorf("provision: create operator: %w", err)
	}
	var tok struct {
		Token string `json:"token"`
	}
	if err := reg.postJSON(ctx, "/organizations/"+org.ID+"/tokens", map[string]any{"name": "calibd simulate", "role": "admin"}, &tok); err != nil {
		return nil, fmt.Errorf("provision: issue operator token: %w", err)
	}
	return &API{base: reg.base, token: tok.Token, hc: reg.hc}, nil
}

// importDevices imports n devices of a kind ("thermometers" or
// "elevators") into the venue in chunks, then reads their ids back from
// the venue's export, keeping those whose key carries tag.
func importDevices(ctx context.Context, api *API, venue, tag, kind string, n int, rows func(tag string, from, to int) []byte) ([]string, error) {
	if n == 0 {
		return nil, nil
	}
	for from := 0; from < n; from += importChunk {
		body := rows(tag, from, min(n, from+importChunk))
		var res struct {
			Created int `json:"created"`
		}
		if err := api.do(ctx, http.MethodPost, "/venues/"+venue+"/"+kind+"/import", body, "text/csv", &res); err != nil {
			return nil, fmt.Errorf("provision: import %s: %w", kind, err)
		}
	}
	var data []byte
	if err := api.do(ctx, http.MethodGet, "/venues/"+venue+"/"+kind+"/export", nil, "", &data); err != nil {
		return nil, fmt.Errorf("provision: export %s: %w", kind, err)
	}
	keyCol := "serial"
	if kind == "elevators" {
		keyCol = "registration_code"
	}
	ids, err := idsByTag(data, keyCol, tag)
	if err != nil {
		return nil, fmt.Errorf("provision: read %s export: %w", kind, err)
	}
	if len(ids) != n {
		return nil, fmt.Errorf("provision: imported %d %s but the export lists %d of them", n, kind, len(ids))
	}
	return ids, nil
}

func thermometerCSV(tag string, from, to int) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write([]string{"type", "manufacturer", "model", "serial", "location_note", "last_calibrated_at"})
	calibrated := time.Now().UTC().AddDate(0, -1, 0).Format(time.DateOnly)
	for i := from; i < to; i++ {
		_ = w.Write([]string{string(thermometerTypes[i%len(thermometerTypes)]), "Simulated", "SIM-T1",
			fmt.Sprintf("SIM-%s-%06d", tag, i+1), fmt.Sprintf("simulated checkpoint %d", i+1), calibrated})
	}
	w.Flush()
	return b.Bytes()
}

func elevatorCSV(tag string, from, to int) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write([]string{"registration_code", "manufacturer", "model"})
	for i := from; i < to; i++ {
		_ = w.Write([]string{fmt.Sprintf("SIM-%s-%06d", tag, i+1), "Simulated", "SIM-L1"})
	}
	w.Flush()
	return b.Bytes()
}

// idsByTag reads an export's id column for the rows whose key column
// starts with SIM-{tag}-, in the order of the key (the import order).
func idsByTag(data []byte, keyCol, tag string) ([]string, error) {
	r := csv.NewReader(bytes.NewReader(data))
	header, err := r.Read()
	if err != nil {
		return nil, err
	}
	idx := map[string]int{}
	for i, h := range header {
		idx[h] = i
	}
	ki, ok1 := idx[keyCol]
	ii, ok2 := idx["id"]
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("no %s or id column in %q", keyCol, header)
	}
	prefix := "SIM-" + tag + "-"
	type row struct{ key, id string }
	var rows []row
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if strings.HasPrefix(rec[ki], prefix) {
			rows = append(rows, row{rec[ki], rec[ii]})
		}
	}
	// Keys are zero-padded, so their string order is the import order.
	slices.SortFunc(rows, func(a, b row) int { return strings.Compare(a.key, b.key) })
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.id
	}
	return ids, nil
}

// issueSecrets issues every device's MQTT secret, parallel at a time.
func issueSecrets(ctx context.Context, api *API, fleet []Device, parallel int, log *slog.Logger) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next     atomic.Int64
		done     atomic.Int64
		errOnce  sync.Once
		firstErr error
		wg       sync.WaitGroup
	)
	for range min(parallel, len(fleet)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(fleet) || ctx.Err() != nil {
					return
				}
				var cred struct {
					Username string `json:"username"`
					Secret   string `json:"secret"`
				}
				err := api.postJSON(ctx, "/devices/"+fleet[i].ID+"/credentials", nil, &cred)
				if err == nil && (cred.Secret == "" || cred.Username != fleet[i].ID) {
					err = fmt.Errorf("credentials of %s: answer without a secret or with username %q", fleet[i].ID, cred.Username)
				}
				if err != nil {
					errOnce.Do(func() { firstErr = err; cancel() })
					return
				}
				fleet[i].Secret = cred.Secret
				if n := done.Add(1); n%1000 == 0 {
					log.Info("issuing device secrets", "done", n, "of", len(fleet))
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return fmt.Errorf("provision: %w", firstErr)
	}
	return ctx.Err()
}
