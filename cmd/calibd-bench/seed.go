package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/calibd/calibd/internal/store"
)

// The seeded world: one regulator (calibd's own bootstrap), one venue
// operator owning every venue and device, one metrology institute assigned
// to most devices. Device i (0-based) is a pure function of i, so seeding
// again to a larger N appends exactly the missing rows.
const (
	benchOperatorName  = "Bench Venue Operator"
	benchInstituteName = "Bench Metrology Institute"
	benchVenuePrefix   = "Bench venue "
	benchManufacturer  = "BenchCo"
	hotStatus          = "in_service"
)

type seedConfig struct {
	db             string
	devices        int
	out            string
	token          string
	bootstrapToken string
	perVenue       int
	hotEvery       int
	sample         int
	skipFKChecks   bool
}

func seedCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("seed")
	var c seedConfig
	fs.StringVar(&c.db, "db", "", "postgres:// URL of the benchmark database (loopback only)")
	fs.IntVar(&c.devices, "devices", 100000, "number of thermometers the database should hold")
	fs.StringVar(&c.out, "out", "seed.json", "where to write the seed file")
	fs.StringVar(&c.token, "token", defaultOperatorToken, "secret of the venue operator's admin token")
	fs.StringVar(&c.bootstrapToken, "bootstrap-token", defaultBootstrapToken, "calibd's bootstrap regulator token (CALIBD_BOOTSTRAP_TOKEN)")
	fs.IntVar(&c.perVenue, "per-venue", 500, "devices per ordinary venue")
	fs.IntVar(&c.hotEvery, "hot-every", 50, "every Nth device goes to the hot venue used by the list benchmark")
	fs.IntVar(&c.sample, "sample", 10000, "thermometer ids to write to the seed file for GET benchmarks")
	fs.BoolVar(&c.skipFKChecks, "skip-fk-checks", true, "COPY with session_replication_role=replica (rows are consistent by construction)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case c.db == "":
		return errors.New("seed: --db is required")
	case c.devices < 1 || c.perVenue < 1 || c.hotEvery < 2 || c.sample < 1:
		return errors.New("seed: --devices, --per-venue, --sample must be positive and --hot-every at least 2")
	case !strings.HasPrefix(c.token, store.TokenPrefix):
		return fmt.Errorf("seed: --token must start with %q", store.TokenPrefix)
	}
	if err := checkLoopbackDB(c.db); err != nil {
		return err
	}
	return seed(ctx, c, stdout, stderr)
}

func seed(ctx context.Context, c seedConfig, stdout, stderr io.Writer) error {
	start := time.Now()
	logf := func(format string, a ...any) {
		fmt.Fprintf(stdout, "seed: %6.1fs  %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, a...))
	}

	// Schema and the regulator come from calibd's own code paths.
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	st, err := store.Open(ctx, store.Config{URL: c.db, MaxOpenConns: 2}, log)
	if err != nil {
		return err
	}
	n, err := st.Migrate(ctx)
	if err == nil {
		_, err = st.Bootstrap(ctx, c.bootstrapToken)
	}
	_ = st.Close()
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	logf("migrated (%d new migrations), regulator bootstrapped", n)

	conn, err := pgx.Connect(ctx, c.db)
	if err != nil {
		return fmt.Errorf("seed: connect: %w", err)
	}
	defer conn.Close(context.Background())

	info := SeedInfo{Token: c.token, HotStatus: hotStatus}
	if err := conn.QueryRow(ctx, `SELECT id::text FROM organizations WHERE kind = 'regulator' ORDER BY id LIMIT 1`).
		Scan(&info.RegulatorOrgID); err != nil {
		return fmt.Errorf("seed: find the regulator: %w", err)
	}
	if info.OperatorOrgID, err = ensureOrg(ctx, conn, benchOperatorName, "venue_operator"); err != nil {
		return err
	}
	if info.InstituteOrgID, err = ensureOrg(ctx, conn, benchInstituteName, "metrology_institute"); err != nil {
		return err
	}
	if err := ensureToken(ctx, conn, info.OperatorOrgID, c.token); err != nil {
		return err
	}
	profiles, err := loadProfiles(ctx, conn)
	if err != nil {
		return err
	}

	venues, err := ensureVenues(ctx, conn, info.OperatorOrgID, 1+(c.devices+c.perVenue-1)/c.perVenue)
	if err != nil {
		return err
	}
	info.Venues, info.HotVenueID = len(venues), venues[0].String()
	logf("organizations, token and %d venues ready", len(venues))

	have, err := benchDevices(ctx, conn)
	if err != nil {
		return err
	}
	if have < c.devices {
		g := &deviceGen{cfg: c, venues: venues, operator: uuidOf(info.OperatorOrgID),
			institute: uuidOf(info.InstituteOrgID), profiles: profiles, now: time.Now().UTC().Truncate(time.Microsecond)}
		if err := copyDevices(ctx, conn, g, have, c.devices, c.skipFKChecks); err != nil {
			return err
		}
		logf("copied thermometers %d..%d (%d rows)", have, c.devices-1, c.devices-have)
	} else {
		logf("%d bench thermometers already present (asked for %d); nothing to add", have, c.devices)
	}
	for _, t := range []string{"organizations", "api_tokens", "venues", "thermometers"} {
		if _, err := conn.Exec(ctx, "VACUUM (ANALYZE) "+t); err != nil {
			return fmt.Errorf("seed: vacuum analyze %s: %w", t, err)
		}
	}
	logf("vacuum analyze done")

	if err := conn.QueryRow(ctx, `SELECT count(*) FROM thermometers`).Scan(&info.Devices); err != nil {
		return fmt.Errorf("seed: count: %w", err)
	}
	if err := conn.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE status = $2) FROM thermometers WHERE venue_id = $1`,
		info.HotVenueID, hotStatus).Scan(&info.HotVenueDevices, &info.HotStatusCount); err != nil {
		return fmt.Errorf("seed: count hot venue: %w", err)
	}
	if info.IDs, err = sampleIDs(ctx, conn, info.OperatorOrgID, info.Devices, c.sample); err != nil {
		return err
	}
	if err := writeJSON(c.out, info); err != nil {
		return fmt.Errorf("seed: write %s: %w", c.out, err)
	}
	logf("database holds %d thermometers in %d venues; hot venue %s has %d (%d %s); %d sample ids -> %s",
		info.Devices, info.Venues, info.HotVenueID, info.HotVenueDevices, info.HotStatusCount, hotStatus, len(info.IDs), c.out)
	return nil
}

func uuidOf(s string) uuid.UUID { return uuid.MustParse(s) }

func pgUUID(u uuid.UUID) pgtype.UUID { return pgtype.UUID{Bytes: u, Valid: true} }

func ensureOrg(ctx context.Context, conn *pgx.Conn, name, kind string) (string, error) {
	var id string
	err := conn.QueryRow(ctx, `SELECT id::text FROM organizations WHERE name = $1 AND kind = $2 ORDER BY id LIMIT 1`, name, kind).Scan(&id)
	if err == nil {
		return id, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("seed: find %s: %w", name, err)
	}
	id = uuid.Must(uuid.NewV7()).String()
	now := time.Now().UTC()
	_, err = conn.Exec(ctx, `INSERT INTO organizations (id, name, kind, region_code, contact_email, created_at, updated_at)
		VALUES ($1, $2, $3, 'CN-31', 'bench@example.org', $4, $4)`, id, name, kind, now)
	if err != nil {
		return "", fmt.Errorf("seed: create %s: %w", name, err)
	}
	return id, nil
}

// ensureToken stores the operator's admin token the way calibd does
// (store.HashSecret), so the known secret authenticates.
func ensureToken(ctx context.Context, conn *pgx.Conn, orgID, secret string) error {
	hash := store.HashSecret(secret)
	var owner string
	err := conn.QueryRow(ctx, `SELECT org_id::text FROM api_tokens WHERE secret_hash = $1`, hash).Scan(&owner)
	switch {
	case err == nil && owner == orgID:
		return nil
	case err == nil:
		return fmt.Errorf("seed: the token secret already belongs to organization %s", owner)
	case !errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("seed: find token: %w", err)
	}
	_, err = conn.Exec(ctx, `INSERT INTO api_tokens (id, org_id, name, role, secret_hash, created_at)
		VALUES ($1, $2, 'bench', 'admin', $3, $4)`, uuid.Must(uuid.NewV7()).String(), orgID, hash, time.Now().UTC())
	if err != nil {
		return fmt.Errorf("seed: create token: %w", err)
	}
	return nil
}

type profile struct {
	rangeMin, rangeMax, mpe float64
	interval                int32
}

func loadProfiles(ctx context.Context, conn *pgx.Conn) (map[string]profile, error) {
	rows, err := conn.Query(ctx, `SELECT code, range_min_c, range_max_c, mpe_c, default_interval_days FROM tolerance_profiles`)
	if err != nil {
		return nil, fmt.Errorf("seed: tolerance profiles: %w", err)
	}
	out := map[string]profile{}
	for rows.Next() {
		var code string
		var p profile
		if err := rows.Scan(&code, &p.rangeMin, &p.rangeMax, &p.mpe, &p.interval); err != nil {
			return nil, fmt.Errorf("seed: tolerance profiles: %w", err)
		}
		out[code] = p
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("seed: tolerance profiles: %w", err)
	}
	for _, t := range deviceTypes {
		if _, ok := out[t.profile]; !ok {
			return nil, fmt.Errorf("seed: tolerance profile %s is missing; are the migrations applied?", t.profile)
		}
	}
	return out, nil
}

var venueKinds = []string{"airport", "railway_station", "bus_station", "mall", "supermarket", "hospital", "school", "other"}

// ensureVenues returns the ids of bench venues 0..want-1 (venue 0 is the
// hot venue), creating the missing ones.
func ensureVenues(ctx context.Context, conn *pgx.Conn, operator string, want int) ([]uuid.UUID, error) {
	rows, err := conn.Query(ctx, `SELECT id::text, name FROM venues WHERE operator_org_id = $1 AND name LIKE $2`,
		operator, benchVenuePrefix+"%")
	if err != nil {
		return nil, fmt.Errorf("seed: venues: %w", err)
	}
	byIndex := map[int]uuid.UUID{}
	for rows.Next() {
		var id, name string
		if err := rows.Scan(&id, &name); err != nil {
			return nil, fmt.Errorf("seed: venues: %w", err)
		}
		if i, err := strconv.Atoi(strings.TrimPrefix(name, benchVenuePrefix)); err == nil {
			byIndex[i] = uuidOf(id)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("seed: venues: %w", err)
	}
	if len(byIndex) > want {
		want = len(byIndex)
	}
	out := make([]uuid.UUID, want)
	var missing [][]any
	now := time.Now().UTC()
	opID := pgUUID(uuidOf(operator))
	for i := range out {
		if id, ok := byIndex[i]; ok {
			out[i] = id
			continue
		}
		out[i] = uuid.Must(uuid.NewV7())
		missing = append(missing, []any{pgUUID(out[i]), fmt.Sprintf("%s%05d", benchVenuePrefix, i), venueKinds[i%len(venueKinds)],
			fmt.Sprintf("%d Bench Road", i), "CN-31", "Asia/Shanghai", opID, int32(1), now, now})
	}
	if len(missing) > 0 {
		_, err := conn.CopyFrom(ctx, pgx.Identifier{"venues"},
			[]string{"id", "name", "kind", "address", "region_code", "time_zone", "operator_org_id", "version", "created_at", "updated_at"},
			pgx.CopyFromRows(missing))
		if err != nil {
			return nil, fmt.Errorf("seed: create venues: %w", err)
		}
	}
	return out, nil
}

// benchDevices counts the seeded thermometers and checks they are exactly
// devices 0..n-1, so growth can append the rest.
func benchDevices(ctx context.Context, conn *pgx.Conn) (int, error) {
	var n int
	var maxSerial *string
	if err := conn.QueryRow(ctx, `SELECT count(*), max(serial) FROM thermometers WHERE manufacturer = $1`, benchManufacturer).
		Scan(&n, &maxSerial); err != nil {
		return 0, fmt.Errorf("seed: count bench thermometers: %w", err)
	}
	if n > 0 && (maxSerial == nil || *maxSerial != serialOf(n-1)) {
		return 0, fmt.Errorf("seed: the database holds %d bench thermometers but the last serial is %v, not %s; drop it and seed again",
			n, deref(maxSerial), serialOf(n-1))
	}
	return n, nil
}

func deref(s *string) string {
	if s == nil {
		return "<none>"
	}
	return *s
}

func serialOf(i int) string { return fmt.Sprintf("B%09d", i) }

type deviceType struct {
	name, profile, model, modes string
}

// deviceTypes in proportion: 4 forehead, 3 ear, 2 screening, 1 contact.
var deviceTypes = []deviceType{
	{"ir_forehead", "jjf1107_forehead", "FH-100", "body,calibration"},
	{"ir_forehead", "jjf1107_forehead", "FH-100", "body,calibration"},
	{"ir_forehead", "jjf1107_forehead", "FH-100", "body,calibration"},
	{"ir_forehead", "jjf1107_forehead", "FH-100", "body,calibration"},
	{"ir_ear", "jjg1164_ear", "EAR-7", "body,calibration"},
	{"ir_ear", "jjg1164_ear", "EAR-7", "body,calibration"},
	{"ir_ear", "jjg1164_ear", "EAR-7", "body,calibration"},
	{"ir_screening_thermograph", "jjf1107_screening", "SCR-3", "body,calibration"},
	{"ir_screening_thermograph", "jjf1107_screening", "SCR-3", "body,calibration"},
	{"medical_electronic", "jjg1162_contact", "MC-1", "body"},
}

var thermometerCols = []string{"id", "venue_id", "operator_org_id", "type", "manufacturer", "model", "serial",
	"location_note", "range_min_c", "range_max_c", "tolerance_profile", "mpe_c", "modes", "institute_id", "status",
	"interval_days", "last_calibrated_at", "next_due_at", "version", "created_at", "updated_at", "retired_at"}

type deviceGen struct {
	cfg                 seedConfig
	venues              []uuid.UUID
	operator, institute uuid.UUID
	profiles            map[string]profile
	now                 time.Time
	idMS, idSeq         uint64
	rnd                 *rand.ChaCha8
}

// nextID returns UUIDv7s in strictly increasing order, like calibd's
// newID, without a crypto/rand read per row: a millisecond timestamp from
// the start of the run, a 12-bit counter, 62 random bits.
func (g *deviceGen) nextID() uuid.UUID {
	if g.rnd == nil {
		var seed [32]byte
		binary.LittleEndian.PutUint64(seed[:], uint64(time.Now().UnixNano()))
		g.rnd = rand.NewChaCha8(seed)
		g.idMS = uint64(time.Now().UnixMilli())
	}
	if g.idSeq == 1<<12 {
		g.idMS, g.idSeq = g.idMS+1, 0
	}
	var u uuid.UUID
	binary.BigEndian.PutUint64(u[0:8], g.idMS<<16|0x7000|g.idSeq)
	binary.BigEndian.PutUint64(u[8:16], g.rnd.Uint64()&0x3fffffffffffffff|0x8000000000000000)
	g.idSeq++
	return u
}

// splitmix64 spreads i over 64 bits, so attributes do not line up with the
// venue assignment (every hot-every-th device).
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// row is device i: ~80% in_service, 10% out_of_tolerance, 7% quarantined,
// 3% retired; every hot-every-th device in venue 0, the rest in blocks of
// per-venue; 60% assigned to the institute; 90% calibrated in the last year.
func (g *deviceGen) row(i int) []any {
	h := splitmix64(uint64(i))
	venue := 1 + i/g.cfg.perVenue
	if i%g.cfg.hotEvery == 0 {
		venue = 0
	}
	t := deviceTypes[h%uint64(len(deviceTypes))]
	p := g.profiles[t.profile]
	status := "in_service"
	var retiredAt *time.Time
	switch s := (h >> 8) % 100; {
	case s >= 97:
		status, retiredAt = "retired", &g.now
	case s >= 90:
		status = "quarantined"
	case s >= 80:
		status = "out_of_tolerance"
	}
	var institute any
	if (h>>16)%10 < 6 {
		institute = pgUUID(g.institute)
	}
	var last any
	due := g.now
	if (h>>24)%10 != 0 {
		l := g.now.Add(-time.Duration((h>>32)%(364*24)) * time.Hour)
		last, due = l, l.AddDate(0, 0, int(p.interval))
	}
	var retired any
	if retiredAt != nil {
		retired = *retiredAt
	}
	return []any{pgUUID(g.nextID()), pgUUID(g.venues[venue]), pgUUID(g.operator), t.name, benchManufacturer,
		t.model, serialOf(i), "Gate " + strconv.Itoa(int(h>>40)%64), p.rangeMin, p.rangeMax, t.profile, p.mpe, t.modes,
		institute, status, p.interval, last, due, int32(1), g.now, g.now, retired}
}

// copyDevices appends devices from..to-1 in one transaction (all or none,
// so a later run can count what is there).
func copyDevices(ctx context.Context, conn *pgx.Conn, g *deviceGen, from, to int, skipFK bool) error {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return fmt.Errorf("seed: begin: %w", err)
	}
	defer func() { _ = tx.Rollback(context.Background()) }()
	if skipFK {
		// Foreign-key triggers would cost four lookups per row; every
		// reference is to a row created above.
		if _, err := tx.Exec(ctx, `SET LOCAL session_replication_role = replica`); err != nil {
			return fmt.Errorf("seed: %w", err)
		}
	}
	// Adding at least as many rows as the table holds: building the
	// secondary indexes afterwards (one sort each) beats updating them row
	// by row. DDL is transactional, so a failure restores them.
	var rebuild []string
	if to-from >= max(from, 50000) {
		if rebuild, err = dropSecondaryIndexes(ctx, tx); err != nil {
			return err
		}
	}
	i := from
	n, err := tx.CopyFrom(ctx, pgx.Identifier{"thermometers"}, thermometerCols, pgx.CopyFromFunc(func() ([]any, error) {
		if i >= to {
			return nil, nil
		}
		r := g.row(i)
		i++
		return r, nil
	}))
	if err != nil {
		return fmt.Errorf("seed: copy thermometers: %w", err)
	}
	if int(n) != to-from {
		return fmt.Errorf("seed: copied %d thermometers, expected %d", n, to-from)
	}
	if len(rebuild) > 0 {
		if _, err := tx.Exec(ctx, `SET LOCAL maintenance_work_mem = '256MB'`); err != nil {
			return fmt.Errorf("seed: %w", err)
		}
		for _, def := range rebuild {
			if _, err := tx.Exec(ctx, def); err != nil {
				return fmt.Errorf("seed: rebuild index: %s: %w", def, err)
			}
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("seed: commit: %w", err)
	}
	return nil
}

// dropSecondaryIndexes drops the thermometers indexes that back no
// constraint and returns their definitions, as the migrations made them.
func dropSecondaryIndexes(ctx context.Context, tx pgx.Tx) ([]string, error) {
	rows, err := tx.Query(ctx, `SELECT c.relname, pg_get_indexdef(c.oid) FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid
		WHERE x.indrelid = 'thermometers'::regclass AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid)
		ORDER BY c.relname`)
	if err != nil {
		return nil, fmt.Errorf("seed: list indexes: %w", err)
	}
	type index struct{ name, def string }
	idx, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (index, error) {
		var i index
		err := r.Scan(&i.name, &i.def)
		return i, err
	})
	if err != nil {
		return nil, fmt.Errorf("seed: list indexes: %w", err)
	}
	defs := make([]string, 0, len(idx))
	for _, i := range idx {
		if _, err := tx.Exec(ctx, "DROP INDEX "+pgx.Identifier{i.name}.Sanitize()); err != nil {
			return nil, fmt.Errorf("seed: drop index %s: %w", i.name, err)
		}
		defs = append(defs, i.def)
	}
	return defs, nil
}

// sampleIDs picks about want thermometer ids spread over the whole table.
func sampleIDs(ctx context.Context, conn *pgx.Conn, operator string, total, want int) ([]string, error) {
	pct := min(100.0, 1.5*float64(want)*100/float64(max(total, 1)))
	rows, err := conn.Query(ctx, fmt.Sprintf(`SELECT id FROM (SELECT id::text FROM thermometers TABLESAMPLE BERNOULLI (%g)
		WHERE operator_org_id = $1) s ORDER BY random() LIMIT %d`, pct, want), operator)
	if err != nil {
		return nil, fmt.Errorf("seed: sample ids: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("seed: sample ids: %w", err)
	}
	if len(ids) == 0 {
		return nil, errors.New("seed: sampled no thermometer ids")
	}
	return ids, nil
}
