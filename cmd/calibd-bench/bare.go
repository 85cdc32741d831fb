package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// The bare server is the floor calibd is measured against: gin.New() with
// no middleware, gorm with prepared statements, one indexed query per
// request, the same JSON shape and the same keyset query as calibd, and
// nothing else (no auth, tenancy filter, request id, logging, metrics or
// input validation).

type bareRow struct {
	ID                string
	VenueID           string
	OperatorOrgID     string
	Type              string
	Manufacturer      string
	Model             string
	Serial            string
	LocationNote      string
	RangeMinC         float64
	RangeMaxC         float64
	ToleranceProfile  string
	MPEC              float64  `gorm:"column:mpe_c"`
	MPEOverrideC      *float64 `gorm:"column:mpe_override_c"`
	MPEOverrideReason string   `gorm:"column:mpe_override_reason"`
	Modes             string
	InstituteID       *string
	Status            string
	IntervalDays      int
	LastCalibratedAt  *time.Time
	NextDueAt         time.Time
	Version           int
	CreatedAt         time.Time
	UpdatedAt         time.Time
	RetiredAt         *time.Time
}

func (bareRow) TableName() string { return "thermometers" }

type bareJSON struct {
	ID                string     `json:"id"`
	VenueID           string     `json:"venue_id"`
	OperatorOrgID     string     `json:"operator_org_id"`
	Type              string     `json:"type"`
	Manufacturer      string     `json:"manufacturer"`
	Model             string     `json:"model"`
	Serial            string     `json:"serial"`
	LocationNote      string     `json:"location_note"`
	RangeMinC         float64    `json:"range_min_c"`
	RangeMaxC         float64    `json:"range_max_c"`
	ToleranceProfile  string     `json:"tolerance_profile"`
	MPEC              float64    `json:"mpe_c"`
	MPEOverrideC      *float64   `json:"mpe_override_c"`
	MPEOverrideReason string     `json:"mpe_override_reason"`
	Modes             []string   `json:"modes"`
	InstituteID       *string    `json:"institute_id"`
	Status            string     `json:"status"`
	IntervalDays      int        `json:"calibration_interval_days"`
	LastCalibratedAt  *time.Time `json:"last_calibrated_at"`
	NextDueAt         time.Time  `json:"next_due_at"`
	Version           int        `json:"version"`
	CreatedAt         time.Time  `json:"created_at"`
	UpdatedAt         time.Time  `json:"updated_at"`
	RetiredAt         *time.Time `json:"retired_at"`
}

func (r bareRow) json() bareJSON {
	var modes []string
	if r.Modes != "" {
		modes = strings.Split(r.Modes, ",")
	}
	return bareJSON{ID: r.ID, VenueID: r.VenueID, OperatorOrgID: r.OperatorOrgID, Type: r.Type,
		Manufacturer: r.Manufacturer, Model: r.Model, Serial: r.Serial, LocationNote: r.LocationNote,
		RangeMinC: r.RangeMinC, RangeMaxC: r.RangeMaxC, ToleranceProfile: r.ToleranceProfile, MPEC: r.MPEC,
		MPEOverrideC: r.MPEOverrideC, MPEOverrideReason: r.MPEOverrideReason, Modes: modes,
		InstituteID: r.InstituteID, Status: r.Status, IntervalDays: r.IntervalDays,
		LastCalibratedAt: r.LastCalibratedAt, NextDueAt: r.NextDueAt, Version: r.Version,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, RetiredAt: r.RetiredAt}
}

type bareList struct {
	Items      []bareJSON `json:"items"`
	NextCursor *string    `json:"next_cursor"`
}

const barePage = 50

func bareCmd(ctx context.Context, args []string, stderr io.Writer) error {
	fs := newFlags("bare")
	dsn := fs.String("db", "", "postgres:// URL of the benchmark database")
	addr := fs.String("addr", "127.0.0.1:18081", "listen address (loopback)")
	pool := fs.Int("pool", 20, "database connections (calibd's DB_MAX_CONNS default is 20)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *dsn == "" {
		return errors.New("bare: --db is required")
	}
	if err := checkLoopbackDB(*dsn); err != nil {
		return err
	}
	if err := addrIsLoopback(*addr); err != nil {
		return err
	}
	db, err := openBareDB(*dsn, *pool)
	if err != nil {
		return err
	}
	if sqlDB, err := db.DB(); err == nil {
		defer sqlDB.Close()
	}
	e := bareHandler(db)

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("bare: %w", err)
	}
	srv := &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Fprintf(stderr, "bare: serving on http://%s\n", ln.Addr())
	select {
	case <-ctx.Done():
	case err := <-errc:
		return fmt.Errorf("bare: %w", err)
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

// openBareDB opens gorm the plain way: prepared statements, no default
// transaction, no logging, a pool as large as calibd's.
func openBareDB(dsn string, pool int) (*gorm.DB, error) {
	db, err := gorm.Open(postgres.New(postgres.Config{DSN: dsn}), &gorm.Config{
		PrepareStmt: true, SkipDefaultTransaction: true, Logger: logger.Discard,
	})
	if err != nil {
		return nil, fmt.Errorf("bare: open database: %w", err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("bare: %w", err)
	}
	sqlDB.SetMaxOpenConns(pool)
	sqlDB.SetMaxIdleConns(pool)
	return db, nil
}

// bareHandler serves the two baseline routes.
func bareHandler(db *gorm.DB) http.Handler {
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.GET("/thermometers/:id", func(c *gin.Context) {
		var r bareRow
		err := db.WithContext(c.Request.Context()).Where("id = ?", c.Param("id")).Take(&r).Error
		switch {
		case errors.Is(err, gorm.ErrRecordNotFound):
			c.JSON(http.StatusNotFound, gin.H{"error": "not found"})
		case err != nil:
			c.JSON(http.StatusInternalServerError, gin.H{"error": err.Error()})
		default:
			c.JSON(http.StatusOK, r.json())
		}
	})
	e.GET("/thermometers", func(c *gin.Context) {
		q := db.WithContext(c.Request.Context()).Where("venue_id = ? AND status = ?", c.Query("venue_id"), c.Query("status"))
		if cur := c.Query("cursor"); cur != "" {
			after, err := base64.RawURLEncoding.DecodeString(cur)
			if err != nil {
				c.JSON(http.StatusBadRequest, gin.H{"error": "bad cursor"})
				return
			}
			q = q.Where("id > ?", string(after))
		}
		var rows []bareRow
		if err := q.Order("id").Limit(barePage + 1).Find(&rows).Error; err != nil {
			c.JSON(http.StatusInternalServerError, gin.H{"error": err.Error()})
			return
		}
		out := bareList{Items: make([]bareJSON, 0, barePage)}
		if len(rows) > barePage {
			rows = rows[:barePage]
			next := base64.RawURLEncoding.EncodeToString([]byte(rows[barePage-1].ID))
			out.NextCursor = &next
		}
		for _, r := range rows {
			out.Items = append(out.Items, r.json())
		}
		c.JSON(http.StatusOK, out)
	})
	return e
}
