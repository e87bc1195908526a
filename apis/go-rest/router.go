package main

import (
	"errors"
	"io"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/perflab/apilab/internal/event"
	"github.com/perflab/apilab/internal/httpapi"
)

// newRouter maps the REST contract onto Gin. Gin is in release mode and has no logger middleware: nothing
// is logged per request.
func newRouter(service *httpapi.Service, log *slog.Logger) *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	router := gin.New()
	router.HandleMethodNotAllowed = true
	// An unknown path is a 404, not a redirect to a path the client did not ask for.
	router.RedirectTrailingSlash = false
	router.RedirectFixedPath = false
	router.Use(recoverAsInternalError(log))

	authenticate := requireToken(service)
	router.POST(httpapi.EventsPath, authenticate, func(c *gin.Context) {
		if body, ok := readBody(c, service); ok {
			write(c, service.PostEvent(c.Request.Context(), body))
		}
	})
	router.POST(httpapi.BulkPath, authenticate, func(c *gin.Context) {
		if body, ok := readBody(c, service); ok {
			write(c, service.PostBulk(c.Request.Context(), body))
		}
	})
	router.GET(httpapi.HealthPath, func(c *gin.Context) {
		write(c, service.Health(c.Request.Context()))
	})
	router.NoRoute(func(c *gin.Context) {
		write(c, httpapi.Error(http.StatusNotFound, httpapi.MsgNotFound))
	})
	router.NoMethod(func(c *gin.Context) {
		write(c, httpapi.Error(http.StatusMethodNotAllowed, httpapi.MsgMethodNotAllowed))
	})
	return router
}

// requireToken answers 401 before anything else of an event request is looked at (content type, size,
// body) when auth is on and the request has no valid bearer token; the body is not read. Only the two
// POST routes use it: health, unknown paths and wrong methods answer as without auth.
func requireToken(service *httpapi.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		if resp, ok := service.Authenticate(c.GetHeader("Authorization")); !ok {
			c.Abort()
			write(c, resp)
		}
	}
}

// readBody checks the content type, then reads at most MAX_BODY_BYTES. ok is false when the answer
// (415 or 413) has been written.
func readBody(c *gin.Context, service *httpapi.Service) (body []byte, ok bool) {
	if resp, ok := service.CheckPost(c.GetHeader("Content-Type"), c.Request.ContentLength); !ok {
		write(c, resp)
		return nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, service.MaxBodyBytes()))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		write(c, service.TooLarge())
		return nil, false
	case err != nil:
		// The client went away or broke the framing; it cannot be reading an answer, so a 400 is enough.
		write(c, httpapi.Error(http.StatusBadRequest, event.MsgMalformedJSON))
		return nil, false
	}
	return body, true
}

func write(c *gin.Context, resp httpapi.Response) {
	for name, value := range resp.Headers {
		c.Header(name, value)
	}
	c.Data(resp.Status, "application/json", resp.JSON())
}

// recoverAsInternalError answers a panic with the contract's 500, logging the cause instead of sending it.
func recoverAsInternalError(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if cause := recover(); cause != nil {
				if cause == http.ErrAbortHandler {
					panic(cause)
				}
				log.Error("handler panicked", "panic", cause)
				c.Abort()
				write(c, httpapi.Error(http.StatusInternalServerError, httpapi.MsgInternal))
			}
		}()
		c.Next()
	}
}
