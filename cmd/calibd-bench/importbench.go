package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"
)

// ImportResult is the import benchmark, as written to its results file.
type ImportResult struct {
	Target   string    `json:"target"`
	Rows     int       `json:"rows"`
	Bytes    int       `json:"bytes"`
	Devices  int       `json:"devices_before"`
	RunsMS   []float64 `json:"runs_ms"`
	MedianMS float64   `json:"median_ms"`
	Started  time.Time `json:"started"`
}

func importCmd(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("import")
	target := fs.String("target", "", "calibd base URL, e.g. http://127.0.0.1:18080/api/v1")
	token := fs.String("token", "", "a venue operator's token (default: the seed file's)")
	seedFile := fs.String("seed", "", "seed file (token, institute id); optional")
	venue := fs.String("venue", "", "import into this venue every run (default: a fresh venue per run)")
	rows := fs.Int("rows", 10000, "rows per CSV")
	runs := fs.Int("runs", 3, "imports to time; the median is reported")
	jsonOut := fs.String("json-out", "", "write the result as JSON to this file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := checkLoopbackURL(*target); err != nil {
		return err
	}
	if *rows < 1 || *runs < 1 {
		return errors.New("import: --rows and --runs must be positive")
	}
	var seed SeedInfo
	if *seedFile != "" {
		var err error
		if seed, err = readSeed(*seedFile); err != nil {
			return err
		}
		if *token == "" {
			*token = seed.Token
		}
	}
	if *token == "" {
		return errors.New("import: --token (or --seed) is required")
	}
	base := strings.TrimRight(*target, "/")
	client := &http.Client{Timeout: 10 * time.Minute}
	res := ImportResult{Target: base, Rows: *rows, Devices: seed.Devices, Started: time.Now().UTC()}
	stamp := time.Now().UTC().Format("20060102T150405")
	for run := 1; run <= *runs; run++ {
		venueID := *venue
		if venueID == "" {
			var err error
			if venueID, err = createVenue(ctx, client, base, *token, fmt.Sprintf("Bench import venue %s-%d", stamp, run)); err != nil {
				return err
			}
		}
		body := importCSV(*rows, fmt.Sprintf("%s-%d", stamp, run), seed.InstituteOrgID)
		res.Bytes = len(body)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/venues/"+venueID+"/thermometers/import", bytes.NewReader(body))
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
		req.Header.Set("Authorization", "Bearer "+*token)
		req.Header.Set("Content-Type", "text/csv")
		t0 := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
		out, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		d := time.Since(t0)
		if err != nil {
			return fmt.Errorf("import: read answer: %w", err)
		}
		var created struct {
			Created int `json:"created"`
		}
		if resp.StatusCode != http.StatusCreated || json.Unmarshal(out, &created) != nil || created.Created != *rows {
			return fmt.Errorf("import: run %d: status %d: %.500s", run, resp.StatusCode, out)
		}
		ms := float64(d) / float64(time.Millisecond)
		res.RunsMS = append(res.RunsMS, ms)
		fmt.Fprintf(stdout, "import: run %d: %d rows (%d KiB) into venue %s in %.0f ms\n", run, *rows, len(body)>>10, venueID, ms)
	}
	res.MedianMS = median(res.RunsMS)
	fmt.Fprintf(stdout, "import: median of %d runs: %.0f ms for %d rows\n", *runs, res.MedianMS, *rows)
	if *jsonOut != "" {
		if err := writeJSON(*jsonOut, res); err != nil {
			return fmt.Errorf("import: %w", err)
		}
	}
	return nil
}

func createVenue(ctx context.Context, client *http.Client, base, token, name string) (string, error) {
	b, _ := json.Marshal(map[string]any{"name": name, "kind": "railway_station", "region_code": "CN-31",
		"time_zone": "Asia/Shanghai", "address": "1 Import Road"})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/venues", bytes.NewReader(b))
	if err != nil {
		return "", fmt.Errorf("import: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("import: create venue: %w", err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	var v struct {
		ID string `json:"id"`
	}
	if resp.StatusCode != http.StatusCreated || json.Unmarshal(out, &v) != nil || v.ID == "" {
		return "", fmt.Errorf("import: create venue: status %d: %.300s", resp.StatusCode, out)
	}
	return v.ID, nil
}

// importCSV is a valid thermometer import of n rows with the columns
// operators fill in practice: a mix of types and statuses, a location,
// a last calibration and, for most rows, the assigned institute.
func importCSV(n int, tag, institute string) []byte {
	var b bytes.Buffer
	b.WriteString("type,manufacturer,model,serial,location_note,status,institute_id,calibration_interval_days,last_calibrated_at\n")
	now := time.Now().UTC()
	statuses := []string{"in_service", "in_service", "in_service", "in_service", "in_service", "in_service", "in_service", "in_service", "quarantined", "out_of_tolerance"}
	for i := range n {
		t := deviceTypes[i%len(deviceTypes)]
		inst := ""
		if institute != "" && i%5 != 0 {
			inst = institute
		}
		last := now.Add(-time.Duration(24*(1+i%300)) * time.Hour).Format(time.RFC3339)
		fmt.Fprintf(&b, "%s,ImportCo,%s,IMP-%s-%06d,Hall %d gate %d,%s,%s,365,%s\n",
			t.name, t.model, tag, i, i%9, i%40, statuses[i%len(statuses)], inst, last)
	}
	return b.Bytes()
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
