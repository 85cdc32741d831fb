package httpapi

import (
	_ "embed"
	"net/http"

	"github.com/gin-gonic/gin"
)

// openapiJSON is the OpenAPI 3 description of every route in routes.go.
//
//go:embed openapi.json
var openapiJSON []byte

// OpenAPI returns the embedded document.
func OpenAPI() []byte { return openapiJSON }

func (s *Server) openAPI(c *gin.Context) {
	c.Data(http.StatusOK, "application/json", openapiJSON)
}
