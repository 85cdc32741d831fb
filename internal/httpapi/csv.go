package httpapi

import (
	"bytes"
	"io"
	"mime"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/calibd/calibd/devices"
)

// readCSVBody reads an import upload: text/csv (or no content type) within
// the import size limit.
func (s *Server) readCSVBody(c *gin.Context) (io.Reader, error) {
	if ct := c.GetHeader("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "text/csv" && mt != "application/csv" && mt != "text/plain") {
			return nil, statusError(http.StatusUnsupportedMediaType, "unsupported_media_type",
				"send the file as text/csv, e.g. curl --data-binary @devices.csv -H 'Content-Type: text/csv'")
		}
	}
	b, err := readLimited(c, s.cfg.MaxImportBytes)
	if err != nil {
		return nil, err
	}
	if err := withIdempotencyKey(c, b); err != nil {
		return nil, err
	}
	return bytes.NewReader(b), nil
}

func (s *Server) importThermometers(c *gin.Context) {
	body, err := s.readCSVBody(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	// An invisible venue answers 404 before the file is even parsed.
	if _, err := s.reg.GetVenue(c.Request.Context(), actorOf(c), c.Param("id")); err != nil {
		s.fail(c, err)
		return
	}
	rows, err := devices.ParseThermometersCSV(body)
	if err != nil {
		s.fail(c, err)
		return
	}
	n, err := s.reg.ImportThermometers(c.Request.Context(), actorOf(c), c.Param("id"), rows)
	if rep, ok := replayOf(c, err); ok {
		n, err = rep.Created, nil
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, gin.H{"created": n})
}

func (s *Server) importElevators(c *gin.Context) {
	body, err := s.readCSVBody(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	if _, err := s.reg.GetVenue(c.Request.Context(), actorOf(c), c.Param("id")); err != nil {
		s.fail(c, err)
		return
	}
	rows, err := devices.ParseElevatorsCSV(body)
	if err != nil {
		s.fail(c, err)
		return
	}
	n, err := s.reg.ImportElevators(c.Request.Context(), actorOf(c), c.Param("id"), rows)
	if rep, ok := replayOf(c, err); ok {
		n, err = rep.Created, nil
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, gin.H{"created": n})
}

// csvStream starts the response on the first row (or at the end), so that
// a 404 for an invisible venue is still a problem+json answer.
type csvStream struct {
	c       *gin.Context
	name    string
	started bool
}

func (cs *csvStream) start() {
	if cs.started {
		return
	}
	cs.started = true
	cs.c.Header("Content-Type", "text/csv; charset=utf-8")
	cs.c.Header("Content-Disposition", `attachment; filename="`+cs.name+`"`)
	cs.c.Status(http.StatusOK)
}

func (s *Server) exportThermometers(c *gin.Context) {
	cs := &csvStream{c: c, name: "thermometers-" + c.Param("id") + ".csv"}
	var w *devices.ThermometerCSVWriter
	open := func() error {
		if w != nil {
			return nil
		}
		cs.start()
		var err error
		w, err = devices.NewThermometerCSVWriter(c.Writer)
		return err
	}
	err := s.reg.ExportThermometers(c.Request.Context(), actorOf(c), c.Param("id"), func(t devices.Thermometer) error {
		if err := open(); err != nil {
			return err
		}
		return w.Write(t)
	})
	s.finishCSV(c, cs, err, open, func() error { return w.Flush() })
}

func (s *Server) exportElevators(c *gin.Context) {
	cs := &csvStream{c: c, name: "elevators-" + c.Param("id") + ".csv"}
	var w *devices.ElevatorCSVWriter
	open := func() error {
		if w != nil {
			return nil
		}
		cs.start()
		var err error
		w, err = devices.NewElevatorCSVWriter(c.Writer)
		return err
	}
	err := s.reg.ExportElevators(c.Request.Context(), actorOf(c), c.Param("id"), func(e devices.Elevator) error {
		if err := open(); err != nil {
			return err
		}
		return w.Write(e)
	})
	s.finishCSV(c, cs, err, open, func() error { return w.Flush() })
}

func (s *Server) finishCSV(c *gin.Context, cs *csvStream, err error, open, flush func() error) {
	if err == nil {
		err = open() // an empty export still has its header
	}
	if err == nil {
		err = flush()
	}
	if err == nil {
		return
	}
	if !cs.started {
		s.fail(c, err)
		return
	}
	// Mid-stream: the status is sent; cut the response so the client sees
	// a broken download rather than a silently short file.
	s.log.ErrorContext(c.Request.Context(), "export failed mid-stream", "error", err, "request_id", requestID(c))
	panic(http.ErrAbortHandler)
}
